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
