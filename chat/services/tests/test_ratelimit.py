import time

import pytest

from chat.services.ratelimit import RedisTokenBucket, TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_burst_then_steady_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=20, clock=clock)
    assert [bucket.take("u") for _ in range(20)] == [0.0] * 20
    assert 0 < bucket.take("u") <= 0.1
    clock.now += 0.1
    assert bucket.take("u") == 0.0
    assert bucket.take("u") > 0


def test_keys_are_independent_and_refill_caps_at_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    assert [bucket.take("a") == 0 for _ in range(3)] == [True, True, False]
    assert bucket.take("b") == 0
    clock.now += 3600
    assert [bucket.take("a") == 0 for _ in range(3)] == [True, True, False]


def test_memory_stays_bounded():
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=1, clock=clock)
    for key in range(100_001):
        bucket.take(key)
        clock.now += 0.02
    assert len(bucket._buckets) < 100


@pytest.fixture
def redis_bucket(redis_url):
    prefix = f"test:rate:{time.monotonic_ns()}"

    def make(rate: float, burst: int) -> RedisTokenBucket:
        return RedisTokenBucket(redis_url, rate=rate, burst=burst, prefix=prefix)

    return make


def test_in_redis_every_worker_draws_on_the_same_bucket(redis_bucket):
    one, two = redis_bucket(rate=0.5, burst=3), redis_bucket(rate=0.5, burst=3)
    assert [one.take(7), two.take(7), one.take(7)] == [0.0, 0.0, 0.0]
    wait = two.take(7)
    assert 1.9 < wait <= 2.0  # one token every 2 s
    assert one.take(8) == 0.0  # another person's bucket is full


def test_in_redis_the_bucket_refills_and_expires_once_full(redis_bucket, redis_url):
    import redis

    bucket = redis_bucket(rate=20, burst=1)
    assert bucket.take("u") == 0.0
    assert bucket.take("u") > 0
    time.sleep(0.06)
    assert bucket.take("u") == 0.0
    ttl = redis.Redis.from_url(redis_url).pttl(f"{bucket.prefix}:u")
    assert 0 < ttl <= 1050  # refilled after 50 ms, gone a second after that


def test_with_redis_down_the_process_limiter_takes_over_and_says_so_once(caplog):
    from tests.rig.servers import free_port

    bucket = RedisTokenBucket(f"redis://127.0.0.1:{free_port()}/0", rate=0.01, burst=3)
    started = time.monotonic()
    assert [bucket.take(7), bucket.take(7), bucket.take(7)] == [0.0, 0.0, 0.0]
    assert bucket.take(7) > 0  # still limited, by this process alone
    assert bucket.take(8) == 0.0
    assert time.monotonic() - started < 2  # no long retries against a Redis that is not there
    assert caplog.text.count("event=rate_limit_fallback") == 1


def test_the_limiter_goes_back_to_redis_when_it_returns(redis_url, monkeypatch, caplog):
    from chat.services import redis_health

    monkeypatch.setattr(redis_health, "RETRY_SECONDS", 0.0)
    bucket = RedisTokenBucket(redis_url, rate=0.01, burst=1, prefix=f"test:rate:{time.monotonic_ns()}")
    real_take = bucket._take
    bucket._take = lambda **kwargs: (_ for _ in ()).throw(ConnectionError("down"))
    assert bucket.take(1) == 0.0  # the local bucket
    bucket._take = real_take
    assert bucket.take(1) == 0.0  # Redis's bucket, still full
    assert bucket.take(1) > 0
    assert "event=rate_limit_restored" in caplog.text
