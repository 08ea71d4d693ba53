"""axe-core, run inside each page (tests/rig/axe.py), finds nothing on the community's pages, the
moderation site and the admin, at desktop and phone widths.

PAGES is the list: one line per page (who looks at it, and its address from the seeded ids).
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD
from tests.e2e.helpers import LIVE, seed
from tests.rig import axe
from tests.rig.servers import LiveServer

pytestmark = pytest.mark.e2e

COMMUNITY = """
from chat.models import Privacy
from chat.services.channels import open_direct_channel
from chat.services.messages import set_slow_mode
from chat.services.reports import report_message
alice = people["alice"]
alice.is_staff = alice.is_superuser = True
alice.save()
chess = create_channel(actor=alice, name="Chess", privacy=Privacy.PUBLIC)
go = create_channel(actor=people["bob"], name="Go", privacy=Privacy.PRIVATE)
add_members(actor=alice, channel=chess, users=[people["bob"], people["carol"]])
add_members(actor=people["bob"], channel=go, users=[alice, people["carol"]])
say("alice", go, "Welcome to **Go**, @bob! Rules: `19x19`, see [the club](https://example.org).")
say("bob", go, "Thanks @alice")
say("bob", go, "Who plays on Friday?")
spam = say("carol", go, "Cheap stones at spam.example")
say("alice", chess, "Anyone for a game?")
open_direct_channel(actor=people["carol"], other=people["bob"])
report_message(actor=people["bob"], message_id=spam.pk, reason="spam", details="again")
set_slow_mode(actor=people["bob"], channel_id=go.pk, seconds=5)
ids.update(chess=chess.pk, go=go.pk, spam=spam.pk)
"""

# (page, who looks at it, its address); None is someone signed out.
PAGES = [
    ("sign-in", None, "/"),
    ("channels", "bob", "/channels/"),
    ("add channel", "bob", "/channels/new/"),
    ("channel details (moderator)", "bob", "/channels/{go}/"),
    ("channel details (member)", "carol", "/channels/{chess}/"),
    ("conversation", "bob", "/channels/{go}/messages/"),
    ("new direct message", "bob", "/direct/new/"),
    ("settings", "bob", "/account/settings/"),
    ("moderation", "bob", "/moderation/"),
    ("moderation: channels", "bob", "/moderation/chat/channel/"),
    ("moderation: members", "bob", "/moderation/chat/membership/"),
    ("moderation: messages", "bob", "/moderation/chat/message/"),
    ("moderation: reports", "bob", "/moderation/chat/report/"),
    ("moderation: bans", "bob", "/moderation/chat/ban/"),
    ("admin", "alice", "/admin/"),
    ("admin: users", "alice", "/admin/accounts/user/"),
    ("admin: channels", "alice", "/admin/chat/channel/"),
    ("dashboard", "alice", "/dashboard/"),
    ("channel dashboard", "bob", "/channels/{go}/dashboard/"),
]
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def community(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("a11y")).start()
    ids = seed(server, COMMUNITY)
    yield server, ids
    server.stop()


@pytest.fixture(scope="module")
def sessions(community, chromium_browser):
    """Each person's cookies, signed in once for the whole module."""
    server, _ = community
    states = {}
    for name in ("alice", "bob", "carol"):
        context = chromium_browser.new_context()
        page = context.new_page()
        page.goto(server.url + "/")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_url(server.url + "/channels/")
        states[name] = context.storage_state()
        context.close()
    return states


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[page[0] for page in PAGES])
def test_axe_finds_nothing(community, sessions, new_page, name, who, path, width):
    server, ids = community
    options = {"viewport": {"width": width, "height": 900}}
    if who:
        options["storage_state"] = sessions[who]
    page = new_page(**options)
    response = page.goto(server.url + path.format(**ids))
    assert response.status == 200, f"{name}: HTTP {response.status}"
    if "/messages/" in path:
        page.wait_for_function(LIVE)
    found = axe.violations(page)
    assert not found, f"{name} at {width} px:\n" + "\n".join(found)
