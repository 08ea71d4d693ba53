"""hobbies/management/commands/aws_env.py: the stack's outputs and secret become an env file the settings load."""

from __future__ import annotations

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
from io import StringIO

import boto3
import pytest
from botocore.stub import Stubber
from django.conf import settings
from django.core.management import CommandError, call_command

from hobbies.accounts import oidc_config
from hobbies.management.commands import aws_env

REGION = "eu-central-1"
STACK = "hobbies"
STACK_ID = f"arn:aws:cloudformation:{REGION}:111122223333:stack/{STACK}/8d0f5c40-0000-11ef-0000-0a1b2c3d4e5f"
APP_INSTANCE = f"arn:aws:chime:{REGION}:111122223333:app-instance/0f8d3c0e-6a53-4a4e-9a59-2f3e1c6b7a10"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:111122223333:secret:ClientSecret-AbCdEf"
OUTPUTS = {
    "CommunityName": "F13 Hobbies Community",
    "AppOrigin": "https://chat.example.org",
    "Region": REGION,
    "UserPoolId": f"{REGION}_AbC123xyz",
    "UserPoolClientId": "4tq0example0client0id",
    "CognitoDomain": f"hobbies-8d0f5c40.auth.{REGION}.amazoncognito.com",
    "ClientSecretArn": SECRET_ARN,
    "AdminGroup": "hobbies-admins",
    "OidcCallbackUrl": "https://chat.example.org/oidc/callback/",  # an output aws_env does not need
    "AttachmentsBucket": "hobbies-attachmentsbucket-1x2y3z",
    "AppInstanceArn": APP_INSTANCE,
    "AdminUserArn": f"{APP_INSTANCE}/user/service-app",
    "EventStreamArn": f"arn:aws:kinesis:{REGION}:111122223333:stream/chime-messaging-hobbies",
    "AppLogGroup": "/hobbies/hobbies/app",
    "MetricsNamespace": "HobbiesCommunity",
}
CLIENT_SECRET = "s3cr3t value with spaces & $ymbols"


def described(outputs=OUTPUTS, status="CREATE_COMPLETE") -> dict:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackId": STACK_ID,
                "CreationTime": "2026-11-01T10:00:00Z",
                "StackStatus": status,
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


def secret_value() -> dict:
    value = json.dumps({"client_id": OUTPUTS["UserPoolClientId"], "client_secret": CLIENT_SECRET})
    return {"ARN": SECRET_ARN, "Name": "ClientSecret-AbCdEf", "SecretString": value}


@pytest.fixture
def stubs(monkeypatch):
    """One stubbed client per service; aws_env's make_client hands it out. The test queues the answers."""
    clients: dict[str, object] = {}
    stubbers: dict[str, Stubber] = {}
    regions: dict[str, str | None] = {}

    def stub(service: str) -> Stubber:
        if service not in stubbers:
            clients[service] = boto3.client(
                service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
            )
            stubbers[service] = Stubber(clients[service])
            stubbers[service].activate()
        return stubbers[service]

    def make_client(service, region):
        stub(service)
        regions[service] = region
        return clients[service]

    monkeypatch.setattr(aws_env, "make_client", make_client)
    stub.regions = regions
    yield stub
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def expect_stack(stub, outputs=OUTPUTS, status="CREATE_COMPLETE") -> None:
    stub("cloudformation").add_response("describe_stacks", described(outputs, status), {"StackName": STACK})


