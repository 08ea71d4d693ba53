import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from hobbies.accounts.models import Approval, User

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.mark.django_db
def test_pending_filter_lists_only_pending_registrations(client, admin_user, make_user):
    make_user("waiting", approval=Approval.PENDING)
    client.force_login(admin_user)
    response = client.get(CHANGELIST, {"approval": "pending"})
    html = response.content.decode()
    assert "Pending approval" in html
    assert list(response.context["cl"].queryset) == [User.objects.get(username="waiting")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "approval", "active"),
    [("approve_registrations", Approval.ACTIVATED, True), ("reject_registrations", Approval.REJECTED, False)],
)
def test_bulk_actions_go_through_the_services(client, admin_user, make_user, action, approval, active):
    users = [make_user(f"p{i}", approval=Approval.PENDING) for i in range(3)]
    client.force_login(admin_user)
    response = client.post(CHANGELIST, {"action": action, "_selected_action": [u.pk for u in users]}, follow=True)
    assert response.status_code == 200
    assert set(User.objects.filter(pk__in=[u.pk for u in users]).values_list("approval", "is_active")) == {
        (approval, active)
    }


@pytest.mark.django_db
def test_members_cannot_reach_the_admin(client, member):
    client.force_login(member)
    assert client.get(CHANGELIST).status_code == 302


# Roles in the admin (issue: moderation in Django admin)


@pytest.mark.django_db
def test_administrators_see_the_pending_count_linking_to_the_filtered_list(client, make_administrator, make_user):
    for name in ("p1", "p2"):
        make_user(name, approval=Approval.PENDING)
    client.force_login(make_administrator())
    html = client.get(reverse("admin:index")).content.decode()
    assert f'href="{CHANGELIST}?approval=pending" data-testid="pending-approvals">2 pending approvals</a>' in html
    assert "css/moderation.css" in html


@pytest.mark.django_db
def test_a_community_administrator_approves_registrations(client, make_administrator, make_user):
    waiting = make_user("waiting", approval=Approval.PENDING)
    client.force_login(make_administrator())
    client.post(CHANGELIST, {"action": "approve_registrations", "_selected_action": [waiting.pk]})
    waiting.refresh_from_db()
    assert (waiting.approval, waiting.is_active) == (Approval.ACTIVATED, True)
    assert LogEntry.objects.filter(object_id=str(waiting.pk), change_message="Approved the registration.").exists()


@pytest.mark.django_db
def test_plain_staff_sees_an_empty_admin(client, make_user):
    client.force_login(make_user("staffer", is_staff=True))
    assert client.get(reverse("admin:index")).context["app_list"] == []
    assert client.get(CHANGELIST).status_code == 403


@pytest.mark.django_db
def test_an_administrator_changes_only_the_active_state_and_through_the_service(client, make_administrator, make_user):
    bob = make_user("bob")
    client.force_login(make_administrator())
    page = client.get(reverse("admin:accounts_user_change", args=[bob.pk]))
    assert list(page.context["adminform"].form.fields) == ["is_active"]
    client.post(
        reverse("admin:accounts_user_change", args=[bob.pk]),
        {"is_active": "", "is_superuser": "on", "username": "hijacked"},
    )
    bob.refresh_from_db()
    assert (bob.is_active, bob.is_superuser, bob.username) == (False, False, "bob")


@pytest.mark.django_db
def test_an_administrator_cannot_deactivate_another(client, make_administrator):
    other = make_administrator("other")
    client.force_login(make_administrator())
    response = client.post(reverse("admin:accounts_user_change", args=[other.pk]), {"is_active": ""})
    assert "You cannot change whether other is active." in response.content.decode()
    other.refresh_from_db()
    assert other.is_active


@pytest.mark.django_db
def test_only_superusers_make_administrators(client, admin_user, make_administrator, make_user):
    bob = make_user("bob")
    client.force_login(make_administrator())
    assert "make_administrators" not in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "make_administrators", "_selected_action": [bob.pk]})
    bob.refresh_from_db()
    assert not bob.is_community_administrator
    client.force_login(admin_user)
    client.post(CHANGELIST, {"action": "make_administrators", "_selected_action": [bob.pk]})
    bob = User.objects.get(pk=bob.pk)
    assert bob.is_community_administrator and bob.is_staff
    response = client.get(CHANGELIST, {"role": "administrator"})
    assert {user.username for user in response.context["cl"].result_list} == {"admin", "administrator", "bob"}


@pytest.mark.django_db
def test_user_list_queries_do_not_grow_with_rows(client, make_administrator, make_user, django_assert_max_num_queries):
    client.force_login(make_administrator())
    with django_assert_max_num_queries(12) as few:
        client.get(CHANGELIST)
    for number in range(20):
        make_user(f"u{number}")
    with django_assert_max_num_queries(len(few)):
        client.get(CHANGELIST)


@pytest.mark.django_db
def test_administrators_cannot_set_passwords(client, make_administrator, admin_user):
    client.force_login(make_administrator())
    url = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    assert client.post(url, {"password1": "Taken#Over1", "password2": "Taken#Over1"}).status_code == 403
    admin_user.refresh_from_db()
    assert not admin_user.check_password("Taken#Over1")
