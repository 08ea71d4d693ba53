import pytest
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
