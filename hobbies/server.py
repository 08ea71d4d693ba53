"""The app's server: daphne serving hobbies.asgi, with request bodies capped where daphne reads them.

    python -m hobbies.server -b 127.0.0.1 -p 8000     (every other daphne option works too)

daphne's Twisted request receives the whole body (into a temporary file) before it calls the
ASGI application, then queues all of it to the application at once, so nothing inside the
application can refuse a body before it has been received and held in memory. Here the request
class itself counts the body as it arrives:

- a declared (Content-Length) or streamed (chunked) body larger than REQUEST_MAX_BYTES
  (UPLOAD_REQUEST_MAX_BYTES on the attachment upload route) is answered 413 at once;
- a POST to the upload route without a session cookie is answered 403 before its body arrives
  (the view still authenticates the cookie; this only refuses what cannot be signed in).

Before the application is imported, the deployment's metrics folder is prepared
(`prepare_metrics`: prometheus-client's multiprocess mode, hobbies/metrics/).

A refused body is read and dropped, never kept, for LINGER_SECONDS at most, so that the client
can read the answer before the connection closes; the connection is not reused.
The response carries no ``Server: daphne`` banner unless ``--server-name`` asks for one.

WebSockets get a faster way to send a frame (`LeanWebSocketProtocol.write_frame`, handed to the
application in the scope as WRITE_FRAME): the bytes of a whole unmasked text frame, encoded once
for every recipient of a message (chat/realtime/delivery.py), written straight to the socket when
nothing is buffered before them, instead of autobahn building the frame again for each socket and
Twisted registering the socket with the event loop around every write. And an idle socket holds
less (docs/performance.md, issue 18): autobahn's options are read from the protocol's class instead
of being copied onto every protocol, the handshake's text is dropped once the socket is open, and
the application's input queue has no deques while it is empty.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
from collections import deque
from dataclasses import dataclass
from functools import partial
from urllib.parse import unquote

from daphne import cli  # first: importing daphne.server installs the asyncio reactor
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server as DaphneServer
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import reactor, tcp

APPLICATION = "hobbies.asgi:application"
# The URL names (chat/web/urls.py) whose POST carries a file and may need a session.
UPLOAD_ROUTES = frozenset({"chat-attachment-upload"})
LINGER_SECONDS = 5.0
# The scope key of a WebSocket's LeanWebSocketProtocol.write_frame.
WRITE_FRAME = "hobbies.write_frame"
# Connections waiting to be accepted: Twisted's default of 50 drops the handshakes of a reconnect
# storm (every client of a restarted worker at once), which then retry only after a second or more.
LISTEN_BACKLOG = 4096
WEBSOCKET_CONNECT_TIMEOUT = 30

logger = logging.getLogger("hobbies.server")  # also when run as __main__


@dataclass(frozen=True)
class BodyLimits:
    """How large a request body may be, per route, and which cookie carries a session."""

    default: int
    upload: int
    session_cookie: bytes

    @classmethod
    def from_settings(cls) -> BodyLimits:
        from django.conf import settings

        return cls(
            default=settings.REQUEST_MAX_BYTES,
            upload=settings.UPLOAD_REQUEST_MAX_BYTES,
            session_cookie=settings.SESSION_COOKIE_NAME.encode("latin-1"),
        )

    @staticmethod
    def is_upload(path: bytes) -> bool:
        from django.urls import Resolver404, resolve

        try:
            return resolve(unquote(path.decode("ascii", "replace"))).url_name in UPLOAD_ROUTES
        except Resolver404:
            return False

    def has_session(self, cookies: dict[bytes, bytes]) -> bool:
        # Django's own rule for a well-formed session key: at least 8 characters.
        return len(cookies.get(self.session_cookie, b"")) >= 8


class LimitedRequest(WebRequest):
    """daphne's request, counting its body as it arrives and refusing it early."""

    def __init__(self, *args, **kwargs) -> None:
        # Twisted would otherwise read a whole multipart body into memory to fill request.args,
        # which daphne never uses.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)
        self.body_limit = 0
        self.body_received = 0
        self.refused = False
        self._linger = None

    def gotLength(self, length: int | None) -> None:
        """All headers are in; `length` is the declared length, None for a chunked body."""
        super().gotLength(length)  # a BytesIO under 100 kB, a temporary file above
        if length == 0:
            return
        limits: BodyLimits = self.server.body_limits
        # The request line is parsed before the headers; Twisted sets method and path only later.
        method, path = getattr(self.channel, "_command", b""), getattr(self.channel, "_path", b"")
        upload = limits.is_upload(path.split(b"?", 1)[0])
        self.body_limit = limits.upload if upload else limits.default
        if upload and method == b"POST" and not limits.has_session(self.received_cookies):
            self.refuse(403, "Sign in to upload files.")
        elif length is not None and length > self.body_limit:
            self.refuse(413, self._too_large())

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return  # the rest of a refused body is read and dropped
        self.body_received += len(data)
        if self.body_received > self.body_limit:
            self.refuse(413, self._too_large())
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self.refused:
            super().requestReceived(command, path, version)
        elif not self.finished:
            self._stop_lingering()  # the whole refused body is in: close now

    def process(self):
        result = super().process()
        # Upgraded to a WebSocket: daphne is done with this request (its headers, its channel's
        # buffers, some 2.5 KiB) but keeps it in its connections until its once-a-second check
        # finds it disconnected for application_close_timeout (10 s): a connect storm's worth.
        connections = self.server.connections
        details = connections.get(self)
        if details is not None and "disconnected" in details and "application_instance" not in details:
            del connections[self]
            # And out of its HTTP channel's list: the two refer to each other, and a cycle waits for
            # the garbage collector's rare full collections (meanwhile, every idle socket's RSS).
            requests = getattr(self.channel, "requests", None)
            if requests is not None and self in requests:
                requests.remove(self)
        return result

    def connectionLost(self, reason) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)

    def _too_large(self) -> str:
        return f"The request is too large: at most {self.body_limit:,} bytes."

    def refuse(self, status: int, message: str) -> None:
        """Answer now, before the body is complete, and drop the rest of it."""
        self.refused = True
        self.content.close()
        self.content = io.BytesIO()
        channel = self.channel
        self.method = getattr(channel, "_command", b"POST")
        self.uri = self.path = getattr(channel, "_path", b"/")
        self.clientproto = getattr(channel, "_version", b"HTTP/1.1")
        # Twisted sends "100 Continue" after gotLength() when asked: not after this answer.
        self.requestHeaders.removeHeader(b"Expect")
        # What follows on this connection is the refused body, never another request.
        channel.persistent = False
        body = json.dumps({"error": message}).encode()
        self.setResponseCode(status)
        self.setHeader(b"Content-Type", b"application/json")
        self.setHeader(b"Content-Length", b"%d" % len(body))
        self.setHeader(b"Connection", b"close")
        self.write(body)
        self._linger = reactor.callLater(LINGER_SECONDS, self._stop_lingering)
        client = f"{self.client.host}:{self.client.port}" if hasattr(self.client, "host") else None
        path = self.uri.decode("ascii", "replace")
        logger.warning("event=request_refused status=%s path=%s client=%s", status, path, client)
        method = self.method.decode("ascii", "replace")
        details = {"path": path, "status": status, "method": method, "client": client, "time_taken": 0}
        self.server.log_action("http", "complete", {**details, "size": len(body)})

    def _stop_lingering(self) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        self._linger = None
        if not self.finished and not self._disconnected:
            self.finish()  # the connection is not persistent: Twisted closes it once written


class LimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedRequest
        return protocol


class Server(DaphneServer):
    """daphne's Server with LimitedRequest for every HTTP connection, and write_frame for every WebSocket."""

    def __init__(self, *args, body_limits: BodyLimits | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints = [with_backlog(endpoint) for endpoint in self.endpoints]
        self.body_limits = body_limits or BodyLimits.from_settings()
        from hobbies import metrics

        metrics.serving()  # this process's metrics lines report its sockets from the start

    def protocol_disconnected(self, protocol):
        if protocol in self.connections:  # (an upgraded request is forgotten at once: LimitedRequest.process)
            super().protocol_disconnected(protocol)

    def create_application(self, protocol, scope):
        """daphne's, with a lighter input queue, one shared `asgi` entry and, for a WebSocket, WRITE_FRAME."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = ApplicationQueue()
        scope.setdefault("asgi", ASGI_VERSION)
        if isinstance(protocol, LeanWebSocketProtocol):
            scope[WRITE_FRAME] = protocol.write_frame
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    # Likewise its WebSocket factory (`self.ws_factory = WebSocketFactory(self, ...)`).
    @property
    def ws_factory(self) -> WebSocketFactory:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        if not isinstance(factory, LeanWebSocketFactory):
            factory = LeanWebSocketFactory(self, server=self.server_name)
        self._ws_factory = factory

    # daphne's Server.run() builds its HTTP factory itself (`self.http_factory = HTTPFactory(self)`)
    # before it listens: this property is where ours takes its place.
    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = factory if isinstance(factory, LimitedHTTPFactory) else LimitedHTTPFactory(self)


# Every scope's `asgi` entry: one dict for all (daphne makes one per connection).
ASGI_VERSION = {"version": "3.0"}


class ApplicationQueue:
    """What daphne uses of an asyncio.Queue as an application's input (put_nowait, and get as its
    `receive`), without the three deques and the lock an asyncio.Queue holds for its whole life:
    a deque only while messages wait, a future only while the application waits."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque | None = None
        self._waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    async def get(self):
        while not self._items:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter and waiter.done():
                    self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item


class LeanWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol, holding less while open, with `write_frame`."""

    # The handshake's text and parsed headers, kept by autobahn and never read once the socket is open.
    HANDSHAKE_LEFTOVERS = ("http_request_data", "http_response_data", "http_headers", "http_status_line")

    def onOpen(self):
        super().onOpen()
        for name in self.HANDSHAKE_LEFTOVERS:
            self.__dict__.pop(name, None)

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame`, the bytes of one complete unmasked WebSocket frame (delivery.text_frame), in
        order with everything autobahn sent before it. False, with nothing written, when autobahn
        must send it itself: the socket is not open (connecting, closing, closed), it compresses
        (permessage-deflate), fragments, is in the middle of a fragmented message, or has frames of
        its own queued or being traced."""
        if (
            self.state != self.STATE_OPEN
            or self._perMessageCompress is not None
            or self.send_state != self.SEND_STATE_GROUND
            or self.send_queue
            or self.autoFragmentSize
            or self.trackedTimings
            or self.logOctets
            or self.logFrames
            or 0 < self.maxMessagePayloadSize < len(frame) - 2
        ):
            return False
        transport = self.transport
        if type(transport) is tcp.Server:  # (TLS and other transports buffer as they see fit)
            if not transport.connected or transport.disconnecting or transport._writeDisconnected:
                return False
            # Nothing buffered before it: to the socket now, what it takes, the rest to Twisted's buffer.
            if not transport._tempDataLen and transport.offset == len(transport.dataBuffer):
                sent = transport.writeSomeData(frame)
                if not isinstance(sent, int) or sent <= 0:
                    sent = 0  # would block, or the connection is lost: Twisted finds out as it writes
                if sent == len(frame):
                    return True
                frame = frame[sent:]
        transport.write(frame)
        return True


class LeanWebSocketFactory(WebSocketFactory):
    """Builds protocols of a class that carries this factory's options: autobahn copies each option
    onto every protocol it makes (some fifty attributes) unless the protocol has it already."""

    protocol = LeanWebSocketProtocol

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._options_on_class()

    def setProtocolOptions(self, *args, **kwargs) -> None:
        super().setProtocolOptions(*args, **kwargs)
        self._options_on_class()

    def _options_on_class(self) -> None:
        # (staticmethod: an option that is a function, perMessageCompressionAccept, is not a method)
        options = {}
        for name in LeanWebSocketProtocol.CONFIG_ATTRS:
            value = getattr(self, name)
            options[name] = staticmethod(value) if callable(value) else value
        self.protocol = type("ConfiguredWebSocketProtocol", (LeanWebSocketProtocol,), options)


def with_backlog(endpoint: str) -> str:
    """A TCP or Unix endpoint description with LISTEN_BACKLOG, unless it names a backlog itself."""
    if endpoint.split(":", 1)[0] in {"tcp", "tcp6", "unix"} and ":backlog=" not in endpoint:
        return f"{endpoint}:backlog={LISTEN_BACKLOG}"
    return endpoint


class CommandLineInterface(cli.CommandLineInterface):
    """daphne's command line, serving our application with our Server and no banner by default."""

    description = "Hobbies Community server (daphne with request-body limits)"
    server_class = Server

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m hobbies.server"
        self.parser.set_defaults(server_name="")  # no "Server: daphne" header; -s NAME sets one
        # daphne's 5 s for a WebSocket's handshake and accept: in a reconnect storm (every socket of a
        # restarted worker at once) the sign-ins queue for the database thread longer than that, and
        # handshakes given up on come back as retries. --websocket_connect_timeout still sets it.
        self.parser.set_defaults(websocket_connect_timeout=WEBSOCKET_CONNECT_TIMEOUT)

    def run(self, args: list[str]) -> None:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hobbies.settings")
        prepare_metrics()
        super().run([*args, APPLICATION])


def prepare_metrics() -> str:
    """Every server process of a deployment keeps its Prometheus figures in one folder (METRICS_DIR,
    or PROMETHEUS_MULTIPROC_DIR when set), so that /metrics on any of them sums them all. The first
    worker to start empties it (hobbies/metrics_dir.py). Runs before the application, and so
    prometheus_client, is imported: that library chooses where it keeps values when imported."""
    from django.conf import settings

    from hobbies import metrics_dir

    path = os.environ.get(metrics_dir.ENV) or str(settings.METRICS_DIR)
    metrics_dir.prepare_directory(path)
    os.environ[metrics_dir.ENV] = path
    return path


def main() -> None:
    CommandLineInterface().run(sys.argv[1:])


if __name__ == "__main__":
    main()
