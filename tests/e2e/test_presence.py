"""Presence in real browsers: it follows live connections (online while a tab is connected and in use,
away when idle or chosen, offline when no tab is left), through reloads and channel switches, and the
status text stays."""

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, open_conversation, seed, sign_in
from tests.rig.servers import LiveServer

pytestmark = pytest.mark.e2e

TWO_CHANNELS = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PRIVATE)
for channel in (chess, go):
    add_members(actor=people["alice"], channel=channel, users=[people["bob"]])
ids.update(chess=chess.pk, go=go.pk)
"""


def start(tmp_path, **env):
    return LiveServer(tmp_path / "app", {"PRESENCE_FLUSH_MS": "200", **env}).start()


@pytest.fixture
def server(tmp_path):
    server = start(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def idle_server(tmp_path):
    server = start(tmp_path, PRESENCE_IDLE_SECONDS="3")
    yield server
    server.stop()


def row(page, user_id):
    return page.locator(f'#presence [data-user-id="{user_id}"]')


def set_status(page, availability: str, text: str | None = None) -> None:
    if text is not None:
        page.get_by_label("My status").fill(text)
    page.get_by_label("Availability").select_option(availability)
    page.get_by_role("button", name="Set status").click()


def test_reloads_and_channel_switches_keep_a_person_online_with_their_status_text(server, new_page):
    url = server.url
    ids = seed(server, TWO_CHANNELS, names=("alice", "bob"))
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    alice_seen_by_bob = row(bob, ids["alice"])
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")

    # A reload closes one socket and opens another: Alice stays online (nothing says "away" on unload).
    alice.reload()
    alice.wait_for_function(LIVE)
    bob.wait_for_timeout(1000)  # five presence flushes
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")
    expect(row(alice, ids["alice"])).to_have_attribute("data-status", "online")

    # A status text survives reloads and switching channels, and her own form shows it.
    set_status(alice, "online", "Working from home")
    expect(alice_seen_by_bob).to_contain_text("Working from home")
    alice.goto(f"{url}/channels/{ids['go']}/messages/")
    alice.wait_for_function(LIVE)
    alice.goto(f"{url}/channels/{ids['chess']}/messages/")
    alice.wait_for_function(LIVE)
    bob.wait_for_timeout(1000)
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")
    expect(alice_seen_by_bob).to_contain_text("Working from home")
    expect(alice.get_by_label("My status")).to_have_value("Working from home")
    expect(alice.get_by_label("Availability")).to_have_value("online")

    # Away by choice holds while she is active and after a reload; Online brings her back.
    set_status(alice, "away")
    expect(alice_seen_by_bob).to_have_attribute("data-status", "away")
    alice.reload()
    alice.wait_for_function(LIVE)
    expect(alice.get_by_label("Availability")).to_have_value("away")
    bob.wait_for_timeout(1000)
    expect(alice_seen_by_bob).to_have_attribute("data-status", "away")
    expect(alice_seen_by_bob).to_contain_text("Working from home")
    set_status(alice, "online")
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")

    # Two tabs: closing one leaves her online; closing the last makes her offline.
    second = alice.context.new_page()
    open_conversation(second, url, ids["go"])
    alice.close()
    bob.wait_for_timeout(1000)
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")
    second.close()
    expect(alice_seen_by_bob).to_have_attribute("data-status", "offline")


def test_an_idle_tab_shows_away_and_input_brings_it_back(idle_server, new_page):
    url = idle_server.url
    ids = seed(idle_server, TWO_CHANNELS, names=("alice", "bob"))
    bob = open_conversation(sign_in(new_page, url, "bob"), url, ids["chess"])
    alice = open_conversation(sign_in(new_page, url, "alice"), url, ids["chess"])
    alice_seen_by_bob = row(bob, ids["alice"])
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")
    # Nothing typed or clicked for PRESENCE_IDLE_SECONDS: away, while her own choice stays Online.
    expect(alice_seen_by_bob).to_have_attribute("data-status", "away", timeout=10_000)
    expect(alice.get_by_label("Availability")).to_have_value("online")
    alice.mouse.move(200, 300)
    alice.keyboard.press("Shift")
    expect(alice_seen_by_bob).to_have_attribute("data-status", "online")
