"""The refusals of the attachment capability; their text is shown to the person as it is."""

from __future__ import annotations

from django.http import Http404

from chat.exceptions import ChatError


class AttachmentError(ChatError):
    """A refusal; its text is shown to the person as it is."""

    default_message = "That file cannot be attached."


class AttachmentNotFound(AttachmentError, Http404):
    """The same answer for a missing attachment and one the person may not see."""

    default_message = "Attachment not found."
