"""The frames a socket's deliveries are written as, and the hub's fast path into them."""

import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from chat.realtime.delivery import text_frame, wire_frame


def parsed(data: bytes) -> Frame:
    """`data` read by an independent implementation (websockets), as a client reads a server's frame."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("incomplete frame")
    assert reader.at_eof(), "bytes left after the frame"
    return frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 4000, 65535, 65536, 70000])
def test_a_text_frame_is_read_back_whole_by_another_implementation(size):
    text = ("é" * size)[: max(0, size - 2)] + "x" * min(size, 2)  # UTF-8 longer than the text
    frame = parsed(text_frame(text))
    assert (frame.opcode, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (Opcode.TEXT, True, False, False, False)
    assert frame.data.decode() == text


def test_a_message_is_encoded_once_for_every_recipient():
    message = {"type": "stream.event", "text": json.dumps({"type": "message.created", "seq": 1})}
    first = wire_frame(message)
    assert wire_frame(message) is first
    assert parsed(first).data.decode() == message["text"]
