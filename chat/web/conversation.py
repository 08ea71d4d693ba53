"""The conversation page and its small HTTP companions (older messages, no-JS send, slow mode).

Without JavaScript the page is complete: older pages by link (?before=<seq>), sending by the
form, replying by a message's Reply link (?reply_to=<id>: the quote over the box, a hidden
`reply_to` in the form), editing and deleting by the pages of chat/web/messages.py.
"""

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
from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest
from chat.models import Membership, Message, SubChannel
from chat.services import history, reads, replies
from chat.services import messages as message_service
from chat.services.access import get_channel_access
from chat.services.payloads import reply_ref
from chat.services.presence import presence_store
from chat.streams import StreamKey
from chat.web.timeline import decorate

MEMBERS_SHOWN = 50
NO_SUCH_REPLY = "Cannot reply: that message does not exist."
MAX_ID = 2**63 - 1  # a bigger number is no message id (and no database integer)


class SendForm(forms.Form):
    content = forms.CharField(label="Type your message", strip=False, widget=forms.Textarea(attrs={"rows": 1}))
    client_msg_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # The stream the page shows, so a moderator sitting in several sub-channels writes where they read.
    stream = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    # The message this one replies to (the Reply link of a message, without JavaScript).
    reply_to = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)


class SlowModeForm(forms.Form):
    seconds = forms.IntegerField(
        label="Slow mode (seconds between a member's messages, 0 = off)", min_value=0, max_value=3600
    )


@login_required
@require_GET
def conversation(request: HttpRequest, channel_id: int) -> HttpResponse:
    return _render(
        request, channel_id, before=_seq(request.GET.get("before")), reply_to=request.GET.get("reply_to") or None
    )


def _render(
    request: HttpRequest,
    channel_id: int,
    *,
    before: int | None = None,
    stream: StreamKey | None = None,
    draft: str = "",
    refusal: str = "",
    reply_to: object = None,
    status: int = 200,
) -> HttpResponse:
    """The page; its number of queries does not grow with messages or members. With `reply_to`
    (an id, as typed in the address or posted), the box replies to that message, or says why not."""
    access = get_channel_access(request.user, channel_id)
    key = reads.viewing_stream(request.user, channel_id, requested=stream or _requested_stream(request))
    replying = None
    if reply_to is not None and policy.can_send(access):
        try:
            replying = reply_quote(access, reply_to)
        except InvalidRequest as error:
            refusal = refusal or error.message
    page = history.older(key, before=before) if before is not None else history.opening(request.user, key)
    members = list(
        Membership.objects.filter(channel=access.channel)
        .select_related("user")
        .order_by("user__username")[:MEMBERS_SHOWN]
    )
    statuses = presence_store().get_many([membership.user_id for membership in members])
    parsed = StreamKey.parse(key)
    room = None
    if parsed.subchannel_id is not None:
        room = SubChannel.objects.filter(pk=parsed.subchannel_id).values_list("number", flat=True).first()
    context = {
        "channel": access.channel,
        "title": _title(access.channel, room, request.user, members),
        "access": access,
        "stream": key,
        "room": room,
        "page": decorate(page.messages, first_unread_seq=page.first_unread_seq),
        "has_older": page.has_older,
        "first_unread_seq": page.first_unread_seq,
        "before": before,
        "last_seq": reads.last_seqs([key])[key],
        "members": [(membership, statuses[membership.user_id]) for membership in members],
        "can_send": policy.can_send(access),
        "is_member": access.is_member,
        "manages": access.manages,
        "is_admin": access.is_admin,
        "send_form": SendForm(initial={"content": draft, "stream": key}),
        "replying": replying,
        "refusal": refusal,
        "slow_mode_form": SlowModeForm(initial={"seconds": access.channel.slow_mode_seconds}),
    }
    return render(request, "chat/conversation.html", context, status=status)


def reply_quote(access, raw: object) -> dict:
    """`{"id", "author", "excerpt"}` of the message the box replies to: one of this channel the
    person reads and that is still there (the service's own rule, chat/services/replies.py), quoted
    as in frames. InvalidRequest, with the reason for the person, otherwise."""
    try:
        reply_to = int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidRequest(NO_SUCH_REPLY) from None
    if not 0 < reply_to <= MAX_ID:
        raise InvalidRequest(NO_SUCH_REPLY)
    try:
        # The service checks the channel of the key only: any stream of this channel will do.
        original = replies.reply_target(access, reply_to, StreamKey(access.channel.pk))
    except InvalidRequest as error:
        raise InvalidRequest(f"Cannot reply: {error.message[0].lower()}{error.message[1:]}") from None
    return reply_ref(Message(reply_to=original))  # the quote a reply to `original` carries


def _title(channel, room: int | None, user, members: list[Membership]) -> str:
    """ "Chess", "Chess · room 2" for a sub-channel, the other person's name for direct messages."""
    if channel.is_direct:
        others = [membership.user.username for membership in members if membership.user_id != user.pk]
        return others[0] if others else channel.name
    return f"{channel.name} · room {room}" if room is not None else channel.name


def _seq(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


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
    raw = request.GET.get("before", "")
    if not raw.isdigit():
        return JsonResponse({"error": "`before` must be a seq number."}, status=400)
    page = history.older(key, before=int(raw))
    html = render_to_string(
        "chat/_messages.html",
        {
            "page": decorate(page.messages),
            "user": request.user,
            "manages": access.manages,
            "is_admin": access.is_admin,
        },
        request=request,
    )
    oldest = page.messages[0].seq if page.messages else None
    return JsonResponse({"html": html, "has_older": page.has_older, "oldest_seq": oldest})


@login_required
@require_POST
def send(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Sending without JavaScript: the same service as the WebSocket, then back to the page. A
    refused message comes back in the box with the reason."""
    access = get_channel_access(request.user, channel_id)  # outsiders get the 404 whatever they post
    form = SendForm(request.POST)
    stream = _parsed_stream(request.POST.get("stream"))
    target = reverse("chat-conversation", args=[channel_id]) + (f"?stream={stream}" if stream else "")
    if form.errors.keys() == {"reply_to"}:  # no message id: the text stays in the box, with the reason
        return _render(
            request, channel_id, stream=stream, draft=form.cleaned_data["content"], refusal=NO_SUCH_REPLY, status=400
        )
    if not form.is_valid():
        flash.error(request, "Type a message first.")
        return redirect(target)
    content = form.cleaned_data["content"]
    reply_to = form.cleaned_data["reply_to"]
    if reply_to is not None:
        # Checked here too, to say "Cannot reply: …" and keep the text; the service checks again.
        try:
            reply_quote(access, reply_to)
        except InvalidRequest as error:
            return _render(request, channel_id, stream=stream, draft=content, refusal=error.message, status=400)
    try:
        message_service.send_message(
            actor=request.user,
            channel_id=channel_id,
            content=content,
            client_msg_id=form.cleaned_data["client_msg_id"] or uuid.uuid4(),
            stream=stream,
            reply_to=reply_to,
        )
    except ChannelNotFound:
        raise
    except ChatError as error:
        status = 429 if getattr(error, "retry_after", None) else 400
        return _render(
            request,
            channel_id,
            stream=stream,
            draft=content,
            refusal=error.message,
            reply_to=reply_to,
            status=status,
        )
    return redirect(target + "#latest")


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
