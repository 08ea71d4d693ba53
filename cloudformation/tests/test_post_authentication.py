"""cloudformation/lambdas/post_authentication/app.py: the sign-in always goes on; the Chime user is created once."""

from __future__ import annotations

import copy
import hashlib
import json
import re

import botocore.session
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from cloudformation.tests.support import APP_INSTANCE_ARN, aws_client, load_lambda

app = load_lambda("post_authentication")

COGNITO_SUB = "6c1e5b2a-7d0f-4b8e-9a41-0d3c2f1e9b77"
IDENTITY_MODEL = botocore.session.get_session().get_service_model("chime-sdk-identity")
CREATE_USER = IDENTITY_MODEL.operation_model("CreateAppInstanceUser").input_shape.members


def model_pattern(member: str) -> tuple[re.Pattern, int, int]:
    shape = CREATE_USER[member]
    return re.compile(shape.metadata["pattern"]), shape.metadata["min"], shape.metadata["max"]


def cognito_event(**attributes) -> dict:
    """A PostAuthentication_Authentication event as Cognito sends it."""
    return {
        "version": "1",
        "triggerSource": "PostAuthentication_Authentication",
        "region": "us-east-1",
        "userPoolId": "us-east-1_AbC123xyz",
        "userName": "alice",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "4tq0example0client"},
        "request": {
            "userAttributes": {
                "sub": COGNITO_SUB,
                "email": "alice@example.org",
                "email_verified": "true",
                **attributes,
            },
            "newDeviceUsed": False,
        },
        "response": {},
    }


@pytest.fixture
def identity(monkeypatch):
    client = aws_client("chime-sdk-identity")
    monkeypatch.setattr(app, "identity_client", lambda: client)
    monkeypatch.setenv("CHIME_APP_INSTANCE_ARN", APP_INSTANCE_ARN)
    monkeypatch.setenv("METRICS_NAMESPACE", "HobbiesCommunity")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expected_create(user_id: str = f"oidc-{COGNITO_SUB}", name: str = "alice") -> dict:
    return {
        "AppInstanceArn": APP_INSTANCE_ARN,
        "AppInstanceUserId": user_id,
        "Name": name,
        "ClientRequestToken": app.client_request_token(user_id),
    }


def audit_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_returns_the_event_after_creating_the_chime_user(identity, capsys):
    arn = f"{APP_INSTANCE_ARN}/user/oidc-{COGNITO_SUB}"
    identity.add_response("create_app_instance_user", {"AppInstanceUserArn": arn}, expected_create())
    event = cognito_event()
    untouched = copy.deepcopy(event)

    assert app.handler(event, None) is event
    assert event == untouched
    [line] = audit_lines(capsys)
    assert line["chime_user"] == "created"
    assert line["chime_user_id"] == f"oidc-{COGNITO_SUB}"
    assert (line["user"], line["sub"], line["client_id"]) == ("alice", COGNITO_SUB, "4tq0example0client")
    assert line["time"].endswith("+00:00")
    assert "source_ip" in line


def test_the_audit_line_is_an_embedded_metric_document(identity, capsys):
    identity.add_response("create_app_instance_user", {"AppInstanceUserArn": "arn:x"}, expected_create())
    app.handler(cognito_event(), None)

    [line] = audit_lines(capsys)
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "HobbiesCommunity"
    assert directive["Dimensions"] == [["Source"]]
    assert {metric["Name"] for metric in directive["Metrics"]} == {"SignIns", "PostAuthenticationErrors"}
    assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
    assert (line["Source"], line["SignIns"], line["PostAuthenticationErrors"]) == ("cognito", 1, 0)
    assert isinstance(line["_aws"]["Timestamp"], int)


def test_a_chime_user_that_already_exists_counts_as_success(identity, capsys):
    identity.add_client_error(
        "create_app_instance_user",
        service_error_code="ConflictException",
        http_status_code=409,
        expected_params=expected_create(),
    )
    event = cognito_event()

    assert app.handler(event, None) is event
    [line] = audit_lines(capsys)
    assert (line["chime_user"], line["PostAuthenticationErrors"]) == ("exists", 0)


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottledClientException", 429), ("ForbiddenException", 403), ("ServiceFailureException", 500)],
)
def test_any_other_error_is_logged_and_counted_and_the_sign_in_goes_on(identity, capsys, caplog, code, status):
    identity.add_client_error(
        "create_app_instance_user", service_error_code=code, http_status_code=status, expected_params=expected_create()
    )
    event = cognito_event()

    assert app.handler(event, None) is event
    [line] = audit_lines(capsys)
    assert (line["chime_user"], line["SignIns"], line["PostAuthenticationErrors"]) == ("failed", 1, 1)
    assert code in caplog.text


def test_a_failure_before_any_call_still_returns_the_event(identity, monkeypatch, capsys):
    monkeypatch.delenv("CHIME_APP_INSTANCE_ARN")
    event = cognito_event()

    assert app.handler(event, None) is event
    [line] = audit_lines(capsys)
    assert (line["chime_user"], line["PostAuthenticationErrors"]) == ("failed", 1)


