"""chat/admin/sites.py: who enters the moderation site, and how they sign in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import PASSWORD


@pytest.mark.django_db
def test_anonymous_visitors_sign_in_on_the_community_page_and_come_back(client, community):
    response = client.get(reverse("moderation:chat_report_changelist"))
    assert response.status_code == 302
    login = response["Location"]
    assert login.startswith(reverse("moderation:login"))
    response = client.get(login)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts-signin')}?next=/moderation/chat/report/"
    signed = client.post(response["Location"], {"username": "moderator_a", "password": PASSWORD, "action": "signin"})
    assert signed["Location"] == "/moderation/chat/report/"
    assert client.get(signed["Location"]).status_code == 200


@pytest.mark.django_db
def test_the_index_lists_what_a_moderator_works_on(signed_in, community):
    response = signed_in(community.moderator_a).get(reverse("moderation:index"))
    models = [model["object_name"] for app in response.context["app_list"] for model in app["models"]]
    assert sorted(models) == ["Attachment", "Ban", "Channel", "Membership", "Message", "Report"]
    assert "Channel moderation" in response.content.decode()


@pytest.mark.django_db
def test_a_moderator_signed_in_is_sent_on_but_never_off_site(signed_in, community):
    client = signed_in(community.moderator_a)
    assert (
        client.get(reverse("moderation:login"), {"next": "/moderation/chat/ban/"})["Location"]
        == "/moderation/chat/ban/"
    )
    assert client.get(reverse("moderation:login"), {"next": "https://evil.example/"})["Location"] == "/moderation/"


@pytest.mark.django_db
def test_someone_who_moderates_nothing_is_told_so(signed_in, community):
    response = signed_in(community.member).get(reverse("moderation:login"))
    assert response.status_code == 403
    assert "moderates no channel" in response.content.decode()


@pytest.mark.django_db
def test_an_inactive_moderator_is_refused(signed_in, community):
    community.moderator_a.is_active = False
    community.moderator_a.save()
    client = signed_in(community.moderator_a)
    assert client.get(reverse("moderation:index")).status_code == 302


@pytest.mark.django_db
def test_the_channels_page_links_moderators_to_the_moderation_site(signed_in, community):
    html = signed_in(community.moderator_a).get(reverse("chat-channels")).content.decode()
    assert f'href="{reverse("moderation:index")}"' in html
    html = signed_in(community.member).get(reverse("chat-channels")).content.decode()
    assert reverse("moderation:index") not in html


@pytest.mark.django_db
def test_moderators_see_no_pending_approvals_count(signed_in, community):
    # community.pending waits for approval; moderators do not review registrations.
    assert "pending approval" not in signed_in(community.moderator_a).get(reverse("moderation:index")).content.decode()
    html = signed_in(community.administrator).get(reverse("moderation:index")).content.decode()
    assert "1 pending approval<" in html


@pytest.mark.django_db
def test_my_actions_link_to_the_moderation_site(signed_in, community):
    client = signed_in(community.moderator_a)
    client.post(
        reverse("moderation:chat_report_changelist"),
        {"action": "dismiss_reports", "_selected_action": [community.report.pk]},
    )
    html = client.get(reverse("moderation:index")).content.decode()
    assert f'href="{reverse("moderation:chat_report_change", args=[community.report.pk])}"' in html
