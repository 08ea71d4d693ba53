"""chat/backends/chime/client.py: one client per service and process, standard retries, and
endpoints from botocore's own per-service environment variables (never passed in code)."""

from __future__ import annotations

import pytest

from chat.backends.chime import client
from tests.rig.chime import STREAM_ARN


@pytest.fixture(autouse=True)
def _fresh_clients(aws_env):
    client.reset_clients()
    yield
    client.reset_clients()


def test_clients_are_built_once_with_standard_retries():
    messaging = client.messaging()
    assert client.messaging() is messaging
    assert client.identity() is not messaging
    assert messaging.meta.config.retries["mode"] == "standard"
    assert messaging.meta.region_name == "us-east-1"


def test_per_service_endpoints_come_from_the_environment(monkeypatch, settings):
    monkeypatch.setenv("AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING", "http://127.0.0.1:9101")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY", "http://127.0.0.1:9102")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:9103")
    settings.CHIME_EVENT_STREAM_ARN = STREAM_ARN.replace("us-east-1", "eu-central-1")
    assert client.messaging().meta.endpoint_url == "http://127.0.0.1:9101"
    assert client.identity().meta.endpoint_url == "http://127.0.0.1:9102"
    assert client.kinesis().meta.endpoint_url == "http://127.0.0.1:9103"
    assert client.kinesis().meta.region_name == "eu-central-1"  # the stream's own region


def test_without_overrides_the_real_endpoints_are_used(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING"):
        monkeypatch.delenv(name, raising=False)
    assert client.messaging().meta.endpoint_url == "https://messaging-chime.us-east-1.amazonaws.com"
