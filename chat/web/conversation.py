"""The conversation page and its small HTTP companions (older messages, no-JS send, slow mode)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chat import policy
from chat.exceptions import ChannelNotFound, ChatError
from chat.models import Membership, Message
from chat.services import attachments, reads
from chat.services import messages as message_service
from chat.services.access import get_channel_access
from chat.services.presence import presence_store
from chat.streams import StreamKey

PAGE_SIZE = 50
MEMBERS_SHOWN = 50


class SendForm(forms.Form):
    content = forms.CharField(label="Type your message", strip=False, widget=forms.Textarea(attrs={"rows": 2}))
    client_msg_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # The stream the page shows, so a moderator sitting in several sub-channels writes where they read.
    stream = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)


class SlowModeForm(forms.Form):
    seconds = forms.IntegerField(
        label="Slow mode (seconds between a member's messages, 0 = off)", min_value=0, max_value=3600
    )


def history(key: str, *, before: int | None = None) -> tuple[list[Message], bool]:
    """One page of a stream's messages, oldest first, by keyset on seq; constant queries."""
    query = Message.objects.with_author().prefetch_related(attachments.shown_prefetch()).filter(stream_id=key)
    if before is not None:
        query = query.filter(seq__lt=before)
    page = list(query.order_by("-seq")[: PAGE_SIZE + 1])
    return list(reversed(page[:PAGE_SIZE])), len(page) > PAGE_SIZE


@login_required
def conversation(request: HttpRequest, channel_id: int) -> HttpResponse:
    access = get_channel_access(request.user, channel_id)
    key = reads.viewing_stream(request.user, channel_id, requested=_requested_stream(request))
    page, has_older = history(key)
    members = list(
        Membership.objects.filter(channel=access.channel)
        .select_related("user")
        .order_by("user__username")[:MEMBERS_SHOWN]
    )
    statuses = presence_store().get_many([membership.user_id for membership in members])
    context = {
        "channel": access.channel,
        "access": access,
        "stream": key,
        "page": page,
        "has_older": has_older,
        "last_seq": reads.last_seqs([key])[key],
        "members": [(membership, statuses[membership.user_id]) for membership in members],
        "can_send": policy.can_send(access),
        "is_member": access.is_member,
        "manages": access.manages,
        "is_admin": access.is_admin,
        "send_form": SendForm(),
        "slow_mode_form": SlowModeForm(initial={"seconds": access.channel.slow_mode_seconds}),
    }
    return render(request, "chat/conversation.html", context)


def _requested_stream(request: HttpRequest) -> StreamKey | None:
    return _parsed_stream(request.GET.get("stream"))


def _parsed_stream(raw: str | None) -> StreamKey | None:
    try:
        return StreamKey.parse(raw) if raw else None
    except ValueError:
        return None


@login_required
@require_GET
def older_messages(request: HttpRequest, channel_id: int) -> JsonResponse:
    access = get_channel_access(request.user, channel_id)
    key = reads.viewing_stream(request.user, channel_id, requested=_requested_stream(request))
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        return JsonResponse({"error": "`before` must be a seq number."}, status=400)
    page, has_older = history(key, before=before)
    html = render_to_string(
        "chat/_messages.html",
        {"page": page, "user": request.user, "manages": access.manages, "is_admin": access.is_admin},
        request=request,
    )
    return JsonResponse({"html": html, "has_older": has_older, "oldest_seq": page[0].seq if page else None})


@login_required
@require_POST
def send(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Sending without JavaScript: the same service as the WebSocket, then back to the page."""
    get_channel_access(request.user, channel_id)  # outsiders get the 404 whatever they post
    form = SendForm(request.POST)
    stream = _parsed_stream(request.POST.get("stream"))
    target = reverse("chat-conversation", args=[channel_id]) + (f"?stream={stream}" if stream else "")
    if not form.is_valid():
        flash.error(request, "Type a message first.")
        return redirect(target)
    try:
        message_service.send_message(
            actor=request.user,
            channel_id=channel_id,
            content=form.cleaned_data["content"],
            client_msg_id=form.cleaned_data["client_msg_id"] or uuid.uuid4(),
            stream=stream,
        )
    except ChannelNotFound:
        raise
    except ChatError as error:
        flash.error(request, error.message)
    return redirect(target)


@login_required
@require_POST
def slow_mode(request: HttpRequest, channel_id: int) -> HttpResponse:
    get_channel_access(request.user, channel_id)  # outsiders get the 404 whatever they post
    form = SlowModeForm(request.POST)
    target = reverse("chat-conversation", args=[channel_id])
    if not form.is_valid():
        flash.error(request, "Slow mode takes a whole number of seconds from 0 to 3600.")
        return redirect(target)
    try:
        message_service.set_slow_mode(actor=request.user, channel_id=channel_id, seconds=form.cleaned_data["seconds"])
    except ChannelNotFound:
        raise
    except ChatError as error:
        flash.error(request, error.message)
    else:
        seconds = form.cleaned_data["seconds"]
        flash.success(request, f"Slow mode: one message every {seconds} s." if seconds else "Slow mode is off.")
    return redirect(target)
