import pytest

from chat.services.presence import AWAY, OFFLINE, ONLINE, LocalPresenceStore, Presence, RedisPresenceStore


class FakeClock:
    now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["local", "redis"])
def store(request):
    if request.param == "local":
        return LocalPresenceStore(timeout=60, clock=FakeClock())
    redis_url = request.getfixturevalue("redis_url")
    store = RedisPresenceStore(redis_url, timeout=60, prefix=f"test:{request.node.name}")
    store.redis.flushdb()
    return store


def test_online_while_any_connection_lives(store):
    assert store.connect(1, "tab-a") is True
    assert store.connect(1, "tab-b") is False
    assert store.get_many([1, 2]) == {1: Presence(ONLINE), 2: Presence(OFFLINE)}
    assert store.disconnect(1, "tab-a") is False
    assert store.get_many([1])[1].status == ONLINE
    assert store.disconnect(1, "tab-b") is True
    assert store.get_many([1])[1].status == OFFLINE


def test_status_text_and_away_survive_reconnects(store):
    store.connect(1, "tab")
    store.set_status(1, Presence(AWAY, "Working from home"))
    assert store.get_many([1])[1] == Presence(AWAY, "Working from home")
    store.disconnect(1, "tab")
    assert store.get_many([1])[1] == Presence(OFFLINE, "Working from home")
    store.connect(1, "tab2")
    assert store.get_many([1])[1] == Presence(AWAY, "Working from home")


def test_a_silent_connection_expires():
    clock = FakeClock()
    store = LocalPresenceStore(timeout=60, clock=clock)
    store.connect(1, "crashed-worker")
    store.connect(2, "alive")
    clock.now += 45
    store.heartbeat(2, "alive")
    clock.now += 30
    assert store.get_many([1, 2]) == {1: Presence(OFFLINE), 2: Presence(ONLINE)}
    assert store.connect(1, "new") is True
