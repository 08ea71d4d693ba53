"""The conversation page in real browsers: where it opens, editing in place, times, the keyboard,
live changes of the channel and its members, attachments' order, refused sends."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, in_viewport, open_conversation, seed, send, sign_in

pytestmark = pytest.mark.e2e

CHESS = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"], people["carol"]])
ids.update(chess=chess.pk)
"""

HISTORY = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PRIVATE)
for channel in (chess, go):
    add_members(actor=people["alice"], channel=channel, users=[people["bob"]])
    sent = [say("alice", channel, f"{channel.name} message {index}") for index in range(70)]
    # Bob has read all of Go, and Chess up to message 59.
    read_up_to = sent[-1] if channel is go else sent[59]
    mark_read(actor=people["bob"], key=StreamKey(channel.pk), seq=read_up_to.seq)
ids.update(chess=chess.pk, go=go.pk)
"""


def box(page):
    return page.get_by_placeholder("Type your message")


def message(page, text):
    return page.locator(".msg", has_text=text)


# Bug 2: a channel opens at the newest message, or at the first unread under "New messages".


def test_a_channel_opens_at_the_newest_or_the_first_unread_and_keeps_the_reading_position(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, HISTORY, names=("alice", "bob"))
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["go"])
    newest, oldest_shown = message(bob, "Go message 69"), message(bob, "Go message 20")
    expect(newest).to_be_visible()
    assert in_viewport(bob, newest)
    assert not in_viewport(bob, oldest_shown)
    expect(box(bob)).to_be_focused()
    expect(bob.get_by_role("button", name="Jump to latest")).to_be_hidden()

    # Scrolled up: "Jump to latest" brings the newest back.
    bob.locator("#scroller").evaluate("el => { el.scrollTop = 0; }")
    jump = bob.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    bob.wait_for_function(
        "() => { const s = document.getElementById('scroller'); "
        "return s.scrollHeight - s.scrollTop - s.clientHeight < 4; }"
    )
    assert in_viewport(bob, newest)

    # "Load older" adds the earlier messages above without moving what is being read.
    bob.locator("#scroller").evaluate("el => { el.scrollTop = 0; }")
    reading = oldest_shown.locator(".msg-body")
    top_before = reading.bounding_box()["y"]
    bob.get_by_role("link", name="Load older messages").click()
    expect(message(bob, "Go message 0")).to_have_count(1)
    expect(bob.locator(".msg")).to_have_count(70)
    assert abs(reading.bounding_box()["y"] - top_before) < 3

    # Chess has ten unread: it opens at the first of them, under a "New messages" divider.
    open_conversation(bob, url, ids["chess"])
    divider = bob.locator(".unread-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("New messages")
    first_unread = message(bob, "Chess message 60")
    assert first_unread.locator(".unread-divider").count() == 1
    assert in_viewport(bob, divider)
    assert not in_viewport(bob, message(bob, "Chess message 30"))


# Bug 3: editing happens in place with the stored Markdown; an unchanged save changes nothing.


def test_editing_in_place_keeps_the_markdown_and_an_unchanged_save_changes_nothing(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CHESS)
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    source = "**Bold** move, see [the game](https://example.org/game)"
    send(alice, source)
    element_id = message(alice, "Bold move").get_attribute("id")
    mine, theirs = alice.locator(f"#{element_id}"), bob.locator(f"#{element_id}")
    expect(theirs.locator("strong")).to_have_text("Bold")

    def edit():
        mine.hover()
        mine.get_by_role("link", name="Edit").click()
        editor = mine.get_by_role("textbox", name="Edit message")
        expect(editor).to_be_focused()
        return editor

    editor = edit()
    expect(editor).to_have_value(source)
    editor.press("Enter")  # saved unchanged
    expect(editor).to_have_count(0)
    expect(mine.locator("strong")).to_have_text("Bold")
    expect(mine.get_by_role("link", name="the game")).to_have_attribute("href", "https://example.org/game")
    bob.wait_for_timeout(500)
    expect(theirs.locator(".msg-edited")).to_be_hidden()
    expect(mine.locator(".msg-edited")).to_be_hidden()

    # Esc cancels.
    editor = edit()
    editor.fill("something else")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(mine.locator(".msg-body")).to_have_text("Bold move, see the game")

    # A real edit reaches Bob, marked (edited); Shift+Enter is a new line, not a save.
    editor = edit()
    editor.fill("**Bolder** move")
    editor.press("Shift+Enter")
    editor.type("indeed")
    editor.press("Enter")
    expect(theirs.locator("strong")).to_have_text("Bolder")
    expect(theirs.locator(".msg-edited")).to_be_visible()
    expect(theirs.locator(".msg-body")).to_contain_text("indeed")
    edit().press("Escape")
    edit()
    expect(mine.get_by_role("textbox", name="Edit message")).to_have_value("**Bolder** move\nindeed")


# Bug 4: every time is a <time> formatted by the browser, the same live and after a reload.


def test_times_are_the_browsers_own_live_and_after_a_reload(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CHESS + 'say("bob", chess, "seeded before")')
    alice = sign_in(new_page, url, "alice", timezone_id="America/New_York", locale="en-US")
    open_conversation(alice, url, ids["chess"])
    send(alice, "what time is it")
    live_time = message(alice, "what time is it").locator("time")
    stamp = live_time.get_attribute("datetime")
    expected = alice.evaluate(
        "stamp => new Date(stamp).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })", stamp
    )
    expect(live_time).to_have_text(expected)
    assert re.search(r"\d{1,2}:\d\d (AM|PM)", expected)
    full = alice.evaluate(
        "stamp => new Date(stamp).toLocaleString([], { dateStyle: 'full', timeStyle: 'short' })", stamp
    )
    expect(live_time).to_have_attribute("title", full)
    alice.reload()
    alice.wait_for_function(LIVE)
    reloaded = message(alice, "what time is it").locator("time")
    expect(reloaded).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(reloaded).to_have_text(expected)
    expect(reloaded).to_have_attribute("title", full)
    seeded = message(alice, "seeded before").locator("time")
    seeded_stamp = seeded.get_attribute("datetime")
    expect(seeded).to_have_text(
        alice.evaluate("s => new Date(s).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' })", seeded_stamp)
    )


# Bug 6: everything works from the keyboard, and shows when focused.


def open_file_chooser_with_enter(page, attempts: int = 3):
    """Enter on the focused paperclip opens the file chooser. Under a loaded machine Chromium has
    once dropped the chooser of a keyboard activation, so the key is pressed again (still the keyboard)."""
    for attempt in range(attempts):
        try:
            with page.expect_file_chooser(timeout=5_000) as chooser:
                page.keyboard.press("Enter")
            return chooser.value
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
    return None


def test_the_keyboard_reaches_the_paperclip_and_the_message_actions(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CHESS)
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    send(alice, "my move")
    box(alice).focus()
    alice.keyboard.press("Tab")
    attach = alice.get_by_role("button", name="Attach files")
    expect(attach).to_be_focused()
    expect(attach).to_be_visible()
    chooser = open_file_chooser_with_enter(alice)
    chooser.set_files([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"e4 e5"}])
    expect(alice.locator("#uploads .upload-percent")).to_have_text(["100 %"])

    mine = message(alice, "my move")
    edit_link = mine.get_by_role("link", name="Edit")
    alice.locator("#scroller").focus()
    for _ in range(30):
        if edit_link.evaluate("el => el === document.activeElement"):
            break
        alice.keyboard.press("Tab")
    expect(edit_link).to_be_focused()
    expect(edit_link).to_be_visible()
    alice.keyboard.press("Tab")
    expect(mine.get_by_role("link", name="Delete")).to_be_focused()
    expect(mine.get_by_role("link", name="Delete")).to_be_visible()
    alice.keyboard.press("Shift+Tab")
    alice.keyboard.press("Enter")
    expect(mine.get_by_role("textbox", name="Edit message")).to_be_focused()


# Bug 8, on this page: renames, bans, sub-channel names, attachment order, refused sends.


def test_a_rename_changes_the_title_live_and_a_banned_member_leaves_the_list(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CHESS)
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    expect(bob).to_have_title("Chess — F13 Hobbies Community")
    expect(bob.locator(f'#presence [data-user-id="{ids["carol"]}"]')).to_have_count(1)
    alice = sign_in(new_page, url, "alice")
    alice.goto(f"{url}/channels/{ids['chess']}/")
    alice.get_by_label("Channel name").fill("Chess club")
    alice.get_by_role("button", name="Save changes").click()
    expect(bob).to_have_title("Chess club — F13 Hobbies Community")
    expect(bob.get_by_role("heading", level=1)).to_have_text("Chess club")
    alice.once("dialog", lambda dialog: dialog.accept())
    alice.get_by_role("button", name="Ban carol").click()
    expect(alice.get_by_text("carol banned.")).to_be_visible()
    expect(bob.locator(f'#presence [data-user-id="{ids["carol"]}"]')).to_have_count(0)


ELASTIC = """
from chat.models import ChannelType
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PUBLIC,
    channel_type=ChannelType.ELASTIC, maximum_subchannels=3, target_memberships_per_subchannel=4,
    minimum_membership_percentage=40)
add_members(actor=people["alice"], channel=chess, users=[people["bob"]])
ids.update(chess=chess.pk)
"""


def test_an_elastic_sub_channel_has_a_human_name(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, ELASTIC)
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    expect(bob.get_by_role("heading", level=1)).to_have_text("Chess · room 1")
    expect(bob).to_have_title("Chess · room 1 — F13 Hobbies Community")
    expect(bob.get_by_text(re.compile(rf"{ids['chess']}:\d+"))).to_have_count(0)


def test_attachments_keep_the_order_they_were_chosen_in(live_server_app, new_page):
    """The second file's upload starts first on the server; the message still lists them as chosen."""
    url = live_server_app.url
    ids = seed(live_server_app, CHESS)
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    held = []

    def hold_the_first(route):
        if not held:
            held.append(route)  # answered below, after the second file has started
        else:
            route.continue_()

    alice.route("**/attachments/start/", hold_the_first)
    alice.locator("#attach-files").set_input_files(
        [
            {"name": "first.txt", "mimeType": "text/plain", "buffer": b"one"},
            {"name": "second.txt", "mimeType": "text/plain", "buffer": b"two"},
        ]
    )
    expect(alice.locator("#uploads .upload-done")).to_have_count(1)
    held[0].continue_()
    expect(alice.locator("#uploads .upload-done")).to_have_count(2)
    box(alice).fill("two files")
    box(alice).press("Enter")
    names = message(bob, "two files").locator(".attachment-name")
    expect(names).to_have_text(["first.txt", "second.txt"])
    bob.reload()
    bob.wait_for_function(LIVE)
    expect(message(bob, "two files").locator(".attachment-name")).to_have_text(["first.txt", "second.txt"])


