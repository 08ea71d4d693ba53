"""The first-run story in a real browser against a real daphne server."""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


def sign_in(page, url, username, *, button="Sign in"):
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()


def test_register_approve_and_confirm(live_server_app, new_page, tmp_path):
    url = live_server_app.url
    founder = new_page()
    founder.goto(url + "/")
    expect(founder).to_have_title("Sign in or Register · F13 Hobbies Community")
    rule = "Minimum 8 characters, at least 1 uppercase, 1 number, 1 special character"
    expect(founder.get_by_text(rule)).to_be_visible()
    founder.screenshot(path=str(tmp_path / "signin.png"), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(tmp_path / "signin.png", SCREENSHOTS / "signin.png")

    # The first account registered becomes the administrator and is signed in at once.
    sign_in(founder, url, "founder", button="Register")
    founder.wait_for_url(url + "/channels/")
    expect(founder.get_by_test_id("current-user")).to_have_text("founder")
    expect(founder.get_by_text("you are its administrator")).to_be_visible()

    # A second person registers and waits for approval.
    hobbyist = new_page()
    sign_in(hobbyist, url, "hobbyist", button="Register")
    registered = (
        "Your registration information has been sent to your administrator. Contact them for additional instructions."
    )
    expect(hobbyist.get_by_text(registered)).to_be_visible()
    sign_in(hobbyist, url, "hobbyist")
    expect(hobbyist.get_by_text("waiting for an administrator's approval")).to_be_visible()

    # The administrator approves in Django admin.
    founder.goto(url + "/admin/accounts/user/?approval=pending")
    founder.get_by_role("row", name=re.compile("hobbyist")).get_by_role("checkbox").check()
    founder.get_by_label("Action:").select_option("approve_registrations")
    founder.get_by_role("button", name="Go").click()
    expect(founder.get_by_text("Approved 1 registration(s).")).to_be_visible()

    # First sign-in after approval confirms the account; the next one signs in.
    sign_in(hobbyist, url, "hobbyist")
    expect(hobbyist.get_by_text("Your account is activated! Please sign in again to confirm.")).to_be_visible()
    sign_in(hobbyist, url, "hobbyist")
    hobbyist.wait_for_url(url + "/channels/")
    expect(hobbyist.get_by_test_id("current-user")).to_have_text("hobbyist")
    expect(hobbyist.get_by_role("button", name="Log out")).to_be_visible()
    expect(hobbyist.get_by_role("heading", name="Channels", exact=True)).to_be_visible()


def test_demo_data_first_still_makes_the_first_person_to_register_the_administrator(live_server_app, new_page):
    url = live_server_app.url
    seeded = live_server_app.manage("seed_demo", "--users", "3").stdout
    assert "becomes the administrator" in seeded
    founder = new_page()
    sign_in(founder, url, "founder", button="Register")
    founder.wait_for_url(url + "/channels/")
    expect(founder.get_by_text("you are its administrator")).to_be_visible()
    expect(founder.get_by_role("link", name="Administration")).to_be_visible()
    # The next one waits for approval, as always.
    later = new_page()
    sign_in(later, url, "later", button="Register")
    expect(later.get_by_text("Your registration information has been sent to your administrator.")).to_be_visible()


def test_a_failed_sign_in_keeps_the_name_and_the_email_typed(live_server_app, new_page):
    url = live_server_app.url
    page = new_page()
    page.goto(url + "/")
    page.get_by_label("User name").fill("nobody")
    page.get_by_label("Password").fill("Wrong#Pass1")
    page.get_by_label("Email (optional, for registration)").fill("nobody@example.org")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("Incorrect user name or password.")).to_be_visible()
    expect(page.get_by_label("User name")).to_have_value("nobody")
    expect(page.get_by_label("Email (optional, for registration)")).to_have_value("nobody@example.org")
