"""cloudformation/lambdas/chime_setup/app.py: Create, Update and Delete, each answered to CloudFormation.

CloudFormation's pre-signed response URL is played by a real HTTP server on 127.0.0.1, so every test
sees the exact PUT the function sends.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.stub import Stubber

from cloudformation.tests.support import ACCOUNT, APP_INSTANCE_ARN, REGION, LambdaContext, aws_client, load_lambda

app = load_lambda("chime_setup")

ADMIN_ARN = f"{APP_INSTANCE_ARN}/user/service-app"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/chime-messaging-hobbies"
PROPERTIES = {
    "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:setup",
    "ServiceTimeout": "300",
    "AppInstanceArn": APP_INSTANCE_ARN,
    "AdminUserArn": ADMIN_ARN,
    "StreamArn": STREAM_ARN,
    "DataTypes": ["ChannelMessage", "Channel"],
}
PHYSICAL_ID = f"{APP_INSTANCE_ARN}/messaging-setup"
BOTH = [{"DataType": "ChannelMessage", "ResourceArn": STREAM_ARN}, {"DataType": "Channel", "ResourceArn": STREAM_ARN}]


class CloudFormationEndpoint(ThreadingHTTPServer):
    """Stands in for the pre-signed S3 URL: records every PUT it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), AnswerHandler)
        self.answers: list[dict] = []
        self.arrived = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cloudformation-response?X-Amz-Signature=abc"

    def wait(self, count: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.answers) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.answers


