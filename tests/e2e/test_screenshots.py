"""The conversation page as the README shows it, on a desktop and on a phone:
UPDATE_SCREENSHOTS=1 .venv/bin/pytest tests/e2e/test_screenshots.py writes docs/img/conversation*.png."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import LIVE, seed, sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"

CLUB = """
from datetime import timedelta
from django.utils import timezone
from chat.models import Message
from chat.services.channels import open_direct_channel
from chat.services.presence import Presence
chess = create_channel(actor=people["alice"], name="Chess club", privacy=Privacy.PRIVATE)
go = create_channel(actor=people["alice"], name="Go", privacy=Privacy.PUBLIC)
knitting = create_channel(actor=people["carol"], name="Knitting", privacy=Privacy.PUBLIC)
add_members(actor=people["alice"], channel=chess, users=[people["bob"], people["carol"], people["dmitri"]])
add_members(actor=people["alice"], channel=go, users=[people["bob"]])
add_members(actor=people["carol"], channel=knitting, users=[people["bob"]])
yesterday = [
    ("alice", "Welcome to the **Chess club**! Friday nights at the library, boards provided."),
    ("dmitri", "Count me in. Is the clock rule still `5+3` blitz?"),
    ("alice", "Yes: 5 minutes plus 3 seconds a move."),
]
today = [
    ("carol", "I annotated last week's game: [the PGN](https://example.org/game.pgn) and my notes."),
    ("bob", "Nice! Move 23 was the turning point, right?"),
    ("bob", "I would have played Nf5 there."),
    ("carol", "@bob Nf5 loses the exchange after Bxf5. Look at the notes :)"),
    ("alice", "Reminder for everyone: the tournament sign-up closes **Thursday**."),
    ("dmitri", "Signed up. @bob are you playing?"),
]
for who, text in yesterday:
    message = say(who, chess, text)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=1, minutes=30))
for who, text in today:
    say(who, chess, text)
say("alice", go, "Anyone for a game of Go?")
say("carol", knitting, "New pattern posted @bob")
direct = open_direct_channel(actor=people["dmitri"], other=people["bob"])
say("dmitri", direct, "Want to practise openings before Friday?")
mark_read(actor=people["bob"], key=StreamKey(chess.pk), seq=5)
ids.update(chess=chess.pk)
"""


@pytest.mark.parametrize(("name", "viewport"), [("conversation", (1280, 800)), ("conversation-phone", (390, 844))])
def test_the_conversation_page(live_server_app, new_page, tmp_path, name, viewport):
    url = live_server_app.url
    ids = seed(live_server_app, CLUB, names=("alice", "bob", "carol", "dmitri"))
    width, height = viewport
    carol = sign_in(new_page, url, "carol")
    carol.goto(f"{url}/channels/{ids['chess']}/messages/")
    carol.wait_for_function(LIVE)
    bob = sign_in(new_page, url, "bob", viewport={"width": width, "height": height}, timezone_id="Europe/Paris")
    bob.goto(f"{url}/channels/{ids['chess']}/messages/")
    bob.wait_for_function(LIVE)
    # On a phone the status form is in the menu: the same frame, sent directly.
    bob.evaluate("() => Hobbies.live.send({ type: 'presence.set', status: 'online', text: 'Studying the Najdorf' })")
    expect(bob.locator(".unread-divider")).to_have_count(1)
    bob.get_by_placeholder("Type your message").fill("I'll be there at 7, saving a board for @dmitri")
    bob.wait_for_timeout(2500)  # the presence flush: Bob's status text in the members panel
    path = tmp_path / f"{name}.png"
    bob.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(path, SCREENSHOTS / f"{name}.png")
