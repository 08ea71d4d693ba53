"""Reacting without JavaScript (issue 17): a plain POST, the same service as the socket's
`reaction.*` frames, then back to the message. The live client (static/js/reactions.js) uses the
socket and only falls back here.

    /messages/<id>/reactions/         `emoji`, and `remove` to take one's own back
    /messages/<id>/reactions/clear/   moderators remove every reaction
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest
from chat.services import history
from chat.services import reactions as reaction_service


def _message_or_404(request: HttpRequest, message_id: int):
    try:
        return history.readable_message(actor=request.user, message_id=message_id)[0]
    except InvalidRequest:
        raise Http404("That message does not exist.") from None


def _back(message) -> HttpResponse:
    return redirect(reverse("chat-permalink", args=[message.channel_id, message.pk]))


@login_required
@require_POST
def react(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _message_or_404(request, message_id)
    change = reaction_service.remove_reaction if request.POST.get("remove") else reaction_service.add_reaction
    try:
        change(actor=request.user, message_id=message.pk, emoji=request.POST.get("emoji", ""))
    except ChannelNotFound:
        raise
    except InvalidRequest as error:
        flash.error(request, error.message)
    except ChatError as error:
        if getattr(error, "code", None) is None:
            raise  # NotAllowed: a 403
        flash.error(request, error.message)
    return _back(message)


@login_required
@require_POST
def clear(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _message_or_404(request, message_id)
    reaction_service.clear_reactions(actor=request.user, message_id=message.pk)  # NotAllowed: a 403
    return _back(message)
