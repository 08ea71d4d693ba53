"""What the browser tests of the chat client share: seeding a live server, signing in, waiting for the socket."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from conftest import PASSWORD

# A function, not an expression: Playwright polls an expression with eval(), which the CSP forbids.
LIVE = "() => Boolean(window.hobbiesLive && window.hobbiesLive.connected)"

PEOPLE = f"""
import json, uuid
from chat.models import Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from chat.services.messages import send_message
from chat.services import ratelimit
from chat.services.read_markers import mark_read
from chat.streams import StreamKey
from hobbies.accounts.models import Profile, User
_roomy = ratelimit.TokenBucket(rate=1000, burst=100_000)  # seeding is not a person typing
ratelimit.send_rate = lambda: _roomy
people = {{}}
for name in NAMES:
    people[name] = User.objects.create_user(name, password={PASSWORD!r})
    Profile.objects.create(user=people[name])
def say(who, channel, text):
    return send_message(actor=people[who], channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4()).message
ids = {{name: user.pk for name, user in people.items()}}
"""


def seed(server, body: str, names=("alice", "bob", "carol")) -> dict:
    """Run `body` in `manage.py shell` after creating `names` (password PASSWORD); `body` fills `ids`,
    which comes back as a dict."""
    code = f"NAMES = {list(names)!r}\n{PEOPLE}\n{body}\nprint(json.dumps(ids))\n"
    result = server.manage("shell", "-c", code)
    return json.loads(result.stdout.strip().splitlines()[-1])


def sign_in(new_page, url: str, username: str, **options):
    """A new browser context (a person of their own) signed in as `username`, on the channel list."""
    page = new_page(**options)
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")
    return page


def open_conversation(page, url: str, channel_id: int, query: str = ""):
    page.goto(f"{url}/channels/{channel_id}/messages/{query}")
    page.wait_for_function(LIVE)
    return page


def send(page, text: str) -> None:
    box = page.get_by_placeholder("Type your message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".msg.msg-pending")).to_have_count(0)


def in_viewport(page, locator) -> bool:
    """True when the element is inside its scrolling list's visible area (and the window's)."""
    return locator.evaluate(
        """el => {
          const box = el.getBoundingClientRect();
          const list = el.closest('.scroller');
          const area = list ? list.getBoundingClientRect() : { top: 0, bottom: innerHeight };
          return box.bottom > area.top && box.top < area.bottom && box.top < innerHeight && box.bottom > 0;
        }"""
    )
