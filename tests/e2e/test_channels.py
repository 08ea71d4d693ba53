"""Channels in a real browser: private channels stay hidden, public ones are joined, bans hold."""

import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e

CREATE_USERS = f"""
from hobbies.accounts.models import Profile, User
for name in ("alice", "bob", "carol"):
    Profile.objects.create(user=User.objects.create_user(username=name, password={PASSWORD!r}))
"""


def sign_in(page, url, username):
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")


def add_channel(page, name, privacy):
    page.get_by_role("link", name="Add channel").click()
    expect(page.get_by_label("Moderator", exact=True)).to_have_value("alice")
    page.get_by_label("Channel name").fill(name)
    page.get_by_label(privacy).check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_test_id("channel-name")).to_have_text(name)
    return page.url


def test_private_public_join_and_ban(live_server_app, new_page):
    live_server_app.manage("shell", "-c", CREATE_USERS)
    url = live_server_app.url
    alice, bob, carol = new_page(), new_page(), new_page()
    for page, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        sign_in(page, url, name)

    # Alice creates a private restricted channel and adds Bob (the user search suggests names).
    secret = add_channel(alice, "Secret garden", "Private (only members can read and send messages)")
    expect(alice.get_by_test_id("channel-settings")).to_contain_text(
        "Restricted (administrators and moderators can add members)"
    )
    alice.get_by_label("User name").fill("bo")
    expect(alice.locator("#member-suggestions option[value='bob']")).to_have_count(1)
    alice.get_by_label("User name").fill("bob")
    alice.get_by_role("button", name="Add member").click()
    expect(alice.get_by_text("bob added.")).to_be_visible()

    # Bob sees it; Carol neither sees it listed nor reaches it: the same 404 as a missing channel.
    bob.reload()
    bob.get_by_test_id("my-channels").get_by_role("link", name="Secret garden", exact=True).click()
    expect(bob.get_by_test_id("channel-name")).to_have_text("Secret garden")
    carol.reload()
    expect(carol.get_by_text("Secret garden")).to_have_count(0)
    assert carol.goto(secret).status == 404

    # Alice creates a public channel: choosing Public hides Mode (JavaScript), Elastic reveals its settings.
    alice.goto(url + "/channels/new/")
    expect(alice.locator("#elastic-settings")).to_be_hidden()
    alice.get_by_label("Public (non-members can read and send messages)").check()
    expect(alice.locator("#mode-settings")).to_be_hidden()
    alice.get_by_label("Elastic (automatically creates new channels as old ones reaches threshold)").check()
    expect(alice.get_by_label("Target memberships per sub-channel")).to_have_value("4")
    alice.get_by_label("Standard (only one channel will be created with standard limit)").check()
    alice.get_by_role("link", name="Cancel").click()
    public = add_channel(alice, "Open field", "Public (non-members can read and send messages)")

    # Carol joins it from the channel list.
    carol.goto(url + "/channels/")
    carol.get_by_role("button", name="Join Open field").click()
    expect(carol.get_by_text("You joined “Open field”.")).to_be_visible()
    expect(carol.get_by_role("button", name="Leave channel")).to_be_visible()

    # Alice bans Carol (after confirming); Carol can no longer join.
    alice.goto(public)
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.get_by_role("button", name="Ban carol").click()
    expect(alice.get_by_text("carol banned.")).to_be_visible()
    expect(alice.get_by_test_id("bans")).to_contain_text("carol")

    carol.goto(public)
    expect(carol.get_by_test_id("banned-notice")).to_have_text("You are banned from this channel.")
    expect(carol.get_by_role("button", name=re.compile("Join"))).to_have_count(0)
    carol.goto(url + "/channels/")
    expect(carol.get_by_test_id("joinable-channels")).not_to_contain_text("Open field")
    expect(carol.get_by_test_id("my-channels")).not_to_contain_text("Open field")


def test_channel_names_are_unique_whatever_the_case_and_an_empty_name_is_one_error(live_server_app, new_page):
    live_server_app.manage("shell", "-c", CREATE_USERS)
    url = live_server_app.url
    alice, bob = new_page(), new_page()
    sign_in(alice, url, "alice")
    sign_in(bob, url, "bob")
    add_channel(alice, "Chess", "Public (non-members can read and send messages)")
    bob.goto(url + "/channels/new/")
    bob.get_by_label("Channel name").fill("chess")
    bob.get_by_role("button", name="Add", exact=True).click()
    expect(bob.get_by_text("A channel named “Chess” already exists.")).to_be_visible()
    bob.get_by_label("Channel name").fill("   ")
    bob.get_by_role("button", name="Add", exact=True).click()
    expect(bob.locator(".field-error")).to_have_count(1)
    expect(bob.locator(".field-error")).to_have_text("Enter a channel name.")
