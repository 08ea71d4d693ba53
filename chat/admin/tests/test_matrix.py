"""The admin's permission matrix over HTTP: (superuser, community administrator, moderator of
channel A, moderator of channel B, member, outsider) × (list, view, change, each action), every
object in channel A. Each role works on its own site: administrators on /admin/, moderators on
/moderation/ (chat/admin/tests/conftest.py HOME_SITE); accounts only exist on /admin/.

Y = the row is listed / the page shows it / the change happened; N = none of that (a redirect
to sign in, a 403, an empty list or "does not exist", never a server error).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from chat.admin.tests.conftest import HOME_SITE, ROLES, Community
from chat.models import Ban, Channel, Membership, Message, ReportStatus, Role
from hobbies.accounts.models import Approval, User

# fmt: off
MATRIX = {
    #                          super admin modA modB member outsider
    "channel.list":            "YYYNNN",
    "channel.view":            "YYYNNN",
    "channel.change":          "YYYNNN",
    "membership.list":         "YYYNNN",
    "membership.view":         "YYYNNN",
    "membership.add":          "YYYNNN",
    "membership.change":       "YYYNNN",
    "membership.remove":       "YYYNNN",
    "membership.promote":      "YYYNNN",
    "membership.demote":       "YYYNNN",
    "membership.ban":          "YYYNNN",
    "ban.list":                "YYYNNN",
    "ban.view":                "YYYNNN",
    "ban.add":                 "YYYNNN",
    "ban.lift":                "YYYNNN",
    "message.list":            "YYYNNN",
    "message.view":            "YYYNNN",
    "message.redact":          "YYYNNN",
    "message.remove":          "YYNNNN",
    "attachment.list":         "YYYNNN",
    "attachment.view":         "YYYNNN",
    "report.list":             "YYYNNN",
    "report.view":             "YYYNNN",
    "report.dismiss":          "YYYNNN",
    "report.redact":           "YYYNNN",
    "report.ban":              "YYYNNN",
    "report.deactivate":       "YYNNNN",
    "user.list":               "YYNNNN",
    "user.approve":            "YYNNNN",
    "user.deactivate":         "YYNNNN",
    "user.make_admin":         "YNNNNN",
}
# fmt: on


@dataclass(frozen=True)
class Op:
    request: Callable  # (client, site, community) -> response
    effect: Callable  # (community, response) -> bool
    accounts: bool = False  # the accounts' pages live on /admin/ only


def url(site: str, model: str, view: str = "changelist", *args, app: str = "chat") -> str:
    return reverse(f"{site}:{app}_{model}_{view}", args=args)


def listed(model: str, target: Callable, *, app: str = "chat", accounts: bool = False) -> Op:
    def effect(c: Community, response) -> bool:
        if response.status_code != 200 or not response.context or "cl" not in response.context:
            return False
        return target(c).pk in {row.pk for row in response.context["cl"].result_list}

    return Op(lambda client, site, c: client.get(url(site, model, app=app)), effect, accounts)


def viewed(model: str, target: Callable) -> Op:
    def effect(c: Community, response) -> bool:
        original = (response.context or {}).get("original") if response.status_code == 200 else None
        return original is not None and original.pk == target(c).pk

    return Op(lambda client, site, c: client.get(url(site, model, "change", target(c).pk)), effect)


def action(model: str, name: str, target: Callable, effect: Callable, *, app="chat", accounts=False, **extra) -> Op:
    def request(client, site, c: Community):
        data = {"action": name, "_selected_action": [target(c).pk], **extra}
        return client.post(url(site, model, app=app), data)

    return Op(request, lambda c, response: effect(c), accounts)


def membership(c: Community, user) -> Membership | None:
    return Membership.objects.filter(channel=c.channel_a, user=user).first()


def banned(c: Community, user) -> bool:
    return Ban.objects.active().filter(channel=c.channel_a, user=user).exists()


def redacted(c: Community) -> bool:
    return Message.objects.filter(pk=c.message.pk, redacted_at__isnull=False).exists()


def report_status(c: Community) -> str:
    c.report.refresh_from_db()
    return c.report.status


OPS = {
    "channel.list": listed("channel", lambda c: c.channel_a),
    "channel.view": viewed("channel", lambda c: c.channel_a),
    "channel.change": Op(
        lambda client, site, c: client.post(
            url(site, "channel", "change", c.channel_a.pk), {"name": "Renamed", "mode": c.channel_a.mode}
        ),
        lambda c, response: Channel.objects.get(pk=c.channel_a.pk).name == "Renamed",
    ),
    "membership.list": listed("membership", lambda c: membership(c, c.author)),
    "membership.view": viewed("membership", lambda c: membership(c, c.author)),
    "membership.add": Op(
        lambda client, site, c: client.post(
            url(site, "membership", "add"), {"user": "newbie", "channel": c.channel_a.pk, "role": Role.MEMBER}
        ),
        lambda c, response: membership(c, c.newbie) is not None,
    ),
    "membership.change": Op(
        lambda client, site, c: client.post(
            url(site, "membership", "change", membership(c, c.author).pk), {"role": Role.MODERATOR}
        ),
        lambda c, response: membership(c, c.author).role == Role.MODERATOR,
    ),
    "membership.remove": Op(
        lambda client, site, c: client.post(
            url(site, "membership", "delete", membership(c, c.author).pk), {"post": "yes"}
        ),
        lambda c, response: membership(c, c.author) is None,
    ),
    "membership.promote": action(
        "membership",
        "promote_selected",
        lambda c: membership(c, c.author),
        lambda c: membership(c, c.author).role == Role.MODERATOR,
    ),
    "membership.demote": action(
        "membership",
        "demote_selected",
        lambda c: membership(c, c.helper),
        lambda c: membership(c, c.helper).role == Role.MEMBER,
    ),
    "membership.ban": action(
        "membership",
        "ban_selected",
        lambda c: membership(c, c.author),
        lambda c: banned(c, c.author) and membership(c, c.author) is None,
        apply="yes",
        reason="Spamming",
        expires_at="",
    ),
    "ban.list": listed("ban", lambda c: Ban.objects.get(user=c.exiled)),
    "ban.view": viewed("ban", lambda c: Ban.objects.get(user=c.exiled)),
    "ban.add": Op(
        lambda client, site, c: client.post(
            url(site, "ban", "add"), {"user": "author", "channel": c.channel_a.pk, "reason": "rude", "expires_at": ""}
        ),
        lambda c, response: banned(c, c.author),
    ),
    "ban.lift": Op(
        lambda client, site, c: client.post(
            url(site, "ban", "delete", Ban.objects.get(user=c.exiled).pk), {"post": "yes"}
        ),
        lambda c, response: not banned(c, c.exiled),
    ),
    "message.list": listed("message", lambda c: c.message),
    "message.view": viewed("message", lambda c: c.message),
    "message.redact": action("message", "redact_selected", lambda c: c.message, redacted),
    "message.remove": action(
        "message",
        "remove_selected",
        lambda c: c.message,
        lambda c: not Message.objects.filter(pk=c.message.pk).exists(),
    ),
    "attachment.list": listed("attachment", lambda c: c.attachment),
    "attachment.view": viewed("attachment", lambda c: c.attachment),
    "report.list": listed("report", lambda c: c.report),
    "report.view": viewed("report", lambda c: c.report),
    "report.dismiss": action(
        "report", "dismiss_reports", lambda c: c.report, lambda c: report_status(c) == ReportStatus.DISMISSED
    ),
    "report.redact": action(
        "report",
        "redact_reported_messages",
        lambda c: c.report,
        lambda c: redacted(c) and report_status(c) == ReportStatus.RESOLVED,
    ),
    "report.ban": action(
        "report",
        "ban_reported_authors",
        lambda c: c.report,
        lambda c: banned(c, c.author) and report_status(c) == ReportStatus.RESOLVED,
        apply="yes",
        reason="Spam",
        expires_at="2099-01-01T12:00",
    ),
    "report.deactivate": action(
        "report",
        "deactivate_reported_authors",
        lambda c: c.report,
        lambda c: not User.objects.get(pk=c.author.pk).is_active,
    ),
    "user.list": listed("user", lambda c: c.pending, app="accounts", accounts=True),
    "user.approve": action(
        "user",
        "approve_registrations",
        lambda c: c.pending,
        lambda c: User.objects.get(pk=c.pending.pk).approval == Approval.ACTIVATED,
        app="accounts",
        accounts=True,
    ),
    "user.deactivate": action(
        "user",
        "deactivate_accounts",
        lambda c: c.author,
        lambda c: not User.objects.get(pk=c.author.pk).is_active,
        app="accounts",
        accounts=True,
    ),
    "user.make_admin": action(
        "user",
        "make_administrators",
        lambda c: c.author,
        lambda c: User.objects.get(pk=c.author.pk).is_community_administrator,
        app="accounts",
        accounts=True,
    ),
}

CASES = [
    pytest.param(operation, role, id=f"{operation}-{role}")
    for operation, row in MATRIX.items()
    for role, cell in zip(ROLES, row, strict=True)
]


def test_the_table_covers_every_operation():
    assert set(MATRIX) == set(OPS)
    assert all(len(row) == len(ROLES) for row in MATRIX.values())


@pytest.mark.django_db
@pytest.mark.parametrize(("operation", "role"), CASES)
def test_admin_follows_the_matrix(client, community, operation, role):
    op = OPS[operation]
    allowed = MATRIX[operation][ROLES.index(role)] == "Y"
    client.force_login(community.actor(role))
    logged_before = LogEntry.objects.count()
    response = op.request(client, "admin" if op.accounts else HOME_SITE[role], community)
    assert response.status_code < 500
    assert op.effect(community, response) is allowed
    if allowed and response.request["REQUEST_METHOD"] == "POST":
        # Every change made in the admin is in its log.
        assert LogEntry.objects.count() > logged_before
    if not allowed:
        assert LogEntry.objects.count() == logged_before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["moderator_a", "moderator_b", "member", "outsider"])
def test_only_staff_reach_the_main_admin(client, community, role):
    client.force_login(community.actor(role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["member", "outsider"])
def test_members_who_moderate_nothing_are_refused_by_the_moderation_site(client, community, role):
    client.force_login(community.actor(role))
    response = client.get(reverse("moderation:chat_channel_changelist"), follow=True)
    assert response.status_code == 403
    assert "moderates no channel" in response.content.decode()
