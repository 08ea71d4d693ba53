from chat.ratelimit import TokenBucket


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_burst_then_steady_rate():
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=20, clock=clock)
    assert all(bucket.allow("u") for _ in range(20))
    assert not bucket.allow("u")
    assert 0 < bucket.retry_after("u") <= 0.1
    clock.now += 0.1
    assert bucket.allow("u")
    assert not bucket.allow("u")


def test_keys_are_independent_and_refill_caps_at_burst():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    assert bucket.allow("a")
    assert bucket.allow("a")
    assert not bucket.allow("a")
    assert bucket.allow("b")
    clock.now += 3600
    assert [bucket.allow("a") for _ in range(3)] == [True, True, False]


def test_memory_stays_bounded():
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=1, clock=clock)
    for key in range(100_001):
        bucket.allow(key)
        clock.now += 0.02
    assert len(bucket._buckets) < 100