def test_an_event_without_a_sub_still_returns_the_event(identity, capsys):
    event = cognito_event()
    del event["request"]["userAttributes"]["sub"]

    assert app.handler(event, None) is event
    [line] = audit_lines(capsys)
    assert (line["chime_user"], line["chime_user_id"]) == ("failed", None)


def test_a_broken_event_still_comes_back(identity):
    event = {"unexpected": True}
    assert app.handler(event, None) is event


def test_the_source_address_is_taken_when_cognito_passes_it():
    event = cognito_event()
    assert app.source_ip(event) is None
    event["request"]["userContextData"] = {"sourceIp": "203.0.113.7", "encodedData": "..."}
    assert app.source_ip(event) == "203.0.113.7"


def hashed(sub: str) -> str:
    return "oidc-" + hashlib.sha256(sub.encode()).hexdigest()[:56]


@pytest.mark.parametrize(
    ("sub", "pk", "expected"),
    [
        (COGNITO_SUB, None, f"oidc-{COGNITO_SUB}"),
        (COGNITO_SUB, 7, f"oidc-{COGNITO_SUB}"),  # the sub wins over the key
        ("alice@example.org", None, "oidc-alice@example.org"),
        (None, 42, "user-42"),
        ("auth0|5f7c8ec7c33c6c004bbafe82", None, hashed("auth0|5f7c8ec7c33c6c004bbafe82")),  # "|" is not allowed
        ("x" * 59, None, "oidc-" + "x" * 59),  # the longest sub kept as it is: 64 characters
        ("x" * 60, None, hashed("x" * 60)),  # one more: hashed
        ("ends-with-dash-", None, hashed("ends-with-dash-")),  # must end with a letter or digit
    ],
)
def test_the_user_id_rule(sub, pk, expected):
    assert app.app_instance_user_id(sub=sub, pk=pk) == expected


def test_the_examples_in_docs_deploy_md():
    # The app's Chime backend derives the same ids (and test_the_app_backend_derives_the_same_id checks it).
    assert app.app_instance_user_id(sub="auth0|5f7c8ec7c33c6c004bbafe82") == (
        "oidc-41aa487887e3c45c19b2448b2f036552f00b2c78e23946d390a7e846"
    )
    assert app.client_request_token(f"oidc-{COGNITO_SUB}") == (
        "05286d9ee4f00c1d4ab8736cc9c550a14bd5ccd4640068b2962ea2792a00d7d6"
    )


@pytest.mark.parametrize("pk", [None, -1, "12", True])
def test_the_user_id_rule_needs_a_sub_or_a_primary_key(pk):
    with pytest.raises(ValueError, match="sub or the user's primary key"):
        app.app_instance_user_id(sub=None, pk=pk)


@given(st.text(min_size=1, max_size=300))
def test_every_sub_gives_an_id_chime_accepts(sub):
    pattern, minimum, maximum = model_pattern("AppInstanceUserId")
    user_id = app.app_instance_user_id(sub=sub)
    assert pattern.fullmatch(user_id)
    assert minimum <= len(user_id) <= maximum
    token_pattern, token_min, token_max = model_pattern("ClientRequestToken")
    token = app.client_request_token(user_id)
    assert token_pattern.fullmatch(token)
    assert token_min <= len(token) <= token_max


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_every_primary_key_gives_an_id_chime_accepts(pk):
    pattern, minimum, maximum = model_pattern("AppInstanceUserId")
    user_id = app.app_instance_user_id(pk=pk)
    assert pattern.fullmatch(user_id)
    assert minimum <= len(user_id) <= maximum


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_two_subs_never_share_an_id(first, second):
    if first != second:
        assert app.app_instance_user_id(sub=first) != app.app_instance_user_id(sub=second)


def test_subs_and_primary_keys_never_share_an_id():
    assert app.app_instance_user_id(sub="user-42") != app.app_instance_user_id(pk=42)


@pytest.mark.django_db
def test_the_app_backend_derives_the_same_id(make_user):
    """One rule for both: the Chime backend (from the account) and this hook (from Cognito's sub)."""
    backend = pytest.importorskip("chat.backends.chime.identity")
    from hobbies.accounts.models import OidcIdentity

    subjects = [COGNITO_SUB, "alice@example.org", "auth0|5f7c8ec7c33c6c004bbafe82", "x" * 59, "x" * 60]
    for number, subject in enumerate(subjects):
        user = make_user(f"person{number}")
        OidcIdentity.objects.create(user=user, issuer="https://cognito-idp.example", subject=subject)
        user_id = backend.app_instance_user_id(user)
        assert user_id == app.app_instance_user_id(sub=subject)
        assert backend.request_token(user_id) == app.client_request_token(user_id)
    local = make_user("local")
    assert backend.app_instance_user_id(local) == app.app_instance_user_id(pk=local.pk)


def test_a_long_user_name_is_cut_to_chimes_limit(identity, capsys):
    name = "n" * 150
    identity.add_response("create_app_instance_user", {"AppInstanceUserArn": "arn:x"}, expected_create(name="n" * 100))
    event = cognito_event()
    event["userName"] = name
    assert app.handler(event, None) is event


def test_the_chime_calls_stay_within_cognitos_time_limit():
    config = app.CHIME_CONFIG
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.connect_timeout + config.read_timeout < 5
