import pytest
from axes.models import AccessAttempt
from axes.utils import reset

from conftest import PASSWORD

SIGNIN = "/"


def attempt(client, username, password="Wrong#Pass1"):
    return client.post(SIGNIN, {"action": "signin", "username": username, "password": password})


@pytest.mark.django_db
def test_five_failures_lock_the_user_name_with_a_clear_message(client, member):
    for _ in range(4):
        assert attempt(client, "member").status_code == 400
    locked = attempt(client, "member")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # Even the right password is refused while locked, and a different case is the same name.
    assert attempt(client, "MEMBER", PASSWORD).status_code == 429


@pytest.mark.django_db
def test_a_lockout_does_not_touch_other_user_names(client, member, outsider):
    for _ in range(5):
        attempt(client, "member")
    assert client.post(SIGNIN, {"username": "outsider", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_admin_unlocks_by_resetting_attempts(client, member):
    for _ in range(5):
        attempt(client, "member")
    assert AccessAttempt.objects.filter(username="member").exists()
    reset(username="member")
    assert client.post(SIGNIN, {"username": "member", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_success_clears_earlier_failures(client, member):
    for _ in range(3):
        attempt(client, "member")
    client.post(SIGNIN, {"username": "member", "password": PASSWORD})
    client.logout()
    for _ in range(3):
        assert attempt(client, "member").status_code == 400
