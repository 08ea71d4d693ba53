"""hobbies/server.py: request bodies capped where daphne reads them, and no Server banner.

Each test talks raw HTTP/1.1 to a real server process (tests/rig/servers.py LiveServer), so it
sees what a client sees: when the answer comes, before or after how much of the body.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from pathlib import Path

import pytest

from hobbies.server import LINGER_SECONDS
from tests.rig.servers import LiveServer

MIB = 1024 * 1024
# The embedded defaults (hobbies/settings.py): ATTACHMENTS_MAX_BYTES is 25 MiB.
REQUEST_MAX_BYTES = 4 * MIB
UPLOAD_REQUEST_MAX_BYTES = 26 * MIB
UPLOAD = "/attachments/1/upload/"
FAKE_SESSION = "sessionid=" + "x" * 32  # a cookie, not a session: the view still authenticates
# The loopback socket buffers between the client and the server hold a few MiB in flight.
IN_FLIGHT = 16 * MIB


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("server-limits")
    # Its own SQLite file and in-memory layer, even when the suite runs on PostgreSQL + Redis.
    env = {"DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}", "REDIS_URL": "", "LOG_LEVEL": "WARNING"}
    live = LiveServer(data_dir, env).start()
    yield live
    live.stop()


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def send_head(server: LiveServer, method: str, path: str, headers: dict[str, str]) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def answered(sock: socket.socket, wait: float = 0) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"the connection closed before a whole answer: {data!r}"
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return int(status_line.split()[1]), headers, body


def stream_chunked(sock: socket.socket, total: int, *, block: int = MIB) -> tuple[int, int | None]:
    """Send `total` bytes as chunks of `block`; return how much went out and how much had gone
    out when the first byte of an answer arrived (None: no answer while sending)."""
    piece = f"{block:x}\r\n".encode() + b"a" * block + b"\r\n"
    sent, answered_at = 0, None
    while sent < total:
        if answered_at is None and answered(sock):
            answered_at = sent
        try:
            sock.sendall(piece)
        except OSError:  # the server gave up on a refused body: the answer is already waiting
            break
        sent += block
    else:
        with contextlib.suppress(OSError):
            sock.sendall(b"0\r\n\r\n")
    if answered_at is None and answered(sock, 30):
        answered_at = sent
    return sent, answered_at


def test_an_anonymous_upload_is_refused_before_its_body_and_its_300_mib_cost_no_memory(server):
    pid = server.process.pid
    peak_before = memory_kib(pid, "VmHWM")
    sock = send_head(server, "POST", UPLOAD, {"Transfer-Encoding": "chunked", "Content-Type": "multipart/form-data"})
    with sock:
        assert answered(sock, 10), "no answer before the body was sent"
        status, headers, body = read_response(sock)
        assert status == 403
        assert headers["connection"] == "close"
        assert "sign in" in json.loads(body)["error"].lower()
        # A client that sends its body anyway: read and dropped, never kept.
        stream_chunked(sock, 300 * MIB)
    growth = memory_kib(pid, "VmHWM") - peak_before
    print(f"peak memory growth for an anonymous 300 MiB body: {growth} KiB")
    assert growth < 20 * 1024, f"the server grew by {growth} KiB"


def test_a_streamed_upload_is_refused_as_it_passes_the_cap_and_its_300_mib_cost_no_memory(server):
    pid = server.process.pid
    peak_before = memory_kib(pid, "VmHWM")
    headers = {"Transfer-Encoding": "chunked", "Cookie": FAKE_SESSION, "Content-Type": "multipart/form-data"}
    with send_head(server, "POST", UPLOAD, headers) as sock:
        sent, answered_at = stream_chunked(sock, 300 * MIB)
        status, _headers, body = read_response(sock)
    growth = memory_kib(pid, "VmHWM") - peak_before
    print(f"sent {sent} bytes, answered at {answered_at}; peak memory growth {growth} KiB")
    assert status == 413
    assert "too large" in json.loads(body)["error"]
    assert answered_at is not None
    assert UPLOAD_REQUEST_MAX_BYTES <= answered_at <= UPLOAD_REQUEST_MAX_BYTES + IN_FLIGHT
    assert growth < 20 * 1024, f"the server grew by {growth} KiB"


def test_a_refused_body_that_never_comes_does_not_hold_the_connection(server):
    with send_head(server, "POST", UPLOAD, {"Transfer-Encoding": "chunked"}) as sock:
        sock.sendall(b"100\r\n" + b"a" * 100)  # then silence, mid-chunk
        status, _headers, _body = read_response(sock)
        started = time.monotonic()
        assert answered(sock, LINGER_SECONDS + 5)
        assert sock.recv(1) == b"", "the server closed the connection"
    assert status == 403
    assert time.monotonic() - started < LINGER_SECONDS + 5


@pytest.mark.parametrize(
    ("path", "length", "cookie"),
    [("/", REQUEST_MAX_BYTES + 1, ""), (UPLOAD, UPLOAD_REQUEST_MAX_BYTES + 1, FAKE_SESSION)],
)
def test_a_declared_length_over_the_cap_is_refused_before_the_body(server, path, length, cookie):
    headers = {"Content-Length": str(length), "Expect": "100-continue", "Content-Type": "multipart/form-data"}
    if cookie:
        headers["Cookie"] = cookie
    with send_head(server, "POST", path, headers) as sock:
        assert answered(sock, 10), "no answer before the body was sent"
        status, headers, _body = read_response(sock)
    assert status == 413  # and no "100 Continue" first
    assert headers["connection"] == "close"


def test_a_streamed_body_over_the_general_cap_is_refused_as_it_passes_it(server):
    with send_head(server, "POST", "/", {"Transfer-Encoding": "chunked"}) as sock:
        _sent, answered_at = stream_chunked(sock, 64 * MIB)
        status, _headers, _body = read_response(sock)
    assert status == 413
    assert answered_at is not None
    assert REQUEST_MAX_BYTES <= answered_at <= REQUEST_MAX_BYTES + IN_FLIGHT


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_within_the_caps_reach_django(server, chunked):
    body = b"username=a&password=b" + b"&pad=" + b"p" * 200_000
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
    else:
        headers["Content-Length"] = str(len(body))
    with send_head(server, "POST", "/", headers) as sock:
        sock.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if chunked else body)
        status, _headers, page = read_response(sock)
    assert status == 403  # Django's CSRF check ran: the whole body reached the app
    assert b"CSRF" in page


def test_pages_and_sockets_carry_no_server_banner(server):
    with send_head(server, "GET", "/", {"Connection": "close"}) as sock:
        status, headers, _body = read_response(sock)
    assert status == 200
    assert "server" not in headers
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Origin": server.url,
    }
    with send_head(server, "GET", "/ws/", upgrade) as sock:
        status, headers, _body = read_response(sock)
    assert status == 101
    assert "server" not in headers


def test_deliveries_written_as_prepared_frames_reach_a_websocket_client_whole_and_in_order(server, tmp_path):
    """Deliveries go to the socket as frames encoded once per message (hobbies/server.py write_frame),
    between frames autobahn writes itself (hello, acks): an independent client (websockets) reads
    every one, in order, nothing missing or twice, short and long alike."""
    import asyncio
    import uuid

    from websockets.asyncio.client import connect

    from tests.rig.live_client import run_apart

    sessions_file = tmp_path / "sessions.json"
    server.manage("seed_demo", "--users", "3", "--fast-passwords", "--sessions", str(sessions_file))
    seeded = json.loads(sessions_file.read_text())
    channel, sessions = seeded["channels"]["public"], list(seeded["sessions"].values())
    # Two senders within the send rate's burst (20 each), so that nothing is refused.
    contents = [f"{number} " + "ü" * (number * 97 % 2000) for number in range(36)]  # up to 4 kB

    async def exchange():
        async def open_socket(session):
            socket = await connect(
                f"ws://127.0.0.1:{server.port}/ws/",
                origin=server.url,
                additional_headers={"Cookie": f"sessionid={session}"},
                proxy=None,
                max_size=None,
            )
            assert json.loads(await socket.recv())["type"] == "hello"
            return socket

        senders = [await open_socket(sessions[0]), await open_socket(sessions[2])]
        reader = await open_socket(sessions[1])
        try:
            for number, content in enumerate(contents):
                frame = {"type": "message.send", "channel": channel, "content": content}
                await senders[number % 2].send(json.dumps({**frame, "client_msg_id": str(uuid.uuid4())}))
            received = []
            async with asyncio.timeout(30):
                while len(received) < len(contents):
                    frame = json.loads(await reader.recv())
                    assert frame["type"] != "error", frame
                    if frame["type"] == "message.created":
                        received.append((frame["seq"], frame["message"]["content"]))
            return received
        finally:
            for socket in (*senders, reader):
                await socket.close()

    received = run_apart(exchange())
    assert sorted(content for _seq, content in received) == sorted(contents)
    seqs = [seq for seq, _content in received]
    assert seqs == list(range(seqs[0], seqs[0] + len(contents)))


def test_the_application_queue_hands_over_in_order_and_loses_nothing_to_a_cancelled_get():
    import asyncio

    from hobbies.server import ApplicationQueue

    async def scenario():
        queue = ApplicationQueue()
        queue.put_nowait(1)
        queue.put_nowait(2)
        assert (await queue.get(), queue.qsize()) == (1, 1)
        assert await queue.get() == 2
        waiting = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        queue.put_nowait(3)
        waiting.cancel()  # woken, then cancelled before it ran: 3 stays for the next get
        await asyncio.gather(waiting, return_exceptions=True)
        assert waiting.cancelled()
        third = await queue.get()
        later = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        queue.put_nowait(4)
        return third, await later

    assert asyncio.run(scenario()) == (3, 4)


def test_websocket_protocols_read_the_factorys_options_from_their_class():
    from daphne.ws_protocol import WebSocketProtocol

    from hobbies.server import LeanWebSocketFactory

    factory = LeanWebSocketFactory(object(), server="")
    factory.setProtocolOptions(autoPingTimeout=7, maxMessagePayloadSize=1234)
    protocol = factory.protocol()
    assert isinstance(protocol, WebSocketProtocol)
    assert (protocol.autoPingTimeout, protocol.maxMessagePayloadSize) == (7, 1234)
    assert protocol.perMessageCompressionAccept(["offer"]) is None  # a function option, not a method
    assert "autoPingTimeout" not in vars(protocol)
