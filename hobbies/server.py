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
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from dataclasses import dataclass
from urllib.parse import unquote

from daphne import cli  # first: importing daphne.server installs the asyncio reactor
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server as DaphneServer
from twisted.internet import reactor

APPLICATION = "hobbies.asgi:application"
# The URL names (chat/web/urls.py) whose POST carries a file and may need a session.
UPLOAD_ROUTES = frozenset({"chat-attachment-upload"})
LINGER_SECONDS = 5.0

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
    """daphne's Server with LimitedRequest for every HTTP connection."""

    def __init__(self, *args, body_limits: BodyLimits | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.body_limits = body_limits or BodyLimits.from_settings()
        from hobbies import metrics

        metrics.serving()  # this process's metrics lines report its sockets from the start

    # daphne's Server.run() builds its HTTP factory itself (`self.http_factory = HTTPFactory(self)`)
    # before it listens: this property is where ours takes its place.
    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = factory if isinstance(factory, LimitedHTTPFactory) else LimitedHTTPFactory(self)


class CommandLineInterface(cli.CommandLineInterface):
    """daphne's command line, serving our application with our Server and no banner by default."""

    description = "Hobbies Community server (daphne with request-body limits)"
    server_class = Server

    def __init__(self) -> None:
        super().__init__()
        self.parser.prog = "python -m hobbies.server"
        self.parser.set_defaults(server_name="")  # no "Server: daphne" header; -s NAME sets one

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
