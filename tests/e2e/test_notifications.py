"""Notifications in real browsers: with the setting on, a mention or a direct message raises a browser
notification while the tab is hidden; the tab's title counts what arrived; nothing without the setting.

Headless Chromium has no notification centre and its tabs never hide, so the page is given a
recording Notification and a switch for document.visibilityState (an init script, outside the CSP)."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, open_conversation, seed, send, sign_in

pytestmark = pytest.mark.e2e

RECORDER = """
(() => {
  window.shownNotifications = [];
  class Recorded {
    constructor(title, options) { window.shownNotifications.push({ title, body: options.body }); }
    addEventListener() {}
    close() {}
    static get permission() { return "granted"; }
    static requestPermission() { return Promise.resolve("granted"); }
  }
  window.Notification = Recorded;
  let hidden = false;
  Object.defineProperty(document, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(document, "hidden", { get: () => hidden });
  window.hideTab = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
})();
"""

CLUB = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"], people["carol"]])
ids.update(chess=chess.pk)
"""


def set_notifications(page, url, on: bool) -> None:
    page.goto(url + "/account/settings/")
    for label in ("Show a browser notification", "Play a sound with it"):
        box = page.get_by_label(label)
        box.check() if on else box.uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()


def shown(page):
    return page.evaluate("() => window.shownNotifications")


def test_mentions_and_direct_messages_notify_a_hidden_tab_when_allowed(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CLUB)
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    bob = sign_in(new_page, url, "bob")
    bob.context.add_init_script(RECORDER)
    set_notifications(bob, url, on=True)
    expect(bob.locator("#notification-permission")).to_have_text("This browser shows notifications from this site.")
    open_conversation(bob, url, ids["chess"])
    bob.evaluate("() => window.hideTab(true)")

    send(alice, "@bob are you there?")
    send(alice, "Nothing for anyone in particular")
    bob.wait_for_function("() => window.shownNotifications.length > 0")
    bob.wait_for_timeout(500)
    assert shown(bob) == [{"title": "alice in Chess", "body": "@bob are you there?"}]
    # The hidden tab reads nothing: the title counts both, and "New messages" marks where they start.
    expect(bob).to_have_title("(2) Chess — F13 Hobbies Community")
    expect(bob.locator(".msg", has_text="@bob are you there?").locator(".unread-divider")).to_have_text("New messages")

    carol = sign_in(new_page, url, "carol")
    carol.goto(f"{url}/channels/{ids['chess']}/")
    carol.get_by_role("button", name="Message bob").click()
    carol.wait_for_function(LIVE)
    send(carol, "Psst, a secret")
    bob.wait_for_function("() => window.shownNotifications.length > 1")
    assert shown(bob)[1] == {"title": "carol", "body": "Psst, a secret"}

    # Back in the tab: what it shows is read.
    bob.evaluate("() => window.hideTab(false)")
    expect(bob).to_have_title(re.compile(r"^\(1\) Chess — "))  # carol's message, elsewhere

    # Turned off: nothing more.
    set_notifications(bob, url, on=False)
    open_conversation(bob, url, ids["chess"])
    bob.evaluate("() => window.hideTab(true)")
    send(alice, "@bob once more")
    expect(bob).to_have_title(re.compile(r"^\(2\) Chess — "))
    assert shown(bob) == []
