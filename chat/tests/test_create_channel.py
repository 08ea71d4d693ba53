"""manage.py create_channel."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class

from chat.models import Channel, ChannelType, Membership, Mode, Privacy, Role, SubChannel


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_channel", *args, stdout=out)
    return out.getvalue()


def members(channel: Channel) -> dict[str, str]:
    return dict(Membership.objects.filter(channel=channel).values_list("user__username", "role"))


def test_help_lists_every_option():
    text = load_command_class("chat", "create_channel").create_parser("manage.py", "create_channel").format_help()
    for option in ("--privacy", "--mode", "--type", "--moderator", "--members", "--maximum-subchannels"):
        assert option in text


@pytest.mark.django_db
def test_a_private_unrestricted_channel_with_a_moderator_and_members(make_user):
    for name in ("ann", "bob", "cid"):
        make_user(name)
    output = run(
        "Knitting", "--privacy", "private", "--mode", "unrestricted", "--moderator", "Ann", "--members", "bob, cid,ann"
    )
    channel = Channel.objects.get(name="Knitting")
    assert (channel.privacy, channel.mode, channel.channel_type) == (Privacy.PRIVATE, Mode.UNRESTRICTED, "standard")
    assert members(channel) == {"ann": Role.MODERATOR, "bob": Role.MEMBER, "cid": Role.MEMBER}
    assert f"Created private unrestricted standard channel 'Knitting' (id {channel.pk})" in output
    assert "with 2 other member(s)" in output


@pytest.mark.django_db
def test_an_elastic_public_channel_moderated_by_the_first_administrator(admin_user, make_user):
    make_user("ann")
    run("Big room", "--privacy", "public", "--type", "elastic", "--target-memberships", "10", "--members", "ann")
    channel = Channel.objects.get(name="Big room")
    assert (channel.channel_type, channel.maximum_subchannels, channel.target_memberships_per_subchannel) == (
        ChannelType.ELASTIC,
        2,
        10,
    )
    assert members(channel) == {"admin": Role.MODERATOR, "ann": Role.MEMBER}
    assert SubChannel.objects.filter(channel=channel).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["X", "--privacy", "public", "--mode", "unrestricted", "--moderator", "ann"], "Only private standard"),
        (["X", "--privacy", "private", "--moderator", "ghost"], "No account is called: ghost"),
        (["X", "--privacy", "private", "--moderator", "ann", "--members", "bob,nobody"], "nobody"),
        (["X", "--privacy", "private", "--moderator", "ann", "--members", "waiting"], "Not an active account"),
        (["X", "--privacy", "private", "--moderator", "waiting"], "Only active members create channels"),
        (["X", "--privacy", "private"], "no administrator yet"),
        (["X", "--privacy", "private", "--moderator", "ann", "--maximum-subchannels", "3"], "--type elastic"),
        (["Existing", "--privacy", "public", "--moderator", "ann"], "exists already"),
    ],
)
def test_errors_are_clear_fail_the_command_and_leave_nothing(make_user, make_channel, args, message):
    ann, _ = make_user("ann"), make_user("bob")
    make_user("waiting", is_active=False)
    make_channel(ann, name="Existing")
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert list(Channel.objects.values_list("name", flat=True)) == ["Existing"]


def test_privacy_is_required():
    with pytest.raises(CommandError, match="--privacy"):
        run("X")
