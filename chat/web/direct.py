"""Starting a direct conversation: the "New message" people picker. A plain GET form that searches
by name (static/js/people-picker.js refreshes the results while typing); each person's "Message"
button posts to chat-direct, which opens the conversation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chat.services import people


@login_required
@require_GET
def new_message(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:150]
    context = {"query": query, "people": people.message_candidates(actor=request.user, query=query)}
    return render(request, "chat/direct_new.html", context)
