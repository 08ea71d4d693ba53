"""Replies, reactions and permalinks, live between two people in Chromium (issue 17)."""

import json

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e

SEED = f"""
import json, uuid
from chat.models import Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from chat.services.messages import send_message
from hobbies.accounts.models import User
alice = User.objects.create_user("alice", password="{PASSWORD}")
bob = User.objects.create_user("bob", password="{PASSWORD}")
channel = create_channel(actor=alice, name="Model trains", privacy=Privacy.PRIVATE)
add_members(actor=alice, channel=channel, users=[bob])
text = "Who has a spare locomotive?"
first = send_message(actor=alice, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4())
print(json.dumps({{"channel": channel.pk, "message": first.message.pk}}))
"""

LIVE = "() => window.hobbiesLive && Object.keys(window.hobbiesLive.lastSeq).length > 0"


def signed_in(new_page, url, username):
    page = new_page()
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")
    return page


def test_reactions_and_replies_live_and_after_reload(live_server_app, new_page):
    url = live_server_app.url
    seeded = json.loads(live_server_app.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])
    conversation = f"{url}/channels/{seeded['channel']}/messages/"
    alice, bob = signed_in(new_page, url, "alice"), signed_in(new_page, url, "bob")
    for page in (alice, bob):
        page.goto(conversation)
        page.wait_for_function(LIVE)

    # Bob reacts from the picker; Alice sees the count, and who, live.
    message = bob.locator(f"#m{seeded['message']}")
    message.hover()
    message.get_by_role("button", name="Add a reaction").click()
    bob.locator(".reaction-picker").get_by_role("button", name="🎉").click()
    on_alice = alice.locator(f"#m{seeded['message']} .reaction", has_text="🎉")
    expect(on_alice).to_have_text("🎉 1")
    expect(on_alice).to_have_attribute("title", "bob")

    # Alice adds hers by clicking the same reaction; Bob sees 2.
    on_alice.click()
    expect(message.locator(".reaction", has_text="🎉")).to_have_text("🎉 2")

    # Bob replies; Alice sees the quote of her message over his reply.
    message.hover()
    message.get_by_role("button", name="Reply").click()
    expect(bob.locator(".replying")).to_contain_text("alice")
    bob.get_by_placeholder("Type your message").fill("I do!")
    bob.get_by_role("button", name="Send").click()
    reply = alice.locator(".msg", has_text="I do!")
    expect(reply.locator(".reply-quote")).to_contain_text("Who has a spare locomotive?")

    # A reload shows the same; the permalink opens the conversation at the message.
    alice.reload()
    expect(alice.locator(f"#m{seeded['message']} .reaction", has_text="🎉")).to_contain_text("2")
    expect(alice.locator(".msg", has_text="I do!").locator(".reply-quote")).to_contain_text("locomotive")
    alice.goto(f"{url}/channels/{seeded['channel']}/messages/{seeded['message']}/")
    assert alice.url.endswith(f"#m{seeded['message']}")
    expect(alice.locator(f"#m{seeded['message']}")).to_be_visible()

    # Search from the sidebar: the match is highlighted and leads back to the message.
    box = alice.get_by_role("searchbox", name="Search messages").first
    box.fill("locomotive")
    box.press("Enter")
    alice.wait_for_url(f"{url}/search/?q=locomotive")
    result = alice.get_by_test_id("search-results").locator(".search-hit").first
    expect(result.locator("mark")).to_have_text("locomotive")
    result.get_by_role("link", name="Model trains").click()
    alice.wait_for_url(f"**#m{seeded['message']}")
