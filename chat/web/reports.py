"""Reporting a message: a small form page that works without JavaScript (chat/services/reports.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.models import Message, ReportReason
from chat.services import reports as report_services

THANKS = "Thank you. The channel's moderators will look at it; nobody is told who reported it."


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="What is wrong with it?", choices=ReportReason.choices, widget=forms.RadioSelect)
    details = forms.CharField(
        label="Anything the moderators should know (optional)",
        required=False,
        max_length=report_services.MAX_DETAILS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
def report_message(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = report_services.reportable_message(actor=request.user, message_id=message_id)
    except (ChannelNotFound, InvalidRequest):
        raise Http404("That message does not exist.") from None
    except NotAllowed as error:
        return render(request, "chat/refused.html", {"reason": str(error)}, status=403)
    back = _conversation(message)
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                report_services.report_message(actor=request.user, message_id=message.pk, **form.cleaned_data)
            except report_services.ReportRateLimited as error:
                form.add_error(None, str(error))
                status = 429
            except ChatError as error:
                form.add_error(None, str(error))
            else:
                flash.success(request, THANKS)
                return redirect(back)
    context = {"form": form, "message": message, "back": back}
    return render(request, "chat/report_form.html", context, status=status)


def _conversation(message: Message) -> str:
    return f"{reverse('chat-conversation', args=[message.channel_id])}?stream={message.stream_id}#m{message.pk}"
