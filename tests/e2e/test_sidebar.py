"""The sidebar in real browsers: unread counts, the mention mark and the tab's title live; switching
conversations without a reload while the address bar, Back and Forward behave; the phone menu."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, open_conversation, seed, send, sign_in

pytestmark = pytest.mark.e2e

TWO_CHANNELS = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PUBLIC)
for channel in (chess, go):
    add_members(actor=people["alice"], channel=channel, users=[people["bob"]])
say("alice", chess, "Chess opens")
say("alice", go, "Go opens")
mark_read(actor=people["bob"], key=StreamKey(chess.pk), seq=2)
mark_read(actor=people["bob"], key=StreamKey(go.pk), seq=2)
ids.update(chess=chess.pk, go=go.pk)
"""


def item(page, name):
    return page.get_by_role("navigation", name="Channels and direct messages").locator(
        ".sidebar-item", has=page.locator(".sidebar-name", has_text=re.compile(f"^{name}$"))
    )


def test_counts_mentions_and_the_title_follow_messages_live_and_switching_keeps_the_page(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, TWO_CHANNELS, names=("alice", "bob"))
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["go"])
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    expect(bob).to_have_title("Chess — F13 Hobbies Community")
    expect(item(bob, "Chess")).to_have_class(re.compile("is-current"))
    go = item(bob, "Go")
    expect(go.locator(".sidebar-count")).to_be_hidden()

    # Messages elsewhere: a count, then a mention of Bob raises the mark; the title counts them.
    send(alice, "Go is better")
    expect(go.locator(".sidebar-count-number")).to_have_text("1")
    expect(go.locator(".sidebar-mention")).to_be_hidden()
    expect(bob).to_have_title("(1) Chess — F13 Hobbies Community")
    send(alice, "@bob your move")
    expect(go.locator(".sidebar-count-number")).to_have_text("2")
    expect(go.locator(".sidebar-mention")).to_be_visible()
    expect(go.get_by_role("link")).to_have_accessible_name(re.compile(r"^Go\s*, mentions you\s*, 2 unread"))
    expect(bob).to_have_title("(2) Chess — F13 Hobbies Community")

    # A message in the conversation on screen is read at once.
    alice.goto(f"{url}/channels/{ids['chess']}/messages/")
    alice.wait_for_function(LIVE)
    send(alice, "Still here?")
    expect(bob.locator(".msg", has_text="Still here?")).to_be_visible()
    bob.wait_for_timeout(500)
    expect(item(bob, "Chess").locator(".sidebar-count")).to_be_hidden()
    expect(bob).to_have_title("(2) Chess — F13 Hobbies Community")

    # Switching: the conversation is swapped in, the page (and its socket) stays; the address changes.
    bob.evaluate("() => { window.sameDocument = true; }")
    go.get_by_role("link").click()
    expect(bob).to_have_url(f"{url}/channels/{ids['go']}/messages/")
    expect(bob.get_by_role("heading", level=1)).to_have_text("Go")
    expect(bob.locator(".msg", has_text="@bob your move").locator(".mention-me")).to_have_text("@bob")
    expect(go).to_have_class(re.compile("is-current"))
    expect(go.get_by_role("link")).to_have_attribute("aria-current", "page")
    expect(go.locator(".sidebar-count")).to_be_hidden()
    expect(go.locator(".sidebar-mention")).to_be_hidden()
    expect(bob).to_have_title("Go — F13 Hobbies Community")
    expect(bob.get_by_placeholder("Type your message")).to_be_focused()
    send(bob, "I am in Go now")
    expect(alice.locator(".msg", has_text="I am in Go now")).to_have_count(0)  # Alice reads Chess
    assert bob.evaluate("() => window.sameDocument") is True

    # Back and Forward swap too.
    bob.go_back()
    expect(bob).to_have_url(f"{url}/channels/{ids['chess']}/messages/")
    expect(bob.get_by_role("heading", level=1)).to_have_text("Chess")
    bob.go_forward()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Go")
    expect(bob.locator(".msg", has_text="I am in Go now")).to_have_count(1)
    assert bob.evaluate("() => window.sameDocument") is True

    # A reload of the swapped-in address is the same page, from the server.
    bob.reload()
    bob.wait_for_function(LIVE)
    expect(bob.get_by_role("heading", level=1)).to_have_text("Go")
    expect(bob.locator(".msg", has_text="I am in Go now")).to_have_count(1)


QUESTION = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PUBLIC)
for channel in (chess, go):
    add_members(actor=people["alice"], channel=channel, users=[people["bob"]])
question = say("bob", go, "Anyone for a game?")
ids.update(chess=chess.pk, go=go.pk, question=question.pk)
"""


def test_a_reply_to_my_message_raises_the_mention_mark(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, QUESTION, names=("alice", "bob"))
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    go = item(bob, "Go")
    expect(go.locator(".sidebar-count")).to_be_hidden()

    # Alice replies from an address that names the message (the no-JavaScript Reply link's): the
    # client takes the reply over and sends it on the socket.
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["go"], f"?reply_to={ids['question']}")
    expect(alice.locator("#composer .replying")).to_have_count(1)
    expect(alice.locator("#composer .replying")).to_contain_text("bob")
    expect(alice.locator("#composer input[name=reply_to]")).to_have_count(0)
    send(alice, "Me!")
    expect(alice.locator(".msg", has_text="Me!").locator(".reply-quote")).to_contain_text("Anyone for a game?")
    expect(alice.locator("#composer .replying")).to_have_count(0)

    # Bob, elsewhere, sees the count and the mark live, and after a reload (counted by the server).
    expect(go.locator(".sidebar-count-number")).to_have_text("1")
    expect(go.locator(".sidebar-mention")).to_be_visible()
    send(alice, "Anyone else?")
    expect(go.locator(".sidebar-count-number")).to_have_text("2")
    bob.reload()
    bob.wait_for_function(LIVE)
    expect(go.get_by_role("link")).to_have_accessible_name(re.compile(r"^Go\s*, mentions you\s*, 2 unread"))


def test_on_a_phone_the_sidebar_is_a_menu(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, TWO_CHANNELS, names=("alice", "bob"))
    bob = sign_in(new_page, url, "bob", viewport={"width": 390, "height": 844})
    open_conversation(bob, url, ids["chess"])
    sidebar = bob.get_by_role("navigation", name="Channels and direct messages")
    menu = bob.get_by_role("button", name="Channels and direct messages")
    expect(sidebar).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    item(bob, "Go").get_by_role("link").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Go")
    expect(sidebar).to_be_hidden()
    # The message box stays in view at the bottom of the phone's screen.
    box = bob.get_by_placeholder("Type your message").bounding_box()
    assert box["y"] + box["height"] <= 844
    menu.click()
    bob.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()
