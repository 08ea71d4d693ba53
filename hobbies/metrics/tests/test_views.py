"""/metrics (hobbies/metrics/views.py): only with the bearer token or from an allowed address."""

from __future__ import annotations

import ipaddress

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "s3cret-token-for-the-scraper"


@pytest.fixture
def guarded(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []
    return settings


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "not-bearer", "longer", "empty"],
)
def test_metrics_are_refused_without_the_token(client, guarded, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hobbies_" not in response.content


def test_the_token_opens_them(client, guarded):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"hobbies_messages_published", "hobbies_delivery_latency_seconds", "hobbies_http_requests"} <= names


def test_no_token_configured_means_no_token_works(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.parametrize(
    ("networks", "address", "status"),
    [
        (["127.0.0.1"], "127.0.0.1", 200),
        (["10.0.0.0/8"], "10.1.2.3", 200),
        (["10.0.0.0/8"], "192.168.1.1", 401),
        (["::1"], "::1", 200),
        ([], "127.0.0.1", 401),
    ],
)
def test_allowed_addresses_need_no_token(client, settings, networks, address, status):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(network) for network in networks]
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == status


def test_only_get(client, guarded):
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_a_bad_allowed_address_stops_start_up():
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hobbies.settings", "METRICS_ALLOWED_IPS": "10.0.0.0/8,nope"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS" in result.stderr
