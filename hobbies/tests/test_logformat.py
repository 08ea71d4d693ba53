"""hobbies/logformat.py and LOG_FORMAT: key=value lines by default, one JSON object per line on demand."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from hobbies.logformat import JsonFormatter, fields


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("chat.events", logging.WARNING, __file__, 1, message, args, exc_info)


def test_each_key_value_becomes_a_typed_field():
    line = json.loads(
        JsonFormatter().format(
            record(
                "event=message_refused user=%s channel=%s code=%s count=%d took=%.2f stream=%s",
                "ann",
                12,
                "rate_limited",
                3,
                1.5,
                "12.3",
            )
        )
    )
    assert line["event"] == "message_refused"
    assert line["user"] == "ann"
    assert line["channel"] == 12
    assert line["count"] == 3
    assert line["took"] == 1.5
    assert line["stream"] == "12.3"  # a stream key stays text
    assert line["level"] == "WARNING"
    assert line["logger"] == "chat.events"
    assert line["message"].startswith("event=message_refused")
    assert line["time"].endswith("+00:00")


def test_quoted_values_reserved_keys_and_exceptions():
    assert fields("error='a b' path=\"/x y\" level=debug") == {"error": "a b", "path": "/x y"}
    try:
        raise ValueError("boom")
    except ValueError:
        line = json.loads(JsonFormatter().format(record("event=frame_failed", exc_info=sys.exc_info())))
    assert line["level"] == "WARNING"
    assert "ValueError: boom" in line["traceback"]


def test_messages_without_pairs_keep_their_text():
    line = json.loads(JsonFormatter().format(record("AXES: BEGIN version 8.3.1")))
    assert line["message"] == "AXES: BEGIN version 8.3.1"


def log_one_line(**env) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup(); logging.getLogger('chat.test').warning('event=checked channel=%s', 4)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hobbies.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_log_format_json_writes_one_object_per_line():
    result = log_one_line(LOG_FORMAT="json", LOG_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert (lines[-1]["event"], lines[-1]["channel"], lines[-1]["logger"]) == ("checked", 4, "chat.test")


def test_the_default_stays_key_value():
    result = log_one_line(LOG_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    assert "level=WARNING logger=chat.test event=checked channel=4" in result.stderr


@pytest.mark.parametrize("value", ["xml", "JSON "])
def test_an_unknown_log_format_stops_start_up(value):
    result = log_one_line(LOG_FORMAT=value)
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr
