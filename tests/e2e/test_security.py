"""The Django admin and the moderation site in Chromium under the Content-Security-Policy.

The community's own pages are driven by the other browser tests; the `new_page` fixture fails any
of them on a CSP violation or console error. This one walks every page the admin index links to,
and works the admin's JavaScript widgets (calendar, clock, the two-box permission picker).
"""

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

pytestmark = pytest.mark.e2e

SEED = f"""
from chat.models import Privacy
from chat.services.channels import create_channel
from hobbies.accounts.models import Profile, User
root = User.objects.create_superuser(username="root", password={PASSWORD!r}, email="root@example.org")
Profile.objects.create(user=root)
create_channel(actor=root, name="Knitting", privacy=Privacy.PUBLIC)
print(root.pk)
"""


def visit_linked_pages(page, url, index):
    """Open `index` and every page its main content links to, within the same site."""
    response = page.goto(url + index)
    assert response.status == 200, index
    assert "script-src 'self'" in response.headers["content-security-policy"]
    hrefs = page.locator("#content-main a[href^='/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    visited = [href for href in dict.fromkeys(hrefs) if href.startswith(index)]
    for href in visited:
        assert page.goto(url + href).status == 200, href
    return visited


def test_admin_and_moderation_pages_work_under_the_policy(live_server_app, new_page):
    url = live_server_app.url
    root_id = live_server_app.manage("shell", "-c", SEED).stdout.strip().splitlines()[-1]
    page = new_page()
    page.goto(url + "/")
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(url + "/channels/")

    assert len(visit_linked_pages(page, url, "/admin/")) >= 4
    assert visit_linked_pages(page, url, "/moderation/")

    # The user form's widgets: calendar and clock pop-ups, the permission picker's buttons.
    page.goto(f"{url}/admin/accounts/user/{root_id}/change/")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()
    page.locator("#calendarbox0").get_by_role("link", name="Today").click()
    page.locator("#clocklink0").click()
    page.locator("#clockbox0").get_by_role("link", name="Noon").click()
    expect(page.locator("#id_last_login_1")).to_have_value("12:00:00")
    page.locator("#id_user_permissions_add_all").click()
    expect(page.locator("#id_user_permissions_to option").first).to_be_attached()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
