"""Fixtures of the management-command and relay tests in this folder."""

from __future__ import annotations

import pytest

from chat.backends.chime import client
from tests.rig.chime import CREDENTIALS_ENV
from tests.rig.kinesis import EventStream


@pytest.fixture
def stream(s3_server, chime_room, settings, monkeypatch) -> EventStream:
    """Chime's event stream: a Kinesis stream on moto's threaded server, named by the settings."""
    for name, value in CREDENTIALS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", s3_server.endpoint_url)
    events = EventStream(s3_server.endpoint_url)
    settings.CHIME_EVENT_STREAM_ARN = events.arn
    client.reset_clients()
    yield events
    client.reset_clients()
