"""A message's permanent address (issue 17): /channels/<id>/messages/<message id>/ opens the
conversation around that message, highlighted, for anyone who may read it; a 404 otherwise, the
same as for a message that does not exist."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from chat.exceptions import InvalidRequest
from chat.services import history


@login_required
@require_GET
def permalink(request: HttpRequest, channel_id: int, message_id: int) -> HttpResponse:
    try:
        message, _ = history.readable_message(actor=request.user, message_id=message_id)
    except InvalidRequest:
        raise Http404("That message does not exist.") from None
    if message.channel_id != channel_id:
        raise Http404("That message does not exist.")
    # A page of history with the message in its middle; its #m<id> anchor scrolls to it and the
    # page marks it (the `:target` rule of static/css/reactions.css).
    before = message.seq + 1 + history.PAGE_SIZE // 2
    target = reverse("chat-conversation", args=[channel_id])
    return redirect(f"{target}?stream={message.stream_id}&before={before}#m{message.pk}")
