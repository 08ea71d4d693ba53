"""hobbies/metrics/emf.py: the lines CloudWatch Logs turns into metrics (embedded metric format)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from hobbies.metrics import emf, latency, names

UNITS = {"Count", "Milliseconds", "Seconds", "Microseconds", "Bytes", "Percent", "Count/Second", "None"}
# The document structure of the format's specification: a metadata object with a timestamp in
# milliseconds and metric directives (namespace, dimension sets of at most 9 keys, metrics).
SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 255},
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "array", "maxItems": 9, "items": {"type": "string", "minLength": 1}},
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 255},
                                        "Unit": {"enum": sorted(UNITS)},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def check_emf(line: dict, namespace: str = "HobbiesCommunity") -> dict[str, object]:
    """Validate one document as CloudWatch does, and return its metrics (name -> value)."""
    jsonschema.validate(line, SCHEMA)
    found = {}
    for directive in line["_aws"]["CloudWatchMetrics"]:
        assert directive["Namespace"] == namespace
        for dimension_set in directive["Dimensions"]:
            assert dimension_set == []  # nothing billed per value: channels, views and codes are properties
        for metric in directive["Metrics"]:
            name = metric["Name"]
            assert name in names.CLOUDWATCH, name
            assert metric["Unit"] == names.CLOUDWATCH[name].unit
            value = line[name]  # a target member on the root node, not nested
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100
            assert all(isinstance(item, int | float) and not isinstance(item, bool) for item in values)
            found[name] = value
    return found


def filled_batch() -> emf.Batch:
    batch = emf.Batch()
    batch.published(12)
    batch.published(12)
    batch.published(14)
    batch.error("rate_limited", 12)
    batch.error("bad_json")
    deliveries = latency.empty(names.LATENCY_BOUNDS)
    for value in [0.004] * 500 + [0.2] * 10:
        latency.record(deliveries, names.LATENCY_BOUNDS, value)
    batch.add_deliveries({12: deliveries}, names.LATENCY_BOUNDS)
    batch.signed_in("password")
    batch.signed_in("oidc")
    batch.http_request("chat-conversation", 200, 0.03)
    batch.http_request("chat-conversation", 500, 0.4)
    batch.relay_lag(1.5)
    return batch


def test_a_batch_makes_a_process_line_and_one_line_per_channel_all_valid():
    lines = emf.documents(filled_batch(), namespace="HobbiesCommunity", connections=3, timestamp_ms=1_700_000_000_000)
    process, *channels = lines
    figures = check_emf(process)
    assert figures["ActiveConnections"] == 3
    assert figures["SignIns"] == 2
    assert figures["MessageErrors"] == 1  # the one with no channel
    assert figures["HttpRequests"] == 2
    assert figures["RelayLag"] == [1500.0]
    assert len(figures["DeliveryLatency"]) == 100  # 510 deliveries, sent as 100 values shaped like them
    assert max(figures["DeliveryLatency"]) <= 250  # milliseconds
    assert process["sign_in_methods"] == {"password": 1, "oidc": 1}
    assert process["error_codes"] == {"bad_json": 1}
    assert process["views"]["chat-conversation"]["errors"] == 1
    assert process["deliveries"] == 510
    by_channel = {line["channel"]: (line, check_emf(line)) for line in channels}
    assert by_channel[12][1] == {"MessagesPublished": 2, "MessageErrors": 1}
    assert by_channel[12][0]["error_codes"] == {"rate_limited": 1}
    assert by_channel[12][0]["deliveries"] == 510
    assert by_channel[12][0]["delivery_latency"]["p99_ms"] > by_channel[12][0]["delivery_latency"]["p50_ms"]
    assert by_channel[14][1] == {"MessagesPublished": 1}
    assert {line["_aws"]["Timestamp"] for line in lines} == {1_700_000_000_000}


def test_a_quiet_process_writes_nothing_but_a_server_reports_its_sockets():
    assert emf.documents(emf.Batch(), namespace="N", connections=None) == []
    [line] = emf.documents(emf.Batch(), namespace="N", connections=0)
    assert check_emf(line, "N") == {"ActiveConnections": 0}


def test_taking_a_batch_empties_it():
    batch = filled_batch()
    taken = batch.take()
    assert taken.channels and not batch.channels
    assert latency.count(batch.deliveries) == 0


def test_many_relay_lags_are_sent_as_at_most_a_hundred_values():
    batch = emf.Batch()
    for index in range(5000):
        batch.relay_lag(index / 1000)
    [line] = emf.documents(batch, namespace="N", connections=None)
    assert 50 <= len(check_emf(line, "N")["RelayLag"]) <= 100


def test_the_emitter_writes_one_json_object_per_line():
    written: list[str] = []
    emitter = emf.Emitter(
        filled_batch(),
        namespace=lambda: "Hobbies/Test",
        interval=lambda: 60,
        connections=lambda: 1,
        write=written.append,
    )
    assert emitter.flush() == 3
    for line in written:
        assert "\n" not in line
        check_emf(json.loads(line), "Hobbies/Test")
    assert emitter.flush() == 1  # then only the process's sockets


def test_a_failing_writer_is_logged_not_raised(caplog):
    def broken(line):
        raise OSError("stdout closed")

    emitter = emf.Emitter(
        filled_batch(), namespace=lambda: "N", interval=lambda: 60, connections=lambda: 0, write=broken
    )
    assert emitter.flush() == 0
    assert "metrics_emf_failed" in caplog.text


@pytest.mark.parametrize("bad", [{"_aws": {"CloudWatchMetrics": []}}, {"_aws": {"Timestamp": 1}}])
def test_the_schema_refuses_documents_cloudwatch_would_refuse(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
