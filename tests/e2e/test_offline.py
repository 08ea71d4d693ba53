"""Sending while the connection is down: the tab says so, keeps the message (in localStorage too) and
sends it, once, with its original client_msg_id when the server is back, even after a reload."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, open_conversation, seed, sign_in
from tests.rig.servers import LiveServer

pytestmark = pytest.mark.e2e

# While the server is down the browser logs each refused reconnection attempt.
REFUSED = re.compile(r"WebSocket connection to .* failed|Failed to load resource|ERR_CONNECTION_REFUSED")

CHESS = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"]])
ids.update(chess=chess.pk)
"""


@pytest.fixture
def server(tmp_path):
    server = LiveServer(tmp_path / "app").start()
    yield server
    server.stop()


def test_messages_written_offline_are_sent_once_when_the_server_is_back(server, new_page):
    url = server.url
    ids = seed(server, CHESS, names=("alice", "bob"))
    alice = open_conversation(sign_in(new_page, url, "alice", ignore=REFUSED), url, ids["chess"])
    conversation = alice.url
    box = alice.get_by_placeholder("Type your message")
    state = alice.get_by_test_id("connection-state")
    expect(state).to_be_hidden()

    server.stop()
    expect(state).to_have_text(re.compile("Reconnecting…|Offline — messages will be sent when you are back"))
    box.fill("written while the server was down")
    box.press("Enter")
    expect(alice).to_have_url(conversation)  # no form post to a dead server, no error page
    expect(box).to_have_value("")
    expect(alice.locator(".msg.msg-pending", has_text="written while the server was down")).to_be_visible()
    expect(state).to_have_text("Offline — messages will be sent when you are back")
    assert "written while the server was down" in alice.evaluate("() => JSON.stringify(localStorage)")

    server.start()
    expect(alice.locator(".msg.msg-pending")).to_have_count(0, timeout=20_000)
    expect(state).to_be_hidden()
    expect(alice.locator(".msg", has_text="written while the server was down")).to_have_count(1)

    # Written offline, then the tab is closed: the next tab of this browser sends it.
    server.stop()
    expect(state).to_be_visible()
    box.fill("kept across a reload")
    box.press("Enter")
    expect(alice.locator(".msg.msg-pending", has_text="kept across a reload")).to_be_visible()
    context = alice.context
    alice.close()
    server.start()
    again = open_conversation(context.new_page(), url, ids["chess"])
    expect(again.locator(".msg", has_text="kept across a reload")).to_have_count(1)
    expect(again.locator(".msg.msg-pending")).to_have_count(0, timeout=20_000)
    assert "kept across a reload" not in again.evaluate("() => JSON.stringify(localStorage)")

    # Each message was stored once.
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    bob.wait_for_function(LIVE)
    texts = [text.strip() for text in bob.locator(".msg .msg-body").all_inner_texts()]
    assert texts == ["written while the server was down", "kept across a reload"]
