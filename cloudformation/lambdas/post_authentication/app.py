"""Cognito post-authentication trigger: one audit line, the SignIns metric, the person's Chime user.

Cognito refuses a sign-in whose trigger raises, returns something other than the event, or takes
longer than about 5 seconds. So this handler always returns the event it was given: a failure is
logged and counted (PostAuthenticationErrors), never raised. The AWS calls are bounded so that the
handler stays within Cognito's time limit.

Each sign-in writes one JSON line. The line is the audit record (who, when, from where, through
which app client). It is also a CloudWatch embedded-metric-format document, so CloudWatch Logs
turns it into the SignIns and PostAuthenticationErrors metrics. No PutMetricData call is needed.

Environment (set by cloudformation/template.yaml): CHIME_APP_INSTANCE_ARN, METRICS_NAMESPACE.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)

# botocore's chime-sdk-identity model: AppInstanceUserId is 1-64 characters matching this pattern.
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9:\-_.@]{0,62}[A-Za-z0-9])?")
OIDC_PREFIX = "oidc-"
PK_PREFIX = "user-"
# UserName: 1-100 characters with at least one that is not blank.
NAME_MAX = 100
# Cognito waits about 5 seconds for a trigger. The limit below is one attempt of at most 1 s to
# connect plus 2 s to read, and it leaves room for a cold start. The app's backend creates the
# user again (idempotently) when it needs it, and so does the next sign-in.
CHIME_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 1})
METRIC_SOURCE = "cognito"


def app_instance_user_id(*, sub: str | None = None, pk: int | None = None) -> str:
    """A person's Chime AppInstanceUserId: the rule of the app's Chime backend (docs/deploy.md).

    The id comes from a value that never changes: the OIDC ``sub`` when there is one, else the
    user's primary key.

    - ``oidc-<sub>`` when that is within Chime's 1-64 characters and allowed set (a Cognito sub,
      a UUID, always is);
    - ``oidc-<the first 56 hex digits of the sub's SHA-256>`` for any other sub;
    - ``user-<pk>`` for an account without a sub (a local account).

    chat/backends/chime/identity.py derives the same id from the account; a test keeps the two equal.
    """
    if sub is not None:
        candidate = f"{OIDC_PREFIX}{sub}"
        if USER_ID_PATTERN.fullmatch(candidate):
            return candidate
        return OIDC_PREFIX + hashlib.sha256(sub.encode("utf-8")).hexdigest()[:56]
    if isinstance(pk, int) and not isinstance(pk, bool) and pk >= 0:
        return f"{PK_PREFIX}{pk}"
    raise ValueError("an AppInstanceUserId needs the OIDC sub or the user's primary key")


def client_request_token(user_id: str) -> str:
    """The ClientRequestToken of the user's CreateAppInstanceUser call, derived from the same id.

    The token is 64 hex digits. The model allows 2-64 characters of [-_a-zA-Z0-9], and an id may
    contain ':', '.' or '@', which are not allowed there.
    """
    return hashlib.sha256(f"app-instance-user:{user_id}".encode()).hexdigest()


@functools.cache
def identity_client():
    return boto3.client("chime-sdk-identity", config=CHIME_CONFIG)


def ensure_app_instance_user(client, *, app_instance_arn: str, user_id: str, name: str) -> str:
    """Create the AppInstanceUser once. Returns "created", or "exists" when Chime already has it."""
    try:
        client.create_app_instance_user(
            AppInstanceArn=app_instance_arn,
            AppInstanceUserId=user_id,
            Name=name,
            ClientRequestToken=client_request_token(user_id),
        )
    except client.exceptions.ConflictException:
        return "exists"
    return "created"


def display_name(event: dict[str, Any], user_id: str) -> str:
    name = str(event.get("userName") or "").strip()[:NAME_MAX]
    return name or user_id


def source_ip(event: dict[str, Any]) -> str | None:
    """The address the person signed in from, when Cognito passes it.

    Cognito only includes user context data when threat protection is on or the client propagates
    it. The app's own sign-in record (LoginEvent) always keeps the address.
    """
    context = (event.get("request") or {}).get("userContextData") or {}
    return context.get("sourceIp") or context.get("ipAddress") or None


def audit_line(event: dict[str, Any], *, user_id: str | None, chime_user: str, namespace: str) -> dict[str, Any]:
    """One JSON line: the audit record, which is also an embedded-metric-format document."""
    now = time.time()
    failed = chime_user == "failed"
    return {
        "_aws": {
            "Timestamp": int(now * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Source"]],
                    "Metrics": [
                        {"Name": "SignIns", "Unit": "Count"},
                        {"Name": "PostAuthenticationErrors", "Unit": "Count"},
                    ],
                }
            ],
        },
        "Source": METRIC_SOURCE,
        "SignIns": 1,
        "PostAuthenticationErrors": 1 if failed else 0,
        "event": "sign_in",
        "time": datetime.fromtimestamp(now, tz=UTC).isoformat(timespec="milliseconds"),
        "user": event.get("userName"),
        "sub": ((event.get("request") or {}).get("userAttributes") or {}).get("sub"),
        "source_ip": source_ip(event),
        "client_id": (event.get("callerContext") or {}).get("clientId"),
        "user_pool_id": event.get("userPoolId"),
        "trigger": event.get("triggerSource"),
        "chime_user_id": user_id,
        "chime_user": chime_user,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Always returns the event. A failure is logged and counted, and the sign-in still goes on."""
    user_id = None
    chime_user = "failed"
    try:
        sub = ((event.get("request") or {}).get("userAttributes") or {}).get("sub")
        user_id = app_instance_user_id(sub=sub)
        chime_user = ensure_app_instance_user(
            identity_client(),
            app_instance_arn=os.environ["CHIME_APP_INSTANCE_ARN"],
            user_id=user_id,
            name=display_name(event, user_id),
        )
    except Exception:
        LOG.exception("post-authentication: could not create the Chime user %s; the sign-in goes on", user_id)
    try:
        namespace = os.environ.get("METRICS_NAMESPACE", "HobbiesCommunity")
        line = audit_line(event, user_id=user_id, chime_user=chime_user, namespace=namespace)
        print(json.dumps(line, default=str))
    except Exception:
        LOG.exception("post-authentication: could not write the audit line")
    return event
