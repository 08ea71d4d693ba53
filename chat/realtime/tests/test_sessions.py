"""An open socket ends with 4401 when its session ends: sign-out, deactivation, a deleted session."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from chat.realtime import consumers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@sync_to_async
def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_key(client: Client) -> str:
    from django.conf import settings

    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_socket(user, client: Client | None = None):
    from importlib import import_module

    from django.conf import settings

    communicator = WebsocketCommunicator(consumers.ChatConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    if client is not None:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key(client))
        communicator.scope["session"] = store
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def closed_with(communicator, timeout=2.0) -> int | None:
    """The close code the socket gets within `timeout` seconds (frames before it are skipped)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            output = await communicator.receive_output(timeout=left)
        except TimeoutError:
            return None
        if output["type"] == "websocket.close":
            return output.get("code")
    return None


async def still_open(communicator) -> bool:
    await communicator.send_json_to({"type": "ping", "id": "open?"})
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return False
        if '"pong"' in output.get("text", ""):
            return True


async def test_signing_out_closes_the_sockets_of_that_session_only(member):
    here, elsewhere = await signed_in(member), await signed_in(member)
    signed_out_socket = await open_socket(member, here)
    other_socket = await open_socket(member, elsewhere)
    response = await sync_to_async(here.post)("/signout/")
    assert response.status_code == 302
    assert await closed_with(signed_out_socket) == 4401
    assert await still_open(other_socket)
    await other_socket.disconnect()


async def test_deactivating_a_person_closes_all_their_sockets(member):
    sockets = [await open_socket(member, await signed_in(member)), await open_socket(member)]
    member.is_active = False
    await sync_to_async(member.save)()
    assert [await closed_with(socket) for socket in sockets] == [4401, 4401]


async def test_rejecting_a_registration_closes_its_sockets(make_user, admin_user):
    from hobbies.accounts.models import Approval
    from hobbies.accounts.services import reject_users

    pending = await sync_to_async(make_user)("pending", approval=Approval.PENDING)
    socket = await open_socket(pending)  # (a pending account cannot sign in; the consumer is handed one anyway)
    await sync_to_async(reject_users)(actor=admin_user, users=[pending])
    assert await closed_with(socket) == 4401


async def test_deleting_the_session_closes_its_sockets(member):
    client = await signed_in(member)
    socket = await open_socket(member, client)
    await sync_to_async(Session.objects.filter(session_key=session_key(client)).delete)()
    assert await closed_with(socket) == 4401


async def test_a_session_ended_without_a_signal_is_noticed_by_the_periodic_check(member, settings):
    settings.WS_SESSION_CHECK_SECONDS = 0.3
    client = await signed_in(member)
    socket = await open_socket(member, client)
    other = await open_socket(member, await signed_in(member))
    expired = timezone.now() - timezone.timedelta(seconds=1)
    # A bulk update sends no signal (nor would a sign-out while Redis was down reach every worker).
    await sync_to_async(Session.objects.filter(session_key=session_key(client)).update)(expire_date=expired)
    assert await closed_with(socket) == 4401
    assert await still_open(other)
    await other.disconnect()


async def test_a_closed_socket_answers_nothing_more(member):
    client = await signed_in(member)
    socket = await open_socket(member, client)
    await sync_to_async(client.post)("/signout/")
    assert await closed_with(socket) == 4401
    await socket.send_json_to({"type": "ping", "id": "late"})
    assert await socket.receive_nothing(timeout=0.3)


async def test_deactivating_an_account_in_the_admin_closes_its_sockets(member, admin_user):
    from hobbies.accounts.services import set_active

    socket = await open_socket(member, await signed_in(member))
    assert await sync_to_async(set_active)(actor=admin_user, user=member, active=False)
    assert await closed_with(socket) == 4401


# Signing a socket in: one database call for the session, the person and their streams


def session_store(client: Client):
    from importlib import import_module

    from django.conf import settings

    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key(client))


def test_signing_in_reads_the_session_the_person_and_their_streams_in_one_go(
    member, make_channel, django_assert_num_queries
):
    from chat.realtime import sessions

    channel = make_channel(member)
    client = Client()
    client.force_login(member)
    # The session, the person, their memberships, their moderator seats, their streams' seqs.
    with django_assert_num_queries(5):
        user, expiry, (keys, seqs) = sessions.sign_in({"session": session_store(client)})
    assert user == member
    assert expiry is None  # signed in with a password
    assert keys == [str(channel.pk)]
    assert seqs == {str(channel.pk): 0}


def test_signing_in_without_a_session_reads_no_streams():
    from django.contrib.sessions.backends.db import SessionStore

    from chat.realtime import sessions

    user, expiry, streams = sessions.sign_in({"session": SessionStore()})
    assert not user.is_authenticated
    assert (expiry, streams) == (None, None)


async def test_a_socket_connects_with_one_database_call(member, make_channel, monkeypatch):
    """Through the whole WebSocket stack (hobbies/asgi.py): the sign-in's one call, and nothing more
    once this process follows the person's streams (the first socket of a stream reads its seq again)."""
    from channels.db import DatabaseSyncToAsync

    from hobbies.asgi import application

    await sync_to_async(make_channel)(member)
    client = await signed_in(member)
    calls = []
    real_call = DatabaseSyncToAsync.__call__

    def counted(self, *args, **kwargs):
        calls.append(getattr(self.func, "__name__", repr(self.func)))
        return real_call(self, *args, **kwargs)

    async def open_through_the_stack():
        communicator = WebsocketCommunicator(
            application,
            "/ws/",
            headers=[(b"origin", b"http://localhost"), (b"cookie", f"sessionid={session_key(client)}".encode())],
        )
        connected, _ = await communicator.connect()
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "hello"
        return communicator, hello

    first, _ = await open_through_the_stack()
    monkeypatch.setattr(DatabaseSyncToAsync, "__call__", counted)
    second, hello = await open_through_the_stack()
    monkeypatch.undo()
    assert calls == ["sign_in"]
    assert hello["user"]["id"] == member.pk
    assert len(hello["streams"]) == 1
    await first.disconnect()
    await second.disconnect()


def test_a_connection_gone_before_its_turn_reads_nothing(member, django_assert_num_queries):
    from chat.realtime import sessions

    client = Client()
    client.force_login(member)
    with django_assert_num_queries(0):
        assert sessions.sign_in({"session": session_store(client)}, gone=lambda: True) is None
