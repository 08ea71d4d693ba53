"""Custom::ChimeMessagingSetup: the app's service user as AppInstanceAdmin, messaging data streamed to Kinesis.

CloudFormation has resource types for the AppInstance and its users, but none for an
AppInstanceAdmin or for the streaming configuration, so this function does both:

- Create: CreateAppInstanceAdmin (an admin that already exists is fine), then
  PutMessagingStreamingConfigurations for each data type to the stream. Both are tried again
  for about half a minute while the new resources and this function's role settle.
- Update: on a new AppInstance, it sets up the new one under a new physical id, and CloudFormation
  then deletes the old one. Otherwise it promotes the new admin before demoting the old one, and
  puts the configuration again (after deleting it first when a data type was dropped).
- Delete: DeleteMessagingStreamingConfigurations and DeleteAppInstanceAdmin. Something already
  gone counts as deleted.

It answers CloudFormation's pre-signed response URL on every path: success, any exception, and a
timer that answers FAILED shortly before the function would time out. So a stack never waits
for an answer that never comes.

Properties: AppInstanceArn, AdminUserArn, StreamArn, DataTypes (default ["ChannelMessage", "Channel"]).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 5})
DATA_TYPES = ("ChannelMessage", "Channel")
SUFFIX = "/messaging-setup"
# Errors that mean "already gone" when deleting.
GONE = {"NotFoundException", "BadRequestException"}
# Errors that mean "not yet" while the stack's new resources and role settle; tried again.
SETTLING = {"ConflictException", "ForbiddenException", "UnauthorizedClientException"}
PATIENCE_ATTEMPTS = 5
PATIENCE_SECONDS = 8
pause = time.sleep
# Answer FAILED this long before Lambda would stop the function.
TIMEOUT_MARGIN_MS = 5000
REASON_MAX = 1024
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Setup:
    app_instance_arn: str
    admin_arn: str
    stream_arn: str
    data_types: tuple[str, ...]

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> Setup:
        missing = [name for name in ("AppInstanceArn", "AdminUserArn", "StreamArn") if not properties.get(name)]
        if missing:
            raise ValueError(f"missing properties: {', '.join(missing)}")
        data_types = tuple(properties.get("DataTypes") or DATA_TYPES)
        if unknown := sorted(set(data_types) - set(DATA_TYPES)):
            raise ValueError(f"unknown DataTypes: {', '.join(unknown)} (allowed: {', '.join(DATA_TYPES)})")
        return cls(properties["AppInstanceArn"], properties["AdminUserArn"], properties["StreamArn"], data_types)

    @property
    def physical_id(self) -> str:
        return self.app_instance_arn + SUFFIX

    @property
    def data(self) -> dict[str, str]:
        return {"AppInstanceArn": self.app_instance_arn, "AdminUserArn": self.admin_arn, "StreamArn": self.stream_arn}


@dataclass(frozen=True)
class Clients:
    identity: Any
    messaging: Any


@functools.cache
def clients() -> Clients:
    return Clients(
        identity=boto3.client("chime-sdk-identity", config=CONFIG),
        messaging=boto3.client("chime-sdk-messaging", config=CONFIG),
    )


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def patiently(call: Callable[[], None], *, settled: Callable[[], bool] = lambda: False) -> None:
    """Run a setup call, retrying while what it needs is still settling.

    Right after CloudFormation creates the app instance, its user and this function's role, Chime
    may answer ConflictException (creation still in progress), ForbiddenException or
    UnauthorizedClientException (IAM not yet propagated, or the service-linked role being made).
    A ConflictException counts as done when ``settled()`` confirms that the work is already
    there. Anything else is raised at once, and so is the last failure.
    """
    for attempt in range(1, PATIENCE_ATTEMPTS + 1):
        try:
            call()
            return
        except ClientError as error:
            code = error_code(error)
            if code == "ConflictException" and settled():
                return
            if code not in SETTLING or attempt == PATIENCE_ATTEMPTS:
                raise
            LOG.info("%s, attempt %d of %d; trying again", code, attempt, PATIENCE_ATTEMPTS)
            pause(PATIENCE_SECONDS)


def is_admin(aws: Clients, setup: Setup) -> bool:
    try:
        aws.identity.describe_app_instance_admin(
            AppInstanceAdminArn=setup.admin_arn, AppInstanceArn=setup.app_instance_arn
        )
    except ClientError as error:
        LOG.info("%s is not an AppInstanceAdmin (yet): %s", setup.admin_arn, error_code(error))
        return False
    return True


def make_admin(aws: Clients, setup: Setup) -> None:
    patiently(
        lambda: aws.identity.create_app_instance_admin(
            AppInstanceAdminArn=setup.admin_arn, AppInstanceArn=setup.app_instance_arn
        ),
        settled=lambda: is_admin(aws, setup),
    )


def drop_admin(aws: Clients, setup: Setup) -> None:
    try:
        aws.identity.delete_app_instance_admin(
            AppInstanceAdminArn=setup.admin_arn, AppInstanceArn=setup.app_instance_arn
        )
    except ClientError as error:
        if error_code(error) not in GONE:
            raise
        LOG.info("admin %s already gone: %s", setup.admin_arn, error_code(error))


def stream(aws: Clients, setup: Setup) -> None:
    patiently(
        lambda: aws.messaging.put_messaging_streaming_configurations(
            AppInstanceArn=setup.app_instance_arn,
            StreamingConfigurations=[{"DataType": kind, "ResourceArn": setup.stream_arn} for kind in setup.data_types],
        )
    )


def unstream(aws: Clients, setup: Setup) -> None:
    try:
        aws.messaging.delete_messaging_streaming_configurations(AppInstanceArn=setup.app_instance_arn)
    except ClientError as error:
        if error_code(error) not in GONE:
            raise
        LOG.info("streaming of %s already gone: %s", setup.app_instance_arn, error_code(error))


def create(aws: Clients, setup: Setup) -> tuple[str, dict[str, str]]:
    make_admin(aws, setup)
    stream(aws, setup)
    return setup.physical_id, setup.data


def update(aws: Clients, new: Setup, old: Setup) -> tuple[str, dict[str, str]]:
    if new.app_instance_arn != old.app_instance_arn:
        # A new physical id: CloudFormation sends a Delete for the old one once the update succeeds.
        return create(aws, new)
    if new.admin_arn != old.admin_arn:
        make_admin(aws, new)
        drop_admin(aws, old)
    if set(old.data_types) - set(new.data_types):
        unstream(aws, old)
    stream(aws, new)
    return new.physical_id, new.data


def delete(aws: Clients, physical_id: str, properties: dict[str, Any]) -> tuple[str, dict[str, str]]:
    try:
        setup = Setup.from_properties(properties)
    except ValueError:
        setup = None
    if setup is None or physical_id != setup.physical_id:
        # Never set up (a Create that failed on its properties): nothing to undo.
        LOG.info("nothing to delete for %s", physical_id)
        return physical_id, {}
    unstream(aws, setup)
    drop_admin(aws, setup)
    return physical_id, {}


def apply(event: dict[str, Any], aws: Clients) -> tuple[str, dict[str, str]]:
    kind = event["RequestType"]
    if kind == "Create":
        return create(aws, Setup.from_properties(event["ResourceProperties"]))
    if kind == "Update":
        new = Setup.from_properties(event["ResourceProperties"])
        return update(aws, new, Setup.from_properties(event["OldResourceProperties"]))
    if kind == "Delete":
        return delete(aws, event["PhysicalResourceId"], event["ResourceProperties"])
    raise ValueError(f"unknown RequestType {kind!r}")


def fallback_physical_id(event: dict[str, Any]) -> str:
    """The physical id to send with FAILED: the resource's own, or one that Delete knows as "never set up"."""
    if event.get("PhysicalResourceId"):
        return event["PhysicalResourceId"]
    try:
        return Setup.from_properties(event.get("ResourceProperties") or {}).physical_id
    except ValueError:
        return f"{event.get('LogicalResourceId', 'ChimeMessagingSetup')}-not-created"


