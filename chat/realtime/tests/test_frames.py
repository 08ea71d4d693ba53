"""Reading browser frames: size in UTF-8 bytes, nesting, text that is not Unicode."""

import json

import pytest

from chat.realtime.frames import FrameError, parse_frame


def refused(text: str) -> str:
    with pytest.raises(FrameError) as caught:
        parse_frame(text)
    return caught.value.code


def test_the_size_limit_counts_utf8_bytes_not_characters(settings):
    settings.WS_MAX_FRAME_BYTES = 16 * 1024
    envelope = json.dumps({"type": "ping", "id": ""}, ensure_ascii=False)
    # 8,192 two-byte characters: 16,384 bytes of them, 8,192 characters.
    text = envelope.replace('""', '"' + "é" * 8192 + '"')
    assert len(text) < 16 * 1024 < len(text.encode("utf-8"))
    assert refused(text) == "frame_too_large"
    fits = envelope.replace('""', '"' + "é" * 8000 + '"')
    assert parse_frame(fits)["type"] == "ping"


def test_a_deeply_nested_frame_is_bad_json_not_a_crash():
    assert refused("[" * 1200 + "]" * 1200) == "bad_json"
    assert refused('{"type": "ping", "id": ' + "[" * 5000 + "]" * 5000 + "}") == "bad_json"


def test_nesting_beyond_what_the_protocol_uses_is_refused():
    assert refused('{"type": "ping", "id": ' + "[" * 40 + "]" * 40 + "}") == "invalid"
    assert parse_frame('{"type": "message.send", "metadata": {"a": [{"b": [1]}]}}')["type"] == "message.send"


@pytest.mark.parametrize(
    "raw",
    [
        r'{"type": "presence.set", "status": "away", "text": "\ud800 brb"}',
        r'{"type": "message.send", "content": "a\udfffb"}',
        r'{"type": "message.send", "metadata": {"k\udc00": "v"}}',
        r'{"type": "message.send", "metadata": {"list": [1, {"deep": "\uDBFF"}]}}',
    ],
)
def test_text_that_is_not_unicode_is_refused_as_invalid(raw):
    assert refused(raw) == "invalid"


def test_real_surrogate_pairs_and_plain_escapes_are_fine():
    frame = parse_frame(r'{"type": "message.send", "content": "\ud83d\ude00 \u00e9 \\ud800"}')
    assert frame["content"] == "\U0001f600 é \\ud800"
