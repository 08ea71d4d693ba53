"""chat/admin/reports.py: the report queue, a report with its context, and what is done about it."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from chat.admin.tests.conftest import say
from chat.models import Ban, Report, ReportStatus
from chat.services import reports


def queue(client, site: str = "moderation", **params) -> list[Report]:
    return list(client.get(reverse(f"{site}:chat_report_changelist"), params).context["cl"].result_list)


@pytest.mark.django_db
def test_the_queue_is_the_channels_moderators_and_the_administrators(signed_in, community):
    assert queue(signed_in(community.moderator_a)) == [community.report]
    assert queue(signed_in(community.administrator), "admin") == [community.report]
    assert queue(signed_in(community.moderator_b)) == []


@pytest.mark.django_db
def test_a_report_is_never_shown_to_the_person_it_is_about(signed_in, community):
    about_helper = reports.report_message(
        actor=community.member, message_id=say(community.helper, community.channel_a, "mean words").pk, reason="hate"
    )
    helper = signed_in(community.helper)  # a moderator of the same channel
    assert about_helper not in queue(helper)
    response = helper.get(reverse("moderation:chat_report_change", args=[about_helper.pk]), follow=True)
    assert "doesn’t exist" in response.content.decode()
    helper.post(
        reverse("moderation:chat_report_changelist"),
        {"action": "dismiss_reports", "_selected_action": [about_helper.pk]},
    )
    assert Report.objects.get(pk=about_helper.pk).status == ReportStatus.OPEN
    assert about_helper in queue(signed_in(community.moderator_a))


@pytest.mark.django_db
def test_closed_reports_leave_the_queue_but_stay_listed_under_their_status(signed_in, community):
    client = signed_in(community.moderator_a)
    reports.dismiss_report(actor=community.moderator_a, report_id=community.report.pk)
    assert queue(client) == []
    assert queue(client, status="dismissed") == [community.report]
    assert queue(client, status="all") == [community.report]


@pytest.mark.django_db
def test_a_report_shows_the_message_in_its_context_with_its_actions(signed_in, community):
    for number in range(7):
        say(community.member, community.channel_a, f"later {number}")
    response = signed_in(community.moderator_a).get(
        reverse("moderation:chat_report_change", args=[community.report.pk])
    )
    context = response.context["report_context"]
    # Up to five before (two exist) and five after the reported message, in order.
    assert [message.content for message in context] == [
        "Anyone for the wool fair?",
        "Buy cheap followers at spam.example",
        "Please don't.",
        *[f"later {number}" for number in range(4)],
    ]
    html = response.content.decode()
    assert "again" in html and "member" in html  # the details and the reporter
    assert [name for name, _ in response.context["report_buttons"]] == [
        "dismiss_reports",
        "redact_reported_messages",
        "ban_reported_authors",
    ]
    admin_view = signed_in(community.administrator).get(reverse("admin:chat_report_change", args=[community.report.pk]))
    assert "deactivate_reported_authors" in [name for name, _ in admin_view.context["report_buttons"]]


@pytest.mark.django_db
def test_the_change_page_buttons_post_the_actions(signed_in, community):
    client = signed_in(community.moderator_a)
    response = client.post(
        reverse("moderation:chat_report_changelist"),
        {"action": "redact_reported_messages", "_selected_action": [community.report.pk]},
        follow=True,
    )
    assert "Messages deleted: 1." in response.content.decode()
    community.report.refresh_from_db()
    assert (community.report.status, community.report.outcome, community.report.handled_by) == (
        ReportStatus.RESOLVED,
        "redacted",
        community.moderator_a,
    )
    assert LogEntry.objects.filter(object_id=str(community.report.pk), user=community.moderator_a).exists()


@pytest.mark.django_db
def test_banning_from_a_report_asks_why_and_until_when(signed_in, community):
    client = signed_in(community.moderator_a)
    changelist = reverse("moderation:chat_report_changelist")
    page = client.post(changelist, {"action": "ban_reported_authors", "_selected_action": [community.report.pk]})
    assert "author from Knitting" in page.content.decode()
    client.post(
        changelist,
        {
            "action": "ban_reported_authors",
            "_selected_action": [community.report.pk],
            "apply": "yes",
            "reason": "Spam links",
            "expires_at": "2099-05-01T08:30",
        },
    )
    ban = Ban.objects.get(channel=community.channel_a, user=community.author)
    assert (ban.reason, ban.expires_at.year) == ("Spam links", 2099)


@pytest.mark.django_db
def test_moderators_do_not_deactivate_accounts(signed_in, community):
    client = signed_in(community.moderator_a)
    assert (
        "deactivate_reported_authors" not in client.get(reverse("moderation:chat_report_changelist")).content.decode()
    )


@pytest.mark.django_db
def test_report_list_queries_do_not_grow_with_rows(signed_in, community, make_user, django_assert_max_num_queries):
    client = signed_in(community.moderator_a)
    url = reverse("moderation:chat_report_changelist")
    with django_assert_max_num_queries(15) as few:
        client.get(url)
    for number in range(10):
        reporter = make_user(f"r{number}")
        community.channel_a.memberships.create(user=reporter)
        message = say(community.author, community.channel_a, f"spam {number}")
        reports.report_message(actor=reporter, message_id=message.pk, reason="spam")
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["cl"].result_count == 11