def expect_secret(stub) -> None:
    stub("secretsmanager").add_response("get_secret_value", secret_value(), {"SecretId": SECRET_ARN})


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("aws_env", "--stack", STACK, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def parse_env(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, raw = line.partition("=")
            [values[name]] = shlex.split(raw) or [""]
    return values


def settings_in_subprocess(env: dict[str, str], names: list[str]) -> dict:
    """These settings, as hobbies/settings.py makes them in a fresh process with this environment added."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{name: getattr(s, name, None) for name in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hobbies.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_env_file_carries_what_the_app_needs(stubs):
    expect_stack(stubs)
    expect_secret(stubs)

    out, _ = run("--region", REGION)
    env = parse_env(out)
    assert env == {
        "COMMUNITY_NAME": "F13 Hobbies Community",
        "ALLOWED_HOSTS": "chat.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://chat.example.org",
        "ATTACHMENTS_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "hobbies-attachmentsbucket-1x2y3z",
        "AWS_S3_REGION_NAME": REGION,
        "OIDC_ENABLED": "true",
        "OIDC_PROVIDER_LABEL": "Cognito User Pools",
        "OIDC_RP_CLIENT_ID": "4tq0example0client0id",
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "COGNITO_USER_POOL_ID": f"{REGION}_AbC123xyz",
        "COGNITO_REGION": REGION,
        "COGNITO_DOMAIN": f"hobbies-8d0f5c40.auth.{REGION}.amazoncognito.com",
        "OIDC_REQUIRE_APPROVAL": "true",
        "OIDC_ADMIN_GROUPS": "hobbies-admins",
        "MESSAGING_BACKEND": "chime",
        "CHIME_REGION": REGION,
        "CHIME_APP_INSTANCE_ARN": APP_INSTANCE,
        "CHIME_ADMIN_USER_ARN": f"{APP_INSTANCE}/user/service-app",
        "CHIME_EVENT_STREAM_ARN": OUTPUTS["EventStreamArn"],
        "METRICS_CLOUDWATCH": "true",
        "METRICS_NAMESPACE": "HobbiesCommunity",
    }
    assert stubs.regions == {"cloudformation": REGION, "secretsmanager": REGION}
    assert "keep it private" in out
    assert "DJANGO_ENV=production, SECRET_KEY, DATABASE_URL, REDIS_URL" in out


def test_the_settings_load_the_env_file(stubs):
    expect_stack(stubs)
    expect_secret(stubs)
    env = parse_env(run("--region", REGION)[0])

    expected = {
        "ATTACHMENTS_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "hobbies-attachmentsbucket-1x2y3z",
        "AWS_S3_REGION_NAME": REGION,
        "OIDC_ENABLED": True,
        "OIDC_RP_CLIENT_ID": "4tq0example0client0id",
        "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_OP_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbC123xyz",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"https://hobbies-8d0f5c40.auth.{REGION}.amazoncognito.com/oauth2/authorize",
        "OIDC_OP_LOGOUT_ENDPOINT": f"https://hobbies-8d0f5c40.auth.{REGION}.amazoncognito.com/logout",
        "OIDC_REQUIRE_APPROVAL": True,
        "OIDC_ADMIN_GROUPS": ["hobbies-admins"],
        "COMMUNITY_NAME": "F13 Hobbies Community",
        "ALLOWED_HOSTS": ["chat.example.org"],
        "CSRF_TRUSTED_ORIGINS": ["https://chat.example.org"],
    }
    assert settings_in_subprocess(env, list(expected)) == expected
    # The Chime backend's settings, once settings.py reads them, must accept what aws_env writes.
    chime = {
        "MESSAGING_BACKEND": "chime",
        "CHIME_REGION": REGION,
        "CHIME_APP_INSTANCE_ARN": APP_INSTANCE,
        "CHIME_ADMIN_USER_ARN": f"{APP_INSTANCE}/user/service-app",
        "CHIME_EVENT_STREAM_ARN": OUTPUTS["EventStreamArn"],
    }
    loaded = settings_in_subprocess(env, list(chime))
    assert {name: value for name, value in loaded.items() if value is not None} in ({}, chime)


def test_a_shell_loads_the_env_file_as_written(stubs, tmp_path):
    expect_stack(stubs)
    expect_secret(stubs)
    path = tmp_path / "aws.env"

    _, err = run("--region", REGION, "--output", str(path))
    assert f"wrote {path}" in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; set +a; printf "%s\\n%s" "$OIDC_RP_CLIENT_SECRET" "$COMMUNITY_NAME"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert shell.stdout.splitlines() == [CLIENT_SECRET, "F13 Hobbies Community"]


def test_a_stack_without_the_outputs_says_so(stubs):
    expect_stack(stubs, outputs={"Region": REGION}, status="ROLLBACK_COMPLETE")
    with pytest.raises(CommandError, match=r"ROLLBACK_COMPLETE.*no output CommunityName"):
        run()


def test_a_missing_stack_says_so(stubs):
    stubs("cloudformation").add_client_error(
        "describe_stacks", service_error_code="ValidationError", service_message="Stack with id hobbies does not exist"
    )
    with pytest.raises(CommandError, match="cannot read the stack 'hobbies': ValidationError: Stack with id"):
        run()


def test_an_unreadable_secret_says_which(stubs):
    expect_stack(stubs)
    stubs("secretsmanager").add_client_error("get_secret_value", service_error_code="AccessDeniedException")
    with pytest.raises(CommandError, match=f"cannot read the client secret {SECRET_ARN}: AccessDeniedException"):
        run()


def discovery(monkeypatch, issuer: str | None = None) -> list[str]:
    """Cognito's public OIDC discovery document, served without the network."""
    asked = []

    def discover(url, *, timeout):
        asked.append(url)
        return {"issuer": issuer or url.removesuffix(oidc_config.WELL_KNOWN)}

    monkeypatch.setattr(oidc_config, "discover", discover)
    return asked


def expect_every_resource(stubs, *, stream_error: str | None = None) -> None:
    expect_secret(stubs)
    stubs("s3").add_response("head_bucket", {}, {"Bucket": OUTPUTS["AttachmentsBucket"]})
    if stream_error:
        stubs("kinesis").add_client_error("describe_stream_summary", service_error_code=stream_error)
    else:
        summary = {"StreamName": "chime-messaging-hobbies", "StreamARN": OUTPUTS["EventStreamArn"], "OpenShardCount": 2}
        summary |= {"StreamStatus": "ACTIVE", "RetentionPeriodHours": 24, "EnhancedMonitoring": []}
        summary["StreamCreationTimestamp"] = "2026-11-01T10:00:00Z"
        answer = {"StreamDescriptionSummary": summary}
        stubs("kinesis").add_response("describe_stream_summary", answer, {"StreamARN": OUTPUTS["EventStreamArn"]})
    stubs("chime-sdk-identity").add_response(
        "describe_app_instance_user",
        {"AppInstanceUser": {"AppInstanceUserArn": OUTPUTS["AdminUserArn"], "Name": "Hobbies Community service"}},
        {"AppInstanceUserArn": OUTPUTS["AdminUserArn"]},
    )
    stubs("logs").add_response(
        "describe_log_streams", {"logStreams": []}, {"logGroupName": OUTPUTS["AppLogGroup"], "limit": 1}
    )


def test_check_reaches_every_resource(stubs, monkeypatch):
    expect_stack(stubs)
    expect_every_resource(stubs)
    asked = discovery(monkeypatch)

    out, _ = run("--region", REGION, "--check")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 7 + ["-"]
    assert asked == [f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbC123xyz/.well-known/openid-configuration"]
    assert "Kinesis event stream" in out and "active" in out
    # Every resource client works in the stack's region.
    assert set(stubs.regions.values()) == {REGION}


def test_check_names_the_resource_that_is_not_reachable(stubs, monkeypatch):
    expect_stack(stubs)
    expect_every_resource(stubs, stream_error="AccessDeniedException")
    discovery(monkeypatch)

    out = StringIO()
    with pytest.raises(CommandError, match="not reachable with the current credentials: Kinesis event stream$"):
        call_command("aws_env", "--stack", STACK, "--check", stdout=out)
    [failed] = [line for line in out.getvalue().splitlines() if line.startswith("FAILED")]
    assert failed.startswith(f"FAILED  Kinesis event stream {OUTPUTS['EventStreamArn']}: AccessDeniedException")


def test_check_names_a_user_pool_that_serves_another_issuer(stubs, monkeypatch):
    expect_stack(stubs)
    expect_every_resource(stubs)
    discovery(monkeypatch, issuer="https://elsewhere.example.org")

    with pytest.raises(CommandError, match="Cognito user pool$"):
        run("--check")


def test_clients_use_standard_retries_and_no_endpoint_override(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS"):
        monkeypatch.delenv(name, raising=False)
    client = aws_env.make_client("kinesis", REGION)
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.region_name == REGION
    assert client.meta.endpoint_url == f"https://kinesis.{REGION}.amazonaws.com"


def test_clients_honour_aws_endpoint_url_per_service(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4566")
    assert aws_env.make_client("kinesis", REGION).meta.endpoint_url == "http://127.0.0.1:4566"


def test_manage_py_names_the_stack_it_cannot_reach():
    # The real command line, system checks included, against an endpoint where nothing listens.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL_CLOUDFORMATION": f"http://127.0.0.1:{port}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "aws_env", "--stack", STACK, "--region", REGION],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "CommandError: cannot read the stack 'hobbies': EndpointConnectionError" in result.stderr
