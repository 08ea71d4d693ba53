"""chat/web/context.py: the header's Dashboard link, asked only when a page shows it."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from chat.web.context import dashboard_link


def test_the_link_costs_nothing_until_a_template_reads_it(make_user, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = make_user("someone")
    with django_assert_num_queries(0):
        context = dashboard_link(request)
    with django_assert_num_queries(1):
        assert str(context["dashboard_url"]) == ""
        assert not context["dashboard_url"]


def test_administrators_get_the_link(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    assert str(dashboard_link(request)["dashboard_url"]) == "/dashboard/"


def test_signed_out_visitors_never_do(db):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert not dashboard_link(request)["dashboard_url"]
