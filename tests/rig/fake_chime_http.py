"""The HTTP side of the fake Chime (tests/rig/fake_chime.py): Chime's REST JSON routes, as
botocore's service models lay them out (ARNs URL-encoded in the path), and the server."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from tests.rig.fake_chime import FakeChime, Refusal

ARN = r"(?P<channel_arn>[^/]+)"
ROUTES = [
    ("POST", re.compile(r"/app-instance-users"), None, "create_app_instance_user"),
    ("POST", re.compile(r"/channels"), None, "create_channel"),
    ("PUT", re.compile(rf"/channels/{ARN}"), None, "update_channel"),
    ("DELETE", re.compile(rf"/channels/{ARN}"), None, "delete_channel"),
    ("GET", re.compile(rf"/channels/{ARN}/subchannels"), None, "list_sub_channels"),
    ("POST", re.compile(rf"/channels/{ARN}/memberships"), "batch-create", "batch_create_channel_membership"),
    ("POST", re.compile(rf"/channels/{ARN}/memberships"), None, "create_channel_membership"),
    ("GET", re.compile(rf"/channels/{ARN}/memberships/(?P<member_arn>[^/]+)"), None, "describe_channel_membership"),
    ("DELETE", re.compile(rf"/channels/{ARN}/memberships/(?P<member_arn>[^/]+)"), None, "delete_channel_membership"),
    ("POST", re.compile(rf"/channels/{ARN}/moderators"), None, "create_channel_moderator"),
    ("DELETE", re.compile(rf"/channels/{ARN}/moderators/(?P<moderator_arn>[^/]+)"), None, "delete_channel_moderator"),
    ("POST", re.compile(rf"/channels/{ARN}/bans"), None, "create_channel_ban"),
    ("DELETE", re.compile(rf"/channels/{ARN}/bans/(?P<member_arn>[^/]+)"), None, "delete_channel_ban"),
    ("POST", re.compile(rf"/channels/{ARN}/messages"), None, "send_channel_message"),
    ("GET", re.compile(rf"/channels/{ARN}/messages"), None, "list_channel_messages"),
    ("PUT", re.compile(rf"/channels/{ARN}/messages/(?P<message_id>[^/]+)"), None, "update_channel_message"),
    ("POST", re.compile(rf"/channels/{ARN}/messages/(?P<message_id>[^/]+)"), "redact", "redact_channel_message"),
    ("DELETE", re.compile(rf"/channels/{ARN}/messages/(?P<message_id>[^/]+)"), None, "delete_channel_message"),
    ("GET", re.compile(rf"/channels/{ARN}/messages/(?P<message_id>[^/]+)"), None, "get_channel_message"),
]


def _handler(chime: FakeChime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            return None

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
                status, answer = route(
                    chime, self.command, url.path, parse_qs(url.query), body, self.headers.get("x-amz-chime-bearer")
                )
                headers = {}
            except Refusal as refusal:
                status, answer = refusal.status, {"Code": refusal.code, "Message": str(refusal)}
                headers = {"x-amzn-ErrorType": refusal.code}
            data = b"" if status == 204 else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


def route(chime: FakeChime, method: str, path: str, query: dict, body: dict, bearer: str | None) -> tuple[int, dict]:
    for route_method, pattern, operation, name in ROUTES:
        match = pattern.fullmatch(path)
        wanted = operation in query.get("operation", [""]) if operation else "operation" not in query
        if route_method == method and match and wanted:
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            with chime.lock:
                chime.calls.append((name, bearer))
                if name != "create_app_instance_user" and bearer not in chime.users:
                    raise Refusal(403, "ForbiddenException", f"unknown bearer {bearer}")
                return getattr(chime, name)(body=body, query=query, bearer=bearer, **params)
    raise Refusal(404, "NotFoundException", f"no route {method} {path}")


def serve(chime: FakeChime, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(chime))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-chime", daemon=True).start()
    return server
