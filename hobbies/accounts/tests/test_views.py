import pytest
from django.urls import reverse

from conftest import PASSWORD
from hobbies.accounts.models import Approval, LoginEvent, User
from hobbies.accounts.views import ACTIVATED_MESSAGE, REGISTERED_MESSAGE

SIGNIN = "/"


def post(client, action, **data):
    return client.post(SIGNIN, {"action": action, **data}, follow=True)


@pytest.mark.django_db
def test_anonymous_home_is_the_sign_in_or_register_page(client, settings):
    settings.COMMUNITY_NAME = "Knitting Circle"
    response = client.get(SIGNIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Sign in or Register · Knitting Circle</title>" in html
    assert 'name="username"' in html and 'type="password"' in html
    assert ">Sign in</button>" in html and ">Register</button>" in html
    assert "Minimum 8 characters, at least 1 uppercase, 1 number, 1 special character" in html


@pytest.mark.django_db
def test_first_registration_signs_in_the_new_administrator(client):
    response = post(client, "register", username="founder", password=PASSWORD)
    assert response.redirect_chain[-1][0] == reverse("chat-channels")
    assert "you are its administrator" in response.content.decode()
    assert response.context["user"].is_superuser


@pytest.mark.django_db
def test_registration_waits_for_approval_with_the_seed_message(client, admin_user):
    response = post(client, "register", username="newbie", password=PASSWORD, email="n@example.com")
    assert REGISTERED_MESSAGE in response.content.decode()
    assert not response.context["user"].is_authenticated
    assert User.objects.get(username="newbie").approval == Approval.PENDING


@pytest.mark.django_db
def test_broken_password_rules_each_get_a_message_and_the_name_is_kept(client, admin_user):
    response = client.post(SIGNIN, {"action": "register", "username": "keepme", "password": "short"})
    html = response.content.decode()
    assert response.status_code == 400
    for text in ("at least 8 characters", "uppercase letter", "a number", "special character"):
        assert text in html
    assert 'value="keepme"' in html
    assert "short" not in html.replace("password_too_short", "")
    assert not User.objects.filter(username="keepme").exists()


@pytest.mark.django_db
def test_duplicate_name_is_refused_clearly(client, member):
    response = client.post(SIGNIN, {"action": "register", "username": "MeMbEr", "password": PASSWORD})
    assert response.status_code == 400
    assert "That user name is already taken" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"username": "", "password": ""},
        {"username": "bad name/with slash", "password": PASSWORD},
        {"username": "x" * 151, "password": PASSWORD},
        {"username": "ok", "password": PASSWORD, "email": "not-an-email"},
    ],
)
def test_bad_registration_input_is_a_clear_error(client, admin_user, data):
    response = client.post(SIGNIN, {"action": "register", **data})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_sign_in_with_password_lands_on_channels_and_records_login(client, member):
    response = post(client, "signin", username="member", password=PASSWORD)
    assert response.redirect_chain[-1][0] == reverse("chat-channels")
    html = response.content.decode()
    assert 'data-testid="current-user">member<' in html and "Log out" in html
    assert LoginEvent.objects.filter(user=member, method="password").count() == 1


@pytest.mark.django_db
def test_user_names_sign_in_case_insensitively(client, member):
    response = post(client, "signin", username="MEMBER", password=PASSWORD)
    assert response.context["user"] == member


@pytest.mark.django_db
def test_wrong_password_is_a_generic_error(client, member):
    response = client.post(SIGNIN, {"action": "signin", "username": "member", "password": "Wrong#Pass1"})
    assert response.status_code == 400
    assert "Incorrect user name or password." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("approval", "password", "expected"),
    [
        (Approval.PENDING, PASSWORD, "waiting for an administrator"),
        (Approval.PENDING, "Wrong#Pass1", "Incorrect user name or password."),
        (Approval.REJECTED, PASSWORD, "was not approved"),
        (Approval.REJECTED, "Wrong#Pass1", "Incorrect user name or password."),
    ],
)
def test_pending_and_rejected_state_is_told_only_to_the_password_holder(
    client, make_user, approval, password, expected
):
    make_user("waiting", approval=approval)
    response = client.post(SIGNIN, {"action": "signin", "username": "waiting", "password": password})
    html = response.content.decode()
    assert response.status_code == 400
    assert expected in html
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_first_sign_in_after_approval_confirms_then_the_next_signs_in(client, make_user):
    user = make_user("approved", approval=Approval.ACTIVATED)
    first = post(client, "signin", username="approved", password=PASSWORD)
    assert ACTIVATED_MESSAGE in first.content.decode()
    assert not first.context["user"].is_authenticated
    user.refresh_from_db()
    assert user.approval == Approval.ACTIVE
    second = post(client, "signin", username="approved", password=PASSWORD)
    assert second.context["user"] == user
    assert ACTIVATED_MESSAGE not in second.content.decode()


@pytest.mark.django_db
def test_signed_in_user_visiting_home_goes_to_channels(client, member):
    client.force_login(member)
    assert client.get(SIGNIN).url == reverse("chat-channels")


@pytest.mark.django_db
def test_log_out_is_a_post_and_ends_the_session(client, member):
    client.force_login(member)
    assert client.get(reverse("accounts-signout")).status_code == 405
    response = client.post(reverse("accounts-signout"))
    assert response.url == reverse("accounts-signin")
    assert client.get(reverse("chat-channels")).status_code == 302


@pytest.mark.django_db
def test_next_parameter_only_redirects_within_the_site(client, member):
    response = client.post(SIGNIN + "?next=https://evil.example/", {"username": "member", "password": PASSWORD})
    assert response.url == reverse("chat-channels")
    client.logout()
    response = client.post(SIGNIN + "?next=/admin/", {"username": "member", "password": PASSWORD})
    assert response.url == "/admin/"


@pytest.mark.django_db
def test_channels_page_requires_sign_in(client):
    response = client.get(reverse("chat-channels"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts-signin"))


@pytest.mark.django_db
def test_a_failed_sign_in_shows_the_form_again_with_the_email_typed(client, member):
    response = client.post(
        SIGNIN, {"action": "signin", "username": "member", "password": "Wrong#Pass1", "email": "m@example.org"}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Incorrect user name or password." in html
    assert 'value="member"' in html and 'value="m@example.org"' in html
    assert "Wrong#Pass1" not in html


@pytest.mark.django_db
def test_people_choose_their_notifications_in_their_settings(client, member):
    settings_url = reverse("accounts-settings")
    assert client.get(settings_url).status_code == 302  # signed out: to sign in
    client.force_login(member)
    page = client.get(settings_url).content.decode()
    assert 'name="notify_desktop"' in page and 'data-notify="0"' in page
    response = client.post(settings_url, {"notify_desktop": "on", "notify_sound": "on"}, follow=True)
    assert "Settings saved." in response.content.decode()
    member.profile.refresh_from_db()
    assert (member.profile.notify_desktop, member.profile.notify_sound) == (True, True)
    assert 'data-notify="1" data-notify-sound="1"' in response.content.decode()
    client.post(settings_url, {})
    member.profile.refresh_from_db()
    assert (member.profile.notify_desktop, member.profile.notify_sound) == (False, False)