class Answer:
    """The one response to CloudFormation for one request; later attempts to answer are ignored."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        self._lock = threading.Lock()
        self._sent = False

    def send(self, status: str, physical_id: str, data: dict[str, str] | None = None, reason: str = "") -> bool:
        with self._lock:
            if self._sent:
                return False
            self._sent = True
        body = {
            "Status": status,
            "Reason": reason[:REASON_MAX] or status,
            "PhysicalResourceId": physical_id,
            "StackId": self.event.get("StackId"),
            "RequestId": self.event.get("RequestId"),
            "LogicalResourceId": self.event.get("LogicalResourceId"),
            "NoEcho": False,
            "Data": data or {},
        }
        LOG.info("answering %s for %s %s", status, self.event.get("RequestType"), physical_id)
        put(self.event["ResponseURL"], json.dumps(body).encode())
        return True


def put(url: str, body: bytes, *, attempts: int = 3) -> int:
    """PUT the answer to the pre-signed URL (https; plain http only to this machine, for tests)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        raise ValueError(f"refusing to answer to {parts.scheme}://{parts.hostname}")
    # An empty Content-Type: the URL is signed without one.
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (scheme checked above)
                return response.status
        except (urllib.error.URLError, TimeoutError):
            if attempt == attempts:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def handler(event: dict[str, Any], context: Any) -> None:
    answer = Answer(event)
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 60_000
    timer = threading.Timer(
        max(remaining_ms - TIMEOUT_MARGIN_MS, 0) / 1000,
        lambda: answer.send("FAILED", fallback_physical_id(event), reason="the setup function timed out"),
    )
    timer.daemon = True
    timer.start()
    try:
        physical_id, data = apply(event, clients())
    except Exception as error:
        LOG.exception("%s failed", event.get("RequestType"))
        answer.send("FAILED", fallback_physical_id(event), reason=f"{type(error).__name__}: {error}")
    else:
        answer.send("SUCCESS", physical_id, data)
    finally:
        timer.cancel()
