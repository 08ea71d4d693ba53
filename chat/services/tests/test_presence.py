import time

import pytest

from chat.services.presence import AWAY, OFFLINE, ONLINE, LocalPresenceStore, Presence, RedisPresenceStore


class FakeClock:
    now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


@pytest.fixture(params=["local", "redis"])
def make_store(request):
    """A store whose statuses live `status_ttl` seconds, and a way to let time pass."""
    clock = FakeClock()

    def make(status_ttl: float):
        if request.param == "local":
            return LocalPresenceStore(timeout=60, status_ttl=status_ttl, clock=clock), clock.advance
        store = RedisPresenceStore(
            request.getfixturevalue("redis_url"), timeout=60, status_ttl=status_ttl, prefix=f"test:{request.node.name}"
        )
        store.redis.flushdb()
        return store, time.sleep

    return make


def test_a_status_is_forgotten_once_its_time_is_up(make_store):
    store, wait = make_store(status_ttl=0.5)
    store.connect(1, "tab")
    store.set_status(1, Presence(AWAY, "Working from home"))
    store.set_status(2, Presence(AWAY, "Gone fishing"))
    assert store.get_many([1])[1] == Presence(AWAY, "Working from home")
    wait(0.7)
    assert store.get_many([2])[2] == Presence(OFFLINE, "")


def test_the_local_store_does_not_keep_people_long_gone():
    clock = FakeClock()
    store = LocalPresenceStore(timeout=60, status_ttl=600, clock=clock)
    for user_id in range(1000):
        store.connect(user_id, f"tab-{user_id}")  # a crashed worker never says they left
        store.set_status(user_id, Presence(AWAY, "brb"))
    clock.now += 3600
    store.connect(5000, "fresh")
    store.set_status(5000, Presence(ONLINE, "here"))
    assert len(store._connections) == 1
    assert len(store._status) == 1


@pytest.mark.parametrize("text", ["\ud800 brb", "a\udfff"])
def test_a_status_text_that_is_not_unicode_is_refused(store, text):
    from chat.exceptions import InvalidRequest

    store.connect(1, "tab")
    with pytest.raises(InvalidRequest):
        store.set_status(1, Presence(AWAY, text))
    assert store.get_many([1])[1] == Presence(ONLINE, "")


def test_redis_down_costs_presence_but_nothing_else(caplog):
    from tests.rig.servers import free_port

    store = RedisPresenceStore(f"redis://127.0.0.1:{free_port()}/0", timeout=60)
    started = time.monotonic()
    assert store.connect(1, "tab") is False  # not known to be new: nobody is told
    store.heartbeat(1, "tab")
    store.set_status(1, Presence(AWAY, "brb"))
    assert store.get_many([1, 2]) == {1: Presence(OFFLINE), 2: Presence(OFFLINE)}
    assert store.disconnect(1, "tab") is False
    assert time.monotonic() - started < 2
    assert caplog.text.count("event=presence_fallback") == 1


def test_a_text_stored_before_it_was_refused_is_not_handed_out(store):
    """Kept by an older version: the page and the presence frames must still be able to encode it."""
    store.connect(1, "tab")
    if isinstance(store, LocalPresenceStore):
        store._status[1] = (Presence(AWAY, "\ud800 brb"), store.clock() + 60)
    else:
        store.redis.set(store._status_key(1), '["away", "\\ud800 brb"]')
    assert store.get_many([1])[1] == Presence(AWAY, "")


# Issue 15: presence follows the connections and their idleness, and the person's choice stays theirs.


def test_away_when_every_connection_is_idle_online_while_one_is_in_use(store):
    store.connect(1, "tab-a")
    store.connect(1, "tab-b")
    store.set_idle(1, "tab-a", True)
    assert store.get_many([1])[1].status == ONLINE
    store.set_idle(1, "tab-b", True)
    assert store.get_many([1])[1].status == AWAY
    store.heartbeat(1, "tab-b", idle=False)  # a heartbeat carries the tab's state
    assert store.get_many([1])[1].status == ONLINE
    store.disconnect(1, "tab-b")
    assert store.get_many([1])[1].status == AWAY  # what is left is idle
    store.connect(1, "tab-c")  # a new tab starts in use
    assert store.get_many([1])[1].status == ONLINE


def test_a_reload_keeps_a_person_online_and_their_text(store):
    store.connect(1, "old-tab")
    store.set_status(1, Presence(ONLINE, "Working from home"))
    store.connect(1, "new-tab")  # the reloaded page's socket may connect first
    store.disconnect(1, "old-tab")
    assert store.get_many([1])[1] == Presence(ONLINE, "Working from home")


def test_chosen_away_holds_while_in_use_and_own_status_is_the_choice(store):
    store.connect(1, "tab")
    store.set_status(1, Presence(AWAY, "At the club"))
    assert store.get_many([1])[1] == Presence(AWAY, "At the club")
    store.disconnect(1, "tab")
    assert store.get_many([1])[1] == Presence(OFFLINE, "At the club")
    assert store.own_status(1) == Presence(AWAY, "At the club")  # what the person's form shows
    assert store.own_status(2) == Presence(ONLINE, "")
