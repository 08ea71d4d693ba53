"""The Redis channel layer as configured in settings, against a real redis-server."""

import asyncio

from channels_redis.core import RedisChannelLayer

from hobbies.settings import redis_channel_layer


async def test_a_receive_waits_longer_than_redis_pys_default_socket_timeout(redis_url):
    layer = RedisChannelLayer(**redis_channel_layer(redis_url)["CONFIG"])
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(6)  # past redis-py 8's 5 s default read timeout
    assert not receiving.done() or receiving.exception() is None
    await layer.send(channel, {"type": "still.alive"})
    assert (await asyncio.wait_for(receiving, timeout=5))["type"] == "still.alive"
    await layer.flush()


async def test_the_first_command_after_a_redis_restart_succeeds():
    """A pooled connection the restart closed is opened again and the command retried once, so the
    first publications after a restart are not lost."""
    from tests.rig.components import require_binary
    from tests.rig.databases import RedisServer

    require_binary("redis-server")
    server = RedisServer().start()
    try:
        layer = RedisChannelLayer(**redis_channel_layer(server.url)["CONFIG"])
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "before"})
        assert (await layer.receive(channel))["type"] == "before"
        server.stop()
        server.start()
        await layer.group_add("g", channel)  # on the connection the restart closed
        await layer.group_send("g", {"type": "after"})
        assert (await asyncio.wait_for(layer.receive(channel), timeout=5))["type"] == "after"
        await layer.flush()
    finally:
        server.stop()
