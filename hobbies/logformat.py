"""LOG_FORMAT=json: one JSON object per log line, for CloudWatch Logs Insights.

The app's log messages are `event=... key=value ...` lines; each key=value becomes a field of its
own (whole numbers and decimals as numbers, quoted values unquoted), beside `time`, `level`,
`logger`, the whole `message` and, for an exception, its `traceback`. docs/operations.md has
queries that use them.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_PAIR = re.compile(r"""(?<!\S)([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S*)""")
_INT = re.compile(r"-?\d{1,18}")
_FLOAT = re.compile(r"-?\d+\.\d+(?:[eE]-?\d+)?")
RESERVED = frozenset({"time", "level", "logger", "message", "traceback"})
TEXT_FIELDS = frozenset({"stream", "user", "username", "path", "name"})  # "12.3" is a stream key, not a number


def fields(message: str) -> dict[str, object]:
    """The key=value pairs of a message, typed."""
    found: dict[str, object] = {}
    for key, raw in _PAIR.findall(message):
        if key in RESERVED or key in found:
            continue
        value: object = raw
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            value = raw[1:-1]
        elif key not in TEXT_FIELDS and _INT.fullmatch(raw):
            value = int(raw)
        elif key not in TEXT_FIELDS and _FLOAT.fullmatch(raw):
            value = float(raw)
        found[key] = value
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            **fields(message),
            "message": message,
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["traceback"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