SLOW = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"]])
from chat.services.messages import set_slow_mode
set_slow_mode(actor=people["alice"], channel_id=chess.pk, seconds=600)
ids.update(chess=chess.pk)
"""


def test_a_refused_send_keeps_its_text_in_the_box_with_the_reason(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, SLOW, names=("alice", "bob"))
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    send(bob, "first move")
    box(bob).fill("second move, too soon")
    box(bob).press("Enter")
    expect(bob.get_by_role("alert")).to_contain_text("Slow mode is on")
    expect(box(bob)).to_have_value("second move, too soon")
    expect(message(bob, "second move")).to_have_count(0)

    # Without JavaScript the form post is refused the same way and the text is still there.
    plain = sign_in(new_page, url, "bob", java_script_enabled=False)
    plain.goto(f"{url}/channels/{ids['chess']}/messages/")
    box(plain).fill("third move, no script")
    plain.get_by_role("button", name="Send").click()
    expect(plain.get_by_role("alert")).to_contain_text("Slow mode is on")
    expect(box(plain)).to_have_value("third move, no script")


# The conversation people expect: grouping, days, avatars, code, the box at the bottom, the members panel.

LAYOUT = """
from datetime import timedelta
from django.utils import timezone
from chat.models import Message
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"], people["carol"]])
old = say("alice", chess, "From yesterday")
Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
for index in range(40):
    say("carol", chess, f"filler {index}")
