"""chat/backends/chime/errors.py: each Chime refusal becomes the local backend's domain error."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chat.backends.base import BackendUnavailable
from chat.backends.chime.errors import call, translate
from chat.exceptions import ChannelFull, InvalidRequest, NotAllowed


def refusal(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("code", "status", "full", "error"),
    [
        ("ForbiddenException", 403, False, NotAllowed),
        ("NotFoundException", 404, False, InvalidRequest),
        ("ConflictException", 409, False, InvalidRequest),
        ("BadRequestException", 400, False, InvalidRequest),
        ("ResourceLimitExceededException", 400, False, InvalidRequest),
        ("ResourceLimitExceededException", 400, True, ChannelFull),
        ("ThrottledClientException", 429, False, BackendUnavailable),
        ("ServiceUnavailableException", 503, False, BackendUnavailable),
        ("ServiceFailureException", 500, False, BackendUnavailable),
        ("UnauthorizedClientException", 401, False, BackendUnavailable),
        ("SomethingNew", 502, False, BackendUnavailable),
        ("SomethingNew", 400, False, InvalidRequest),
    ],
)
def test_refusals_become_domain_errors(code, status, full, error):
    assert type(translate(refusal(code, status), "Op", full=full)) is error


def test_not_found_reads_as_missing_to_the_socket_protocol():
    assert "does not exist" in translate(refusal("NotFoundException", 404), "Op").message


def test_accepted_refusals_return_nothing_and_others_raise():
    def failing(**params):
        raise refusal("ConflictException", 409)

    assert call(failing, ok=("ConflictException",), Name="x") is None
    with pytest.raises(InvalidRequest):
        call(failing, Name="x")


def test_an_unreachable_service_is_unavailable():
    def unreachable(**params):
        raise EndpointConnectionError(endpoint_url="https://messaging-chime.us-east-1.amazonaws.com")

    with pytest.raises(BackendUnavailable):
        call(unreachable)
