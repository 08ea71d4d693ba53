"""Direct messages in real browsers: "New message" finds people to write to, "Message alice" opens the
conversation, and the other person's sidebar lists it live with the mention mark."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, seed, send, sign_in

pytestmark = pytest.mark.e2e

CLUB = """
chess = create_channel(actor=people["alice"], name="Chess", privacy=Privacy.PRIVATE)
add_members(actor=people["alice"], channel=chess, users=[people["bob"], people["carol"]])
from hobbies.accounts.models import User, Profile
Profile.objects.create(user=User.objects.create_user("stranger", password="Hobby#Pass1"))
ids.update(chess=chess.pk)
"""


def test_new_message_finds_people_and_opens_the_conversation(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, CLUB)
    alice = sign_in(new_page, url, "alice")
    alice.wait_for_function(LIVE)
    bob = sign_in(new_page, url, "bob")
    sidebar = bob.get_by_role("navigation", name="Channels and direct messages")
    sidebar.get_by_role("link", name="New message").click()
    expect(bob.get_by_role("heading", name="New message")).to_be_visible()
    people = bob.locator("#people-results")
    expect(people.get_by_role("button", name=re.compile("^Message "))).to_have_text(["Message alice", "Message carol"])
    expect(people).not_to_contain_text("stranger")  # shares no channel with Bob
    bob.get_by_role("searchbox", name="Find someone").press_sequentially("al", delay=50)
    expect(people.get_by_role("button", name=re.compile("^Message "))).to_have_text(["Message alice"])
    people.get_by_role("button", name="Message alice").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("alice")
    expect(bob).to_have_url(re.compile(r"/channels/\d+/messages/$"))
    bob.wait_for_function(LIVE)
    send(bob, "Fancy a game tonight?")

    # Alice's sidebar lists the new conversation, with a count and the mention mark.
    direct = alice.get_by_role("navigation", name="Channels and direct messages").locator(
        ".sidebar-item", has_text="bob"
    )
    expect(direct.locator(".sidebar-count-number")).to_have_text("1")
    expect(direct.locator(".sidebar-mention")).to_be_visible()
    expect(alice).to_have_title(re.compile(r"^\(1\) "))
    direct.get_by_role("link").click()
    expect(alice.locator(".msg", has_text="Fancy a game tonight?")).to_be_visible()
    expect(direct.locator(".sidebar-count")).to_be_hidden()

    # "Message carol" on a channel's details opens that conversation too.
    bob.goto(f"{url}/channels/{ids['chess']}/")
    bob.get_by_role("button", name="Message carol").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("carol")
