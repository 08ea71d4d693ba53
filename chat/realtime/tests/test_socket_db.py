"""Sockets keep their database connection; other work closes its own after each call."""

import pytest
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.db.backends.signals import connection_created

from chat.realtime import socket_db
from hobbies.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opened():
    count: list[int] = []

    def record(sender, connection, **kwargs):
        count.append(1)

    connection_created.connect(record, weak=False)
    yield count
    connection_created.disconnect(record)


def query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@pytest.mark.parametrize(("socket_work", "connections_opened"), [(True, 1), (False, 3)])
async def test_socket_work_reuses_one_connection(opened, socket_work, connections_opened):
    await database_sync_to_async(connections.close_all)()  # start clean in the shared thread
    token = socket_db.socket_work.set(socket_work)
    try:
        for _ in range(3):
            await database_sync_to_async(query)()
    finally:
        socket_db.socket_work.reset(token)
        await database_sync_to_async(connections.close_all)()
    assert len(opened) == connections_opened


def test_the_websocket_stack_is_marked_as_socket_work():
    assert isinstance(application.application_mapping["websocket"], socket_db.SocketDatabaseMiddleware)
