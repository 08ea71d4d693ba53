"""Real-time test helpers."""

import pytest


async def forget_every_group(layer) -> None:
    """What a Redis restart does to the channel layer: every group membership is gone."""
    if isinstance(getattr(layer, "groups", None), dict):
        layer.groups.clear()  # the in-memory layer (its flush would also orphan the hub's pending receive)
    else:
        await layer.flush()


@pytest.fixture
def forget_groups():
    return forget_every_group
