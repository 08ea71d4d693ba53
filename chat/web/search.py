"""The search page (issue 17): /search/?q=…, the query language of chat/services/search.py plus the
same filters as controls, results newest or best first, highlighted, a page at a time."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chat.services import search as search_service


class SearchForm(forms.Form):
    q = forms.CharField(label="Search messages", required=False, max_length=search_service.MAX_QUERY_CHARS)
    channel = forms.CharField(label="In channel", required=False, max_length=100)
    author = forms.CharField(label="From", required=False, max_length=150)
    has_file = forms.BooleanField(label="With files", required=False)
    after = forms.DateField(label="After", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.DateField(label="Before", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    order = forms.ChoiceField(
        label="Order", required=False, choices=[("newest", "Newest first"), ("best", "Best match first")]
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1000, widget=forms.HiddenInput)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    results = None
    if form.is_valid():
        data = form.cleaned_data
        query = search_service.with_filters(
            search_service.parse(data["q"]),
            channel=data["channel"].lstrip("#"),
            author=data["author"].lstrip("@"),
            has_file=data["has_file"],
            before=data["before"],
            after=data["after"],
        )
        results = search_service.search(
            actor=request.user, query=query, page=data["page"] or 1, order=data["order"] or "newest"
        )
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "chat/search.html", {"form": form, "results": results, "params": params.urlencode()})
