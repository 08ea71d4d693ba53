"""Chime's refusals, turned into the domain errors the local backend raises for the same case.

A refusal (ForbiddenException, NotFoundException, ConflictException, BadRequestException,
ResourceLimitExceededException) becomes NotAllowed, InvalidRequest or ChannelFull; a service
that cannot answer now (throttled after botocore's retries, down, unreachable, misconfigured)
becomes BackendUnavailable. Either way the service writes nothing locally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chat.backends.base import BackendUnavailable
from chat.exceptions import ChannelFull, ChatError, InvalidRequest, NotAllowed

log = logging.getLogger("chat.backends.chime")

# Nothing the person did: the service, our credentials or our configuration.
UNAVAILABLE = frozenset(
    {
        "ThrottledClientException",
        "ServiceUnavailableException",
        "ServiceFailureException",
        "UnauthorizedClientException",
        "AccessDeniedException",
        "ThrottlingException",
    }
)

REFUSALS: dict[str, tuple[type[ChatError], str]] = {
    "ForbiddenException": (NotAllowed, "The messaging service does not allow that here."),
    "NotFoundException": (InvalidRequest, "That does not exist in the messaging service."),
    "ConflictException": (InvalidRequest, "That clashes with the channel's current state: reload and try again."),
    "BadRequestException": (InvalidRequest, "The messaging service refused that request."),
    "ResourceLimitExceededException": (InvalidRequest, "The messaging service's limit for that has been reached."),
}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def translate(error: ClientError, operation: str, *, full: bool = False) -> ChatError:
    """The domain error for a refusal of `operation`; `full`: a limit means the channel is full."""
    code = error_code(error)
    detail = error.response.get("Error", {}).get("Message", "")
    log.warning("event=chime_refused operation=%s code=%s detail=%r", operation, code, detail)
    if code in UNAVAILABLE or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
        return BackendUnavailable()
    if full and code == "ResourceLimitExceededException":
        return ChannelFull()
    kind, message = REFUSALS.get(code, (InvalidRequest, "The messaging service refused that request."))
    return kind(message)


def call(method: Callable[..., dict], *, ok: Iterable[str] = (), full: bool = False, **params: Any) -> dict | None:
    """Make one Chime call; a refusal whose code is in `ok` returns None (say, ConflictException
    for an idempotent create), any other raises the matching domain error."""
    operation = getattr(method, "__name__", "call")
    try:
        return method(**params)
    except ClientError as error:
        if error_code(error) in set(ok):
            log.info("event=chime_refusal_accepted operation=%s code=%s", operation, error_code(error))
            return None
        raise translate(error, operation, full=full) from error
    except BotoCoreError as error:
        # Connection refused, timed out, no credentials: the service cannot be reached now.
        log.error("event=chime_unreachable operation=%s error=%r", operation, error)
        raise BackendUnavailable() from error
