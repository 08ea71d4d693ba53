"""The boto3 clients of the Chime backend: built once per process and service, shared by threads.

botocore reads everything about where and as whom by itself: credentials (AWS_ACCESS_KEY_ID, a
profile, an instance or task role) and endpoints, including the per-service overrides
AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING, AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY and
AWS_ENDPOINT_URL_KINESIS; so no endpoint_url is ever passed here. Retries use botocore's
standard mode (exponential backoff with jitter on throttling and transient errors).
"""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config
from django.conf import settings

MESSAGING = "chime-sdk-messaging"
IDENTITY = "chime-sdk-identity"
KINESIS = "kinesis"

CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)


@cache
def client(service: str):
    """One client per service name for this process (boto3 clients are thread-safe)."""
    return boto3.session.Session().client(service, region_name=_region(service), config=CONFIG)


def _region(service: str) -> str:
    if service == KINESIS and settings.CHIME_EVENT_STREAM_ARN:
        # arn:aws:kinesis:<region>:<account>:stream/<name>: the stream lives beside the AppInstance.
        return settings.CHIME_EVENT_STREAM_ARN.split(":")[3]
    return settings.CHIME_REGION


def messaging():
    return client(MESSAGING)


def identity():
    return client(IDENTITY)


def kinesis():
    return client(KINESIS)


def reset_clients() -> None:
    """Forget the built clients (tests point the endpoints elsewhere between runs)."""
    client.cache_clear()
