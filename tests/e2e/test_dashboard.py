"""The dashboards in Chromium: an administrator and a channel moderator open theirs, with data, and
the page draws its charts with no console error (a CSP violation is one) and no script of its own."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import seed, sign_in

pytestmark = pytest.mark.e2e

BODY = """
from django.utils import timezone
from chat.services import activity, rollup
from chat.exceptions import ChatError
from hobbies.metrics import latency, names
alice = people["alice"]
alice.is_staff = alice.is_superuser = True
alice.save()
knitting = create_channel(actor=people["bob"], name="Knitting", privacy=Privacy.PRIVATE)
add_members(actor=people["bob"], channel=knitting, users=[people["carol"]])
for text in ("Knitting socks tonight 🧶", "knitting again 🧶", "wool fair on Sunday 👍", "more wool"):
    say("carol", knitting, text)
say("bob", knitting, "welcome to knitting")
try:
    say("carol", knitting, "   ")
except ChatError:
    pass
buckets = latency.empty(names.LATENCY_BOUNDS)
for seconds in [0.004] * 40 + [0.08] * 2:
    latency.record(buckets, names.LATENCY_BOUNDS, seconds)
rollup.add_deliveries({(knitting.pk, activity.hour_of(timezone.now())): buckets})
ids["knitting"] = knitting.pk
"""


def test_the_dashboards_render_with_data_and_no_console_error(live_server_app, new_page):
    url = live_server_app.url
    ids = seed(live_server_app, BODY)

    admin = sign_in(new_page, url, "alice")
    admin.get_by_test_id("dashboard-link").click()
    admin.wait_for_url(url + "/dashboard/")
    expect(admin.get_by_test_id("dashboard-title")).to_have_text("Community dashboard")
    expect(admin.locator("svg.chart-svg")).to_have_count(2)
    expect(admin.locator("svg.chart-svg rect.chart-bar").first).to_be_attached()
    assert admin.locator("svg.chart-svg").first.bounding_box()["height"] > 100
    expect(admin.get_by_test_id("top-messages")).to_contain_text("Knitting")
    expect(admin.get_by_test_id("busiest")).to_contain_text("carol")
    expect(admin.get_by_test_id("refused")).to_contain_text("carol")
    expect(admin.get_by_test_id("trends").first).to_contain_text("🧶")
    # Each chart's figures are a table that screen readers reach (visually hidden).
    table = admin.get_by_role("table", name="Messages per hour, last 24 hours")
    expect(table).to_be_attached()
    expect(table.get_by_role("row")).to_have_count(25)

    moderator = sign_in(new_page, url, "bob")
    moderator.goto(f"{url}/channels/{ids['knitting']}/")
    moderator.get_by_test_id("channel-dashboard-link").click()
    moderator.wait_for_url(f"{url}/channels/{ids['knitting']}/dashboard/")
    expect(moderator.get_by_test_id("dashboard-title")).to_have_text("Dashboard of Knitting")
    expect(moderator.get_by_test_id("health")).to_contain_text("16.7 %")  # 1 refused of 6 sends
    expect(moderator.get_by_test_id("health")).to_contain_text("ms")
    expect(moderator.get_by_test_id("active-day")).to_have_text("2")

    member = sign_in(new_page, url, "carol")
    expect(member.get_by_test_id("dashboard-link")).to_have_count(0)
    response = member.goto(f"{url}/channels/{ids['knitting']}/dashboard/")
    assert response.status == 404
