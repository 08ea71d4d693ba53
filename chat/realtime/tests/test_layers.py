import asyncio

import pytest
from channels_redis.core import RedisChannelLayer

from chat.realtime import hub, layers
from hobbies.settings import redis_channel_layer


async def test_delivers_like_the_stock_layer():
    layer = layers.InMemoryChannelLayer()
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", one)
    await layer.group_add("room", two)
    await layer.group_send("room", {"type": "hello", "text": "hi"})
    assert await layer.receive(one) == {"type": "hello", "text": "hi"}
    assert await layer.receive(two) == {"type": "hello", "text": "hi"}


async def test_expired_messages_still_go_but_the_scan_runs_at_most_once_a_second(monkeypatch):
    layer = layers.InMemoryChannelLayer(expiry=0)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "stale"})
    await asyncio.sleep(0.01)
    scans = []
    original = layers.StockInMemoryChannelLayer._clean_expired
    monkeypatch.setattr(
        layers.StockInMemoryChannelLayer, "_clean_expired", lambda self: scans.append(1) or original(self)
    )
    for _ in range(50):
        layer._clean_expired()
    assert len(scans) == 1
    assert channel not in layer.channels  # the expired message and its queue are gone


@pytest.mark.parametrize("layer_class", [layers.InMemoryChannelLayer, RedisChannelLayer])
async def test_hub_channels_get_their_configured_capacity(settings, layer_class):
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["channel_capacity"] == settings.HUB_CHANNEL_CAPACITY
    assert redis_channel_layer("redis://localhost")["CONFIG"]["channel_capacity"] == settings.HUB_CHANNEL_CAPACITY
    layer = layer_class(channel_capacity=settings.HUB_CHANNEL_CAPACITY)
    hub_channel = await layer.new_channel(prefix=hub.CHANNEL_PREFIX)
    assert layer.get_capacity(hub_channel) == settings.HUB_CHANNEL_CAPACITY["hub.*"] == 10000
    assert layer.get_capacity(await layer.new_channel()) == 100


async def test_an_expired_message_unsubscribes_a_socket_channel_but_never_the_hub(monkeypatch):
    monkeypatch.setattr(layers, "CLEAN_EVERY_SECONDS", 0)
    layer = layers.InMemoryChannelLayer(expiry=0)
    socket_channel, hub_channel = await layer.new_channel(), await layer.new_channel(prefix=hub.CHANNEL_PREFIX)
    for channel in (socket_channel, hub_channel):
        await layer.group_add("room", channel)
        await layer.send(channel, {"type": "stale"})
    await asyncio.sleep(0.01)
    layer._clean_expired()
    assert list(layer.groups["room"]) == [hub_channel]
