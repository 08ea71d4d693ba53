"""Editing and deleting one message without JavaScript: a small page with a plain form each. The
live client does the same over the socket (static/js/message-actions.js) and only falls back here.

    /messages/<id>/edit/     the author edits (the stored Markdown in the box)
    /messages/<id>/delete/   the author or a moderator deletes: "(Deleted)" stays in its place
    /messages/<id>/remove/   an administrator removes it entirely
"""

from __future__ import annotations

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from chat import policy
from chat.exceptions import ChatError, InvalidRequest
from chat.models import Message
from chat.services import history
from chat.services import messages as message_service


class EditForm(forms.Form):
    content = forms.CharField(label="Edit message", strip=False, widget=forms.Textarea(attrs={"rows": 4}))


def back_to(message: Message) -> str:
    return f"{reverse('chat-conversation', args=[message.channel_id])}?stream={message.stream_id}#m{message.pk}"


def _readable(request: HttpRequest, message_id: int):
    try:
        return history.readable_message(actor=request.user, message_id=message_id)
    except InvalidRequest:
        raise Http404("That message does not exist.") from None


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "chat/refused.html", {"reason": reason}, status=403)


@login_required
def edit(request: HttpRequest, message_id: int) -> HttpResponse:
    message, _ = _readable(request, message_id)
    if message.author_id != request.user.pk or message.redacted_at is not None:
        return _refused(request, "You can only edit your own messages.")
    form = EditForm(request.POST or None, initial={"content": message.content})
    if request.method == "POST" and form.is_valid():
        try:
            message_service.edit_message(
                actor=request.user, message_id=message.pk, content=form.cleaned_data["content"]
            )
        except ChatError as error:
            form.add_error("content", error.message)
        else:
            return redirect(back_to(message))
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "message": message, "back": back_to(message)}
    return render(request, "chat/message_edit.html", context, status=status)


def _removal(kind: str, allowed, service, done: str):
    """The confirmation page and its POST, for deleting (redact) or removing entirely."""

    @login_required
    def view(request: HttpRequest, message_id: int) -> HttpResponse:
        message, access = _readable(request, message_id)
        if message.redacted_at is not None and kind == "delete":
            return redirect(back_to(message))
        if not allowed(access, message):
            return _refused(request, "You cannot do that to this message.")
        if request.method == "POST":
            try:
                service(actor=request.user, message_id=message.pk)
            except ChatError as error:
                flash.error(request, error.message)
            else:
                flash.success(request, done)
            return redirect(back_to(message).split("#")[0])
        context = {"message": message, "kind": kind, "back": back_to(message)}
        return render(request, "chat/message_delete.html", context)

    return view


delete = _removal("delete", policy.can_redact, message_service.redact_message, "Message deleted.")
remove = _removal(
    "remove", lambda access, message: policy.can_hard_delete(access), message_service.delete_message, "Message removed."
)
