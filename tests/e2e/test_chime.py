"""The Chime backend end to end: daphne with MESSAGING_BACKEND=chime against a local fake Chime
(tests/rig/fake_chime.py, over HTTP through botocore's endpoint variables), which writes its
events into a Kinesis stream on moto's server like Chime's streaming export; `manage.py
chime_relay` reads that stream and Redis carries its events to daphne. Two people in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN, CREDENTIALS_ENV
from tests.rig.components import require
from tests.rig.fake_chime import FakeChime
from tests.rig.kinesis import EventStream, message_record
from tests.rig.s3 import S3Server, moto_available
from tests.rig.servers import ROOT, LiveServer, stop_process

pytestmark = pytest.mark.e2e

SEED = f"""
import json
from chat.models import Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from hobbies.accounts.models import Profile, User
alice = User.objects.create_user("alice", password="{PASSWORD}")
bob = User.objects.create_user("bob", password="{PASSWORD}")
Profile.objects.create(user=alice)
Profile.objects.create(user=bob)
channel = create_channel(actor=alice, name="Model trains", privacy=Privacy.PRIVATE)
add_members(actor=alice, channel=channel, users=[bob])
bob.profile.refresh_from_db()
print(json.dumps({{"channel": channel.pk, "arn": channel.chime_arn, "bob": bob.profile.chime_arn}}))
"""


@pytest.fixture
def chime_stack(tmp_path_factory, redis_url):
    require(moto_available(), "moto's server (moto[server])")
    moto = S3Server().start()
    stream = EventStream(moto.endpoint_url)
    chime = FakeChime(on_event=lambda kind, payload: stream.put_for_channel({"EventType": kind, "Payload": payload}))
    chime.start()
    env = {
        **CREDENTIALS_ENV,
        **chime.env(),
        "AWS_ENDPOINT_URL_KINESIS": moto.endpoint_url,
        "MESSAGING_BACKEND": "chime",
        "CHIME_APP_INSTANCE_ARN": APP_INSTANCE_ARN,
        "CHIME_ADMIN_USER_ARN": ADMIN_ARN,
        "CHIME_EVENT_STREAM_ARN": stream.arn,
        "CHIME_RELAY_POLL_MS": "200",
        "REDIS_URL": redis_url,
    }
    server = LiveServer(tmp_path_factory.mktemp("live-chime"), env)
    server.start()
    relay_log = (server.data_dir / "relay.log").open("ab")
    relay = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "chime_relay"],
        cwd=ROOT,
        env=server.env,
        stdout=relay_log,
        stderr=subprocess.STDOUT,
    )
    yield server, stream, chime
    stop_process(relay)
    server.stop()
    chime.stop()
    moto.stop()


def signed_in(new_page, url, username):
    page = new_page()
    page.goto(url + "/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")
    return page


def test_a_message_chime_streams_appears_live_in_both_tabs_once(chime_stack, new_page):
    server, stream, chime = chime_stack
    seeded = json.loads(server.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])
    assert seeded["arn"].startswith(APP_INSTANCE_ARN + "/channel/")
    conversation = f"{server.url}/channels/{seeded['channel']}/messages/"
    alice, bob = signed_in(new_page, server.url, "alice"), signed_in(new_page, server.url, "bob")
    alice.goto(conversation)
    bob.goto(conversation)

    # Both sockets live: Alice's message goes browser -> daphne -> Chime (and back on the stream,
    # where the relay finds it already stored) and reaches Bob without a reload.
    alice.get_by_placeholder("Type your message").fill("All aboard")
    alice.get_by_role("button", name="Send").click()
    expect(bob.locator(".msg", has_text="All aboard")).to_have_count(1)
    expect(alice.locator(".msg.msg-pending")).to_have_count(0)
    assert ("send_channel_message", f"{APP_INSTANCE_ARN}/user/user-1") in chime.calls

    # Another Chime client writes; Chime streams it; the relay brings it to both tabs, live.
    record = message_record(
        "CREATE_CHANNEL_MESSAGE", seeded["arn"], "from-another-client", content="Sent from the *mobile* app"
    )
    record["Payload"]["Sender"] = {"Arn": seeded["bob"], "Name": "bob"}
    stream.put_for_channel(record)
    stream.put_for_channel(record)  # delivered twice: shown once
    for page in (alice, bob):
        expect(page.locator(".msg", has_text="Sent from the mobile app")).to_have_count(1)
        expect(page.locator(".msg", has_text="Sent from the mobile app").locator("em")).to_have_text("mobile")
        expect(page.locator(".msg", has_text="All aboard")).to_have_count(1)

    # A reload shows the same history, each message once, with its author.
    bob.reload()
    texts = [text.strip() for text in bob.locator(".msg .msg-body").all_inner_texts()]
    assert texts == ["All aboard", "Sent from the mobile app"]
    expect(bob.locator(".msg", has_text="Sent from the mobile app")).to_contain_text("bob")
