"""Moderation in a real browser: a member reports a message; a channel moderator who is not staff
signs in to the moderation admin, deletes the reported message, bans a member, and never sees
another moderator's channel."""

import json
import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e

SEED = f"""
import json, uuid
from chat.models import Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from chat.services.messages import send_message
from hobbies.accounts.models import Profile, User
people = {{}}
for name in ("mod", "member", "spammer", "potter"):
    people[name] = User.objects.create_user(name, password={PASSWORD!r})
    Profile.objects.create(user=people[name])
knitting = create_channel(actor=people["mod"], name="Knitting", privacy=Privacy.PRIVATE)
add_members(actor=people["mod"], channel=knitting, users=[people["member"], people["spammer"]])
pottery = create_channel(actor=people["potter"], name="Pottery", privacy=Privacy.PRIVATE)
def say(who, channel, text):
    send_message(actor=people[who], channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4())
say("member", knitting, "Who is coming to the wool fair?")
say("spammer", knitting, "Cheap followers at spam.example")
say("member", knitting, "Not again...")
say("potter", pottery, "Kiln at 1200 degrees")
print(json.dumps({{"knitting": knitting.pk, "pottery": pottery.pk}}))
"""


def sign_in(page, url, username, *, landing):
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(landing)


def test_a_moderator_handles_a_report_and_bans_from_the_admin(live_server_app, new_page):
    url = live_server_app.url
    ids = json.loads(live_server_app.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])

    # A member reports the spam from the conversation: a link, then a plain form.
    member = new_page()
    member.goto(url + "/")
    sign_in(member, url, "member", landing=url + "/channels/")
    member.goto(f"{url}/channels/{ids['knitting']}/messages/")
    spam = member.locator(".msg", has_text="Cheap followers")
    expect(member.locator(".msg", has_text="wool fair").get_by_role("link", name="Report")).to_have_count(0)
    spam.hover()
    spam.get_by_role("link", name="Report").click()
    expect(member.get_by_test_id("reported-message")).to_contain_text("Cheap followers")
    member.get_by_label("Spam or advertising").check()
    member.get_by_label("Anything the moderators should know (optional)").fill("Third time this week")
    member.get_by_role("button", name="Send report").click()
    expect(member.get_by_text("The channel's moderators will look at it")).to_be_visible()

    # The moderator (not staff) opens the moderation site: signed in on the community's page, then back.
    moderator = new_page()
    moderator.goto(url + "/moderation/")
    expect(moderator).to_have_url(re.compile(r"/\?next=/moderation/$"))
    sign_in(moderator, url, "mod", landing=url + "/moderation/")
    expect(moderator.get_by_role("heading", name="The channels you moderate")).to_be_visible()

    # Only their own channel is there; another moderator's does not exist for them.
    moderator.get_by_role("link", name="Channels").first.click()
    expect(moderator.locator("#result_list tbody tr")).to_have_count(1)
    expect(moderator.locator("#result_list")).to_contain_text("Knitting")
    expect(moderator.locator("#result_list")).not_to_contain_text("Pottery")
    moderator.goto(f"{url}/moderation/chat/channel/{ids['pottery']}/change/")
    expect(moderator.get_by_text("doesn’t exist")).to_be_visible()
    moderator.goto(f"{url}/moderation/chat/message/")
    expect(moderator.locator("#result_list")).not_to_contain_text("Kiln")

    # The report: the message among its neighbours, then "Delete the message".
    moderator.goto(f"{url}/moderation/chat/report/")
    moderator.locator("#result_list tbody tr").first.get_by_role("link").first.click()
    context = moderator.get_by_test_id("report-context")
    expect(context).to_contain_text("Who is coming to the wool fair?")
    expect(context.locator("li.reported")).to_contain_text("Cheap followers at spam.example")
    expect(moderator.get_by_text("Third time this week")).to_be_visible()
    moderator.get_by_role("button", name="Delete the message").click()
    expect(moderator.get_by_text("Messages deleted: 1.")).to_be_visible()
    expect(moderator.locator("#result_list tbody tr")).to_have_count(0)  # the open queue is empty

    # The member sees the message gone.
    member.goto(f"{url}/channels/{ids['knitting']}/messages/")
    expect(member.locator(".msg.msg-redacted")).to_contain_text("(Deleted)")

    # Ban the spammer: select their membership, the ban action, a reason.
    moderator.goto(f"{url}/moderation/chat/membership/?channel={ids['knitting']}")
    row = moderator.locator("#result_list tbody tr", has_text="spammer")
    row.locator("input.action-select").check()
    moderator.locator("select[name=action]").select_option("ban_selected")
    moderator.get_by_role("button", name="Go").click()
    expect(moderator.get_by_test_id("ban-targets")).to_contain_text("spammer from Knitting")
    moderator.get_by_label("Reason").fill("Spam, reported by members")
    moderator.get_by_role("button", name="Ban", exact=True).click()
    expect(moderator.get_by_text("Banned: 1.")).to_be_visible()
    moderator.goto(f"{url}/moderation/chat/ban/")
    expect(moderator.locator("#result_list")).to_contain_text("Spam, reported by members")
    expect(moderator.locator("#result_list tbody tr")).to_have_count(1)

    # Everything the moderator did is in the admin's log.
    moderator.goto(f"{url}/moderation/")
    expect(moderator.locator("#recent-actions-module")).to_contain_text("Report")
