"""hobbies/metrics/http.py: HTTP requests counted and timed by view, never by path."""

from __future__ import annotations

from prometheus_client import REGISTRY


def requests(view: str, method: str, status: str) -> float:
    return (
        REGISTRY.get_sample_value("hobbies_http_requests_total", {"view": view, "method": method, "status": status})
        or 0
    )


def latency_count(view: str) -> float:
    return REGISTRY.get_sample_value("hobbies_http_request_duration_seconds_count", {"view": view}) or 0


def test_requests_are_counted_by_view_name_method_and_status(client, db):
    before = requests("accounts-signin", "GET", "200"), latency_count("accounts-signin")
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    assert requests("accounts-signin", "GET", "200") - before[0] == 2
    assert latency_count("accounts-signin") - before[1] == 2


def test_paths_that_match_nothing_share_one_label(client, db):
    before = requests("unmatched", "GET", "404")
    client.get("/no-such-page-1/")
    client.get("/no-such-page-2/")
    assert requests("unmatched", "GET", "404") - before == 2
    assert "/no-such-page-1/" not in str(REGISTRY.get_sample_value("hobbies_http_requests_total"))


def test_unusual_methods_share_one_label(client, db):
    before = requests("unmatched", "other", "404")
    client.generic("PROPFIND", "/nothing/")
    assert requests("unmatched", "other", "404") - before == 1