class AnswerHandler(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.answers.append(
            {"path": self.path, "content_type": self.headers.get("Content-Type"), **json.loads(body)}
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def endpoint():
    server = CloudFormationEndpoint()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def pauses(monkeypatch) -> list[float]:
    """The pauses between attempts, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(app, "pause", slept.append)
    return slept


@pytest.fixture
def chime(monkeypatch):
    identity, messaging = aws_client("chime-sdk-identity"), aws_client("chime-sdk-messaging")
    monkeypatch.setattr(app, "clients", lambda: app.Clients(identity=identity, messaging=messaging))
    with Stubber(identity) as identity_stub, Stubber(messaging) as messaging_stub:
        yield identity_stub, messaging_stub
        identity_stub.assert_no_pending_responses()
        messaging_stub.assert_no_pending_responses()


def request(endpoint, kind: str, properties=None, old=None, physical_id=None) -> dict:
    event = {
        "RequestType": kind,
        "ResponseURL": endpoint.url,
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/hobbies/8d0f5c40-0000-11ef-0000-0a1b2c3d4e5f",
        "RequestId": "5d478a8b-1234-4d5e-9f00-abcdef012345",
        "ResourceType": "Custom::ChimeMessagingSetup",
        "LogicalResourceId": "ChimeMessagingSetup",
        "ResourceProperties": PROPERTIES if properties is None else properties,
    }
    if old is not None:
        event["OldResourceProperties"] = old
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def run(endpoint, event, context=None) -> dict:
    app.handler(event, context or LambdaContext())
    [answer] = endpoint.wait()
    assert answer["RequestId"] == event["RequestId"]
    assert answer["StackId"] == event["StackId"]
    assert answer["LogicalResourceId"] == "ChimeMessagingSetup"
    return answer


def expect_admin(identity, admin=ADMIN_ARN, instance=APP_INSTANCE_ARN):
    identity.add_response(
        "create_app_instance_admin",
        {"AppInstanceAdmin": {"Arn": admin}, "AppInstanceArn": instance},
        {"AppInstanceAdminArn": admin, "AppInstanceArn": instance},
    )


def expect_streaming(messaging, configurations=BOTH, instance=APP_INSTANCE_ARN):
    messaging.add_response(
        "put_messaging_streaming_configurations",
        {"StreamingConfigurations": configurations},
        {"AppInstanceArn": instance, "StreamingConfigurations": configurations},
    )


def test_create_promotes_the_service_user_and_streams_both_data_types(endpoint, chime):
    identity, messaging = chime
    expect_admin(identity)
    expect_streaming(messaging)

    answer = run(endpoint, request(endpoint, "Create"))
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == PHYSICAL_ID
    assert answer["Data"] == {"AppInstanceArn": APP_INSTANCE_ARN, "AdminUserArn": ADMIN_ARN, "StreamArn": STREAM_ARN}
    # The URL is signed without a content type, so the answer must not send one.
    assert not answer["content_type"]
    assert answer["path"].startswith("/cloudformation-response?")


def admin_conflict(identity) -> None:
    identity.add_client_error(
        "create_app_instance_admin",
        service_error_code="ConflictException",
        http_status_code=409,
        expected_params={"AppInstanceAdminArn": ADMIN_ARN, "AppInstanceArn": APP_INSTANCE_ARN},
    )


def test_create_when_the_user_is_already_an_admin(endpoint, chime):
    identity, messaging = chime
    admin_conflict(identity)
    identity.add_response(
        "describe_app_instance_admin",
        {"AppInstanceAdmin": {"Admin": {"Arn": ADMIN_ARN}, "AppInstanceArn": APP_INSTANCE_ARN}},
        {"AppInstanceAdminArn": ADMIN_ARN, "AppInstanceArn": APP_INSTANCE_ARN},
    )
    expect_streaming(messaging)

    assert run(endpoint, request(endpoint, "Create"))["Status"] == "SUCCESS"


def test_create_waits_while_the_new_resources_and_role_settle(endpoint, chime, pauses):
    identity, messaging = chime
    # "Creation in progress": a conflict although the user is not an admin yet.
    admin_conflict(identity)
    identity.add_client_error("describe_app_instance_admin", service_error_code="BadRequestException")
    expect_admin(identity)
    # IAM not propagated yet, twice.
    messaging.add_client_error("put_messaging_streaming_configurations", service_error_code="ForbiddenException")
    messaging.add_client_error("put_messaging_streaming_configurations", service_error_code="ForbiddenException")
    expect_streaming(messaging)

    assert run(endpoint, request(endpoint, "Create"))["Status"] == "SUCCESS"
    assert pauses == [app.PATIENCE_SECONDS] * 3


def test_create_gives_up_after_its_patience_and_says_why(endpoint, chime, pauses):
    identity, _messaging = chime
    for _ in range(app.PATIENCE_ATTEMPTS):
        identity.add_client_error("create_app_instance_admin", service_error_code="UnauthorizedClientException")

    answer = run(endpoint, request(endpoint, "Create"))
    assert answer["Status"] == "FAILED"
    assert "UnauthorizedClientException" in answer["Reason"]
    assert len(pauses) == app.PATIENCE_ATTEMPTS - 1


def test_a_failed_create_answers_failed_with_the_reason(endpoint, chime):
    identity, messaging = chime
    expect_admin(identity)
    messaging.add_client_error(
        "put_messaging_streaming_configurations",
        service_error_code="BadRequestException",
        service_message="The stream name must start with chime-messaging-",
        http_status_code=400,
    )

    answer = run(endpoint, request(endpoint, "Create"))
    assert answer["Status"] == "FAILED"
    assert "chime-messaging-" in answer["Reason"]
    assert answer["PhysicalResourceId"] == PHYSICAL_ID


def test_a_create_with_missing_properties_fails_and_its_rollback_deletes_nothing(endpoint, chime):
    answer = run(endpoint, request(endpoint, "Create", properties={"ServiceToken": "x"}))
    assert answer["Status"] == "FAILED"
    assert "AppInstanceArn" in answer["Reason"]

    endpoint.answers.clear()
    rollback = request(endpoint, "Delete", properties={"ServiceToken": "x"}, physical_id=answer["PhysicalResourceId"])
    assert run(endpoint, rollback)["Status"] == "SUCCESS"  # and no call reached Chime (Stubber has none queued)


def test_update_moves_the_admin_role_to_the_new_service_user(endpoint, chime):
    identity, messaging = chime
    new_admin = f"{APP_INSTANCE_ARN}/user/service-app-2"
    expect_admin(identity, admin=new_admin)
    identity.add_response(
        "delete_app_instance_admin", {}, {"AppInstanceAdminArn": ADMIN_ARN, "AppInstanceArn": APP_INSTANCE_ARN}
    )
    expect_streaming(messaging)

    event = request(
        endpoint, "Update", {**PROPERTIES, "AdminUserArn": new_admin}, old=PROPERTIES, physical_id=PHYSICAL_ID
    )
    answer = run(endpoint, event)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", PHYSICAL_ID)
    assert answer["Data"]["AdminUserArn"] == new_admin


def test_update_that_drops_a_data_type_clears_the_configuration_first(endpoint, chime):
    _identity, messaging = chime
    messaging.add_response("delete_messaging_streaming_configurations", {}, {"AppInstanceArn": APP_INSTANCE_ARN})
    expect_streaming(messaging, configurations=[{"DataType": "ChannelMessage", "ResourceArn": STREAM_ARN}])

    event = request(
        endpoint, "Update", {**PROPERTIES, "DataTypes": ["ChannelMessage"]}, old=PROPERTIES, physical_id=PHYSICAL_ID
    )
    assert run(endpoint, event)["Status"] == "SUCCESS"


def test_update_to_a_new_app_instance_sets_it_up_under_a_new_id(endpoint, chime):
    identity, messaging = chime
    instance = APP_INSTANCE_ARN.replace("0f8d3c0e", "1a2b3c4d")
    admin = f"{instance}/user/service-app"
    expect_admin(identity, admin=admin, instance=instance)
    expect_streaming(messaging, instance=instance)

    new = {**PROPERTIES, "AppInstanceArn": instance, "AdminUserArn": admin}
    answer = run(endpoint, request(endpoint, "Update", new, old=PROPERTIES, physical_id=PHYSICAL_ID))
    # A new physical id: CloudFormation then sends a Delete for the old one.
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"{instance}/messaging-setup")


def test_a_failed_update_keeps_the_physical_id(endpoint, chime):
    _identity, messaging = chime
    messaging.add_client_error("put_messaging_streaming_configurations", service_error_code="BadRequestException")

    answer = run(endpoint, request(endpoint, "Update", PROPERTIES, old=PROPERTIES, physical_id=PHYSICAL_ID))
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", PHYSICAL_ID)


def test_delete_stops_streaming_and_demotes_the_admin(endpoint, chime):
    identity, messaging = chime
    messaging.add_response("delete_messaging_streaming_configurations", {}, {"AppInstanceArn": APP_INSTANCE_ARN})
    identity.add_response(
        "delete_app_instance_admin", {}, {"AppInstanceAdminArn": ADMIN_ARN, "AppInstanceArn": APP_INSTANCE_ARN}
    )

    answer = run(endpoint, request(endpoint, "Delete", physical_id=PHYSICAL_ID))
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", PHYSICAL_ID)


def test_delete_of_what_is_already_gone_succeeds(endpoint, chime):
    identity, messaging = chime
    messaging.add_client_error("delete_messaging_streaming_configurations", service_error_code="NotFoundException")
    identity.add_client_error("delete_app_instance_admin", service_error_code="BadRequestException")

    assert run(endpoint, request(endpoint, "Delete", physical_id=PHYSICAL_ID))["Status"] == "SUCCESS"


def test_delete_that_is_refused_answers_failed_instead_of_hanging(endpoint, chime, pauses):
    _identity, messaging = chime
    messaging.add_client_error(
        "delete_messaging_streaming_configurations", service_error_code="ForbiddenException", http_status_code=403
    )

    answer = run(endpoint, request(endpoint, "Delete", physical_id=PHYSICAL_ID))
    assert answer["Status"] == "FAILED"
    assert "ForbiddenException" in answer["Reason"]
    assert pauses == []  # a delete does not wait: CloudFormation hears at once


def test_an_unknown_request_type_answers_failed(endpoint, chime):
    answer = run(endpoint, request(endpoint, "Rename", physical_id=PHYSICAL_ID))
    assert answer["Status"] == "FAILED"
    assert "Rename" in answer["Reason"]


def test_work_that_outlasts_the_function_is_answered_failed_before_lambda_stops_it(endpoint, chime, monkeypatch):
    finished = threading.Event()

    def slow_apply(event, aws):
        time.sleep(1.0)
        finished.set()
        return PHYSICAL_ID, {}

    monkeypatch.setattr(app, "apply", slow_apply)
    context = LambdaContext(remaining_ms=app.TIMEOUT_MARGIN_MS + 200)
    app.handler(request(endpoint, "Create"), context)

    assert finished.is_set()
    answers = endpoint.wait()
    time.sleep(0.2)
    assert len(answers) == 1  # the late SUCCESS is not sent after the FAILED
    assert answers[0]["Status"] == "FAILED"
    assert "timed out" in answers[0]["Reason"]


def test_the_answer_goes_only_to_https_or_this_machine():
    with pytest.raises(ValueError, match="refusing"):
        app.put("http://example.org/response", b"{}")
    with pytest.raises(ValueError, match="refusing"):
        app.put("file:///etc/passwd", b"{}")
