"""The conversation without JavaScript: history with older pages by link, sending, editing and
deleting by plain forms, the sidebar's links."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import seed, sign_in
from tests.rig import axe

pytestmark = pytest.mark.e2e

HISTORY = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"]])
add_members(actor=people["alice"], channel=go, users=[people["bob"]])
for index in range(60):
    say("alice", chess, f"move {index}")
ids.update(chess=chess.pk, go=go.pk)
"""


def test_reading_sending_editing_and_deleting_without_javascript(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, HISTORY, names=("alice", "bob"))
    bob = sign_in(new_page, url, "bob", java_script_enabled=False)
    bob.goto(f"{url}/channels/{ids['chess']}/messages/")
    expect(bob.locator(".msg")).to_have_count(50)
    expect(bob.locator(".msg", has_text="move 59")).to_have_count(1)

    # Older messages are a page of their own, by link.
    bob.get_by_role("link", name="Load older messages").click()
    expect(bob.locator(".msg", has_text="move 0")).to_have_count(1)
    expect(bob.locator(".msg", has_text="move 59")).to_have_count(0)
    bob.get_by_role("link", name="Newer messages").click()
    expect(bob.locator(".msg", has_text="move 59")).to_have_count(1)

    # Sending is a form post.
    bob.get_by_placeholder("Type your message").fill("Sent with **no** script")
    bob.get_by_role("button", name="Send").click()
    mine = bob.locator(".msg", has_text="Sent with no script")
    expect(mine.locator("strong")).to_have_text("no")

    # Editing: a page with the stored Markdown in a box (the actions show on hover or focus).
    mine.hover()
    mine.get_by_role("link", name="Edit").click()
    box = bob.get_by_label("Edit message")
    expect(box).to_have_value("Sent with **no** script")
    box.fill("Sent with *no* script, edited")
    bob.get_by_role("button", name="Save").click()
    mine = bob.locator(".msg", has_text="Sent with no script, edited")
    expect(mine.locator("em")).to_have_text("no")
    expect(mine.locator(".msg-edited")).to_be_visible()

    # Deleting: a page that asks first.
    mine.hover()
    mine.get_by_role("link", name="Delete").click()
    expect(bob.get_by_role("heading", name="Delete this message?")).to_be_visible()
    bob.get_by_role("button", name="Delete").click()
    expect(bob.get_by_text("Message deleted.")).to_be_visible()
    expect(bob.locator(".msg-redacted").last).to_contain_text("(Deleted)")

    # The sidebar's links are links.
    bob.get_by_role("navigation", name="Channels and direct messages").get_by_role("link", name="Go").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Go")
    expect(bob.get_by_text("No messages yet. Say hello!")).to_be_visible()


QUESTION = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"]])
question = say("alice", chess, "Who brings the **clock**?")
say("alice", chess, "And the boards?")
ids.update(chess=chess.pk, question=question.pk)
"""


def test_replying_without_javascript(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, QUESTION, names=("alice", "bob"))
    bob = sign_in(new_page, url, "bob", java_script_enabled=False)
    bob.goto(f"{url}/channels/{ids['chess']}/messages/")
    question = bob.locator(f"#m{ids['question']}")

    # Reply is a link: the page comes back with the quote over the box, and a way out.
    question.hover()
    question.get_by_role("link", name="Reply").click()
    replying = bob.locator("#composer .replying")
    expect(replying).to_have_text("Replying to alice Who brings the **clock**? Cancel reply")
    expect(bob.get_by_placeholder("Type your message")).to_be_focused()
    replying.get_by_role("link", name="Cancel reply").click()
    expect(bob.locator("#composer .replying")).to_have_count(0)

    question.hover()
    question.get_by_role("link", name="Reply").click()
    bob.get_by_placeholder("Type your message").fill("I will")
    bob.get_by_role("button", name="Send").click()
    mine = bob.locator(".msg", has_text="I will")
    expect(mine.locator(".reply-quote")).to_have_text("alice Who brings the **clock**?")
    expect(bob.locator("#composer .replying")).to_have_count(0)

    # The quote is a permalink to the original.
    mine.locator(".reply-quote").click()
    expect(bob).to_have_url(
        re.compile(rf"/channels/{ids['chess']}/messages/\?stream={ids['chess']}&before=\d+#m{ids['question']}$")
    )
    expect(question).to_be_visible()

    # A reply to something that is not there says so.
    bob.goto(f"{url}/channels/{ids['chess']}/messages/?reply_to=999999")
    expect(bob.locator("#composer-error")).to_have_text("Cannot reply: that message does not exist.")
    expect(bob.locator("#composer .replying")).to_have_count(0)

    # axe finds nothing on the page replying as drawn by the server (its scripts kept out, so that
    # axe itself can run in the page).
    checked = sign_in(new_page, url, "bob")
    checked.route("**/static/js/**", lambda route: route.fulfill(content_type="text/javascript", body=""))
    checked.goto(f"{url}/channels/{ids['chess']}/messages/?reply_to={ids['question']}")
    expect(checked.locator("#composer .replying")).to_contain_text("Cancel reply")
    found = axe.violations(checked)
    assert not found, "\n".join(found)