ids.update(chess=chess.pk)
"""

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def test_grouping_days_avatars_code_mentions_and_the_box_at_the_bottom(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, LAYOUT)
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    send(alice, "First, with `e4` as code and a word for @bob and @carol")
    send(alice, "Second, right after")
    first, second = message(bob, "First, with"), message(bob, "Second, right after")

    # Grouped: the second shows neither name nor avatar; both keep them for screen readers.
    expect(second).to_have_class(re.compile("msg-continued"))
    expect(first).not_to_have_class(re.compile("msg-continued"))
    expect(first.locator(".msg-author")).to_be_visible()
    expect(second.locator(".avatar")).to_be_hidden()
    expect(second.locator(".msg-author")).to_have_text("alice")
    expect(first.locator(".avatar")).to_have_text("AL")
    colour = first.locator(".avatar").get_attribute("class")
    assert re.search(r"avatar-c\d+", colour)

    # My mentions stand out from others'; code looks like code.
    expect(first.locator(".mention-me")).to_have_text("@bob")
    expect(first.locator(".mention:not(.mention-me)")).to_have_text("@carol")
    assert first.locator(".mention-me").evaluate("el => getComputedStyle(el).backgroundColor") != first.locator(
        ".mention:not(.mention-me)"
    ).evaluate("el => getComputedStyle(el).backgroundColor")
    assert "monospace" in first.locator("code").evaluate("el => getComputedStyle(el).fontFamily")

    # Days are separated in the reader's zone, the same after a reload, avatars too.
    expect(bob.locator(".day-divider")).to_have_text(["Yesterday", "Today"])
    bob.reload()
    bob.wait_for_function(LIVE)
    expect(bob.locator(".day-divider")).to_have_text(["Yesterday", "Today"])
    expect(message(bob, "Second, right after")).to_have_class(re.compile("msg-continued"))
    expect(message(bob, "First, with").locator(".avatar")).to_have_attribute("class", colour)

    # Only the list scrolls: the box stays at the bottom of the window.
    bob.locator("#scroller").evaluate("el => { el.scrollTop = 0; }")
    assert bob.evaluate("() => window.scrollY") == 0
    box_bottom = bob.get_by_placeholder("Type your message").bounding_box()
    assert 800 - 120 < box_bottom["y"] + box_bottom["height"] <= 800

    # The members panel folds away, and stays folded.
    panel, toggle = bob.locator("#members-panel"), bob.get_by_role("button", name="Members")
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    bob.reload()
    bob.wait_for_function(LIVE)
    expect(bob.locator("#members-panel")).to_be_hidden()
    bob.get_by_role("button", name="Members").click()
    expect(bob.locator("#members-panel")).to_be_visible()

    # Icons are drawn (SVG), not emoji a plain Debian machine may not have a font for.
    attach = bob.get_by_role("button", name="Attach files")
    expect(attach.locator("svg")).to_have_count(1)
    for region in ("#sidebar", "#composer", ".conversation-header", ".msg-actions"):
        for text in bob.locator(region).all_text_contents():
            assert not EMOJI.search(text), (region, text)
