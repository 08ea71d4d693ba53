"""Two people in one channel, live, in two real browser contexts."""

import json

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e

SEED = f"""
import json
from chat.models import Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from hobbies.accounts.models import User
alice = User.objects.create_user("alice", password="{PASSWORD}")
bob = User.objects.create_user("bob", password="{PASSWORD}")
channel = create_channel(actor=alice, name="Model trains", privacy=Privacy.PRIVATE)
add_members(actor=alice, channel=channel, users=[bob])
print(json.dumps({{"channel": channel.pk}}))
"""


def signed_in(new_page, url, username):
    page = new_page()
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")
    return page


def test_two_people_chat_live(live_server_app, new_page):
    url = live_server_app.url
    channel = json.loads(live_server_app.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])["channel"]
    conversation = f"{url}/channels/{channel}/messages/"
    alice, bob = signed_in(new_page, url, "alice"), signed_in(new_page, url, "bob")
    # Functions, not expressions: Playwright polls an expression with eval(), which the CSP forbids.
    live = "() => window.hobbiesLive && Object.keys(window.hobbiesLive.lastSeq).length > 0"
    alice.goto(conversation)
    alice.wait_for_function(live)
    expect(alice.get_by_role("heading", name="Model trains")).to_be_visible()

    # Bob waits on the channel list: Alice's first message raises his unread count live.
    bob.wait_for_function(live)
    unread = bob.get_by_role("link", name="Model trains", exact=True).locator("xpath=..").locator(".unread-count")
    expect(unread).to_have_text("0")
    alice.get_by_placeholder("Type your message").fill("Are you there?")
    alice.get_by_role("button", name="Send").click()
    expect(unread).to_have_text("1")

    # Reading it in the conversation clears the count (a read marker on the server).
    bob.goto(conversation)
    bob.wait_for_function(live)
    expect(bob.locator(".msg", has_text="Are you there?")).to_be_visible()
    bob.wait_for_timeout(300)
    bob.goto(url + "/channels/")
    expect(
        bob.get_by_role("link", name="Model trains", exact=True).locator("xpath=..").locator(".unread-count")
    ).to_have_text("0")
    bob.goto(conversation)
    bob.wait_for_function(live)

    # Alice types: Bob sees the typing notice, then the message, without reloading. (Typing
    # notices go out at most every 2 s; her last one, for the first message, must have aged.)
    alice.wait_for_timeout(2100)
    alice.get_by_placeholder("Type your message").press_sequentially("Hello **Bob**", delay=20)
    expect(bob.locator("#typing")).to_have_text("alice is typing…")
    alice.get_by_placeholder("Type your message").press("Enter")
    bob_message = bob.locator(".msg", has_text="Hello Bob")
    expect(bob_message.locator("strong")).to_have_text("Bob")
    expect(alice.locator(".msg.msg-pending")).to_have_count(0)

    # Bob answers; Alice sees it live.
    bob.get_by_placeholder("Type your message").fill("Hi Alice, @alice!")
    bob.get_by_role("button", name="Send").click()
    expect(alice.locator(".msg", has_text="Hi Alice").locator(".mention")).to_have_text("@alice")

    # Alice edits her message in place; Bob sees the new text marked (edited).
    alice_message = alice.locator(".msg", has_text="Hello Bob")
    alice_message.hover()
    alice_message.get_by_role("link", name="Edit").click()
    editor = alice_message.get_by_role("textbox", name="Edit message")
    expect(editor).to_have_value("Hello **Bob**")
    editor.fill("Hello **Bob**, welcome aboard")
    editor.press("Enter")
    expect(bob.locator(".msg", has_text="welcome aboard").locator(".msg-edited")).to_be_visible()

    # A reload shows the same history.
    before = [text.strip() for text in bob.locator(".msg .msg-body").all_inner_texts()]
    bob.reload()
    after = [text.strip() for text in bob.locator(".msg .msg-body").all_inner_texts()]
    assert before == after == ["Are you there?", "Hello Bob, welcome aboard", "Hi Alice, @alice!"]
    expect(bob.locator(".msg", has_text="welcome aboard").locator(".msg-edited")).to_be_visible()


def test_a_tab_behind_the_heads_fetches_what_it_lacks(tmp_path, new_page):
    """The server tells every tab the latest seq of its streams (`heads`); a tab that lacks events
    asks for them with `sync` and shows them, without reloading."""
    from tests.rig.servers import LiveServer

    server = LiveServer(tmp_path / "app", {"WS_HEADS_SECONDS": "1"}).start()
    try:
        channel = json.loads(server.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])["channel"]
        alice = signed_in(new_page, server.url, "alice")
        alice.goto(f"{server.url}/channels/{channel}/messages/")
        alice.wait_for_function("() => window.hobbiesLive && Object.keys(window.hobbiesLive.lastSeq).length > 0")
        for text in ("first", "second"):
            alice.get_by_placeholder("Type your message").fill(text)
            alice.get_by_role("button", name="Send").click()
            expect(alice.locator(".msg:not(.msg-pending)", has_text=text)).to_be_visible()
        # As if the last event had never reached this tab.
        alice.evaluate(
            """() => {
              const live = window.hobbiesLive, stream = document.getElementById("conversation").dataset.stream;
              document.querySelector(".msg:last-child").remove();
              live.lastSeq[stream] -= 1;
            }"""
        )
        expect(alice.locator(".msg", has_text="second")).to_have_count(0)
        expect(alice.locator(".msg", has_text="second")).to_be_visible(timeout=5000)
        # Leave the page before its server goes, or its reconnect attempts are console errors.
        alice.goto("about:blank")
    finally:
        server.stop()
