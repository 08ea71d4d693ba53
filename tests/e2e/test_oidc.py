"""Signing in with a real OpenID Connect provider (node oidc-provider) in Chromium."""

import re

import pytest

from tests.rig.oidc import LABEL

pytestmark = pytest.mark.e2e
SIGN_IN_WITH = f"Sign in with {LABEL}"


def open_page(new_page):
    # The provider's development screens link web fonts; the tests stay on loopback, so those
    # requests fail on purpose.
    page = new_page(ignore=re.compile(r"^Failed to load resource: net::ERR_FAILED$"))
    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return page


def sign_in_at_provider(page, login):
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password works here")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def query(server, model, *fields):
    """Rows of the server's own database, read through manage.py (the test process has none of its data)."""
    script = f"from hobbies.accounts.models import {model}; print(list({model}.objects.values_list(*{fields!r})))"
    return server.manage("shell", "--no-imports", "-c", script).stdout.strip()


def test_sign_in_with_the_provider_and_sign_out_of_both(oidc_live_server, new_page):
    app = oidc_live_server()
    page = open_page(new_page)
    page.goto(app.url + "/")
    page.get_by_role("link", name=SIGN_IN_WITH).click()
    assert page.url.startswith(app.env["OIDC_OP_ISSUER"])
    sign_in_at_provider(page, "alice")

    page.wait_for_url(app.url + "/channels/")
    assert page.get_by_test_id("current-user").inner_text() == "alice"
    # alice is in the provider's hobbies-admins group, which OIDC_ADMIN_GROUPS makes staff.
    assert page.get_by_role("link", name="Administration").is_visible()
    assert query(app, "LoginEvent", "user__username", "method") == "[('alice', 'oidc')]"

    # Signing out ends the app's session, then the provider's (its RP-initiated logout page).
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(app.url + "/")
    assert page.get_by_role("link", name=SIGN_IN_WITH).is_visible()
    page.goto(app.url + "/channels/")
    page.wait_for_url(re.compile(re.escape(app.url) + r"/\?next="))

    # The provider forgot alice too: signing in again asks for the login, not just a click.
    page.get_by_role("link", name=SIGN_IN_WITH).click()
    assert page.locator("input[name=login]").is_visible()


def test_approval_policy_puts_new_provider_accounts_in_the_pending_queue(oidc_live_server, new_page):
    app = oidc_live_server(OIDC_REQUIRE_APPROVAL="true", LOCAL_LOGIN_ENABLED="false")
    page = open_page(new_page)
    page.goto(app.url + "/")
    # Local sign-in and registration are off: only the provider's button is offered.
    assert page.get_by_label("User name").count() == 0
    assert page.get_by_role("button", name="Register").count() == 0
    page.get_by_role("link", name=SIGN_IN_WITH).click()
    sign_in_at_provider(page, "carol")

    page.wait_for_url(app.url + "/")
    assert page.get_by_text("Your registration is waiting for an administrator's approval.").is_visible()
    assert page.get_by_test_id("current-user").count() == 0
    assert query(app, "User", "username", "approval", "is_active") == "[('carol', 'pending', False)]"
