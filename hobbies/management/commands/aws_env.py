"""The app's environment from its CloudFormation stack (cloudformation/template.yaml).

    manage.py aws_env --stack NAME [--region R] [--output FILE]   print (or write) the env file
    manage.py aws_env --stack NAME [--region R] --check           is every resource reachable?

The command reads the stack's outputs and the OIDC client secret from Secrets Manager. It writes
the variables the app reads today (settings.py). It also writes the ones that the Chime messaging
backend, the relay and the CloudWatch metrics will read; they are marked as such. The file is a
shell and systemd environment file: values are quoted only when they need it.

The command lives in the project package (hobbies/, installed as an app for this), above
accounts and chat. It touches Cognito, S3, Chime and CloudWatch alike, so no one of them owns it.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hobbies.accounts import oidc_config

# Retries in botocore's standard mode. No endpoint_url: botocore honours AWS_ENDPOINT_URL and
# AWS_ENDPOINT_URL_<SERVICE> on its own.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
OUTPUTS = (
    "CommunityName",
    "AppOrigin",
    "Region",
    "UserPoolId",
    "UserPoolClientId",
    "CognitoDomain",
    "ClientSecretArn",
    "AdminGroup",
    "AttachmentsBucket",
    "AppInstanceArn",
    "AdminUserArn",
    "EventStreamArn",
    "AppLogGroup",
    "MetricsNamespace",
)
PROVIDER_LABEL = "Cognito User Pools"
HEADER = """\
# Hobbies Community on AWS: stack {stack} in {region}, written by `manage.py aws_env` at {time}.
# It holds the OIDC client secret: keep it private (chmod 600) and out of version control.
# Load it with `set -a; . ./aws.env; set +a`, or systemd's EnvironmentFile= (docs/deploy.md).
"""
LATER = (
    "# --- for the Chime messaging backend and `manage.py chime_relay` (being built) and the CloudWatch\n"
    "# metrics (next step); the app ignores the ones it does not read yet ---"
)
YOURS = """\
# --- still yours to set (docs/deploy.md): DJANGO_ENV=production, SECRET_KEY, DATABASE_URL, REDIS_URL ---
"""


def make_client(service: str, region: str | None):
    return boto3.client(service, region_name=region, config=CLIENT_CONFIG)


def stack_outputs(cloudformation, stack: str) -> dict[str, str]:
    """The stack's outputs by key; a stack that is missing, or that lacks an output, is a clear error."""
    try:
        [description] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        raise CommandError(f"cannot read the stack {stack!r}: {reason(error)}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])}
    if missing := [key for key in OUTPUTS if key not in outputs]:
        raise CommandError(
            f"the stack {stack!r} ({description['StackStatus']}) has no output {', '.join(missing)}: "
            "is it deployed from cloudformation/template.yaml, and did its last operation complete?"
        )
    return outputs


def client_secret(secrets, outputs: dict[str, str]) -> str:
    value = json.loads(secrets.get_secret_value(SecretId=outputs["ClientSecretArn"])["SecretString"])
    if value.get("client_id") != outputs["UserPoolClientId"] or not value.get("client_secret"):
        raise ValueError("the secret does not hold this stack's client id and secret")
    return value["client_secret"]


def environment(outputs: dict[str, str], secret: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(what settings.py reads today, what the next steps will read), each a list of (name, value)."""
    origin = urlsplit(outputs["AppOrigin"])
    region = outputs["Region"]
    today = [
        ("COMMUNITY_NAME", outputs["CommunityName"]),
        ("ALLOWED_HOSTS", origin.hostname or ""),
        ("CSRF_TRUSTED_ORIGINS", outputs["AppOrigin"]),
        ("ATTACHMENTS_BACKEND", "s3"),
        ("AWS_STORAGE_BUCKET_NAME", outputs["AttachmentsBucket"]),
        ("AWS_S3_REGION_NAME", region),
        ("OIDC_ENABLED", "true"),
        ("OIDC_PROVIDER_LABEL", PROVIDER_LABEL),
        ("OIDC_RP_CLIENT_ID", outputs["UserPoolClientId"]),
        ("OIDC_RP_CLIENT_SECRET", secret),
        ("COGNITO_USER_POOL_ID", outputs["UserPoolId"]),
        ("COGNITO_REGION", region),
        ("COGNITO_DOMAIN", outputs["CognitoDomain"]),
        # Self-registration on the hosted UI waits for an administrator, as local registration does.
        ("OIDC_REQUIRE_APPROVAL", "true"),
        ("OIDC_ADMIN_GROUPS", outputs["AdminGroup"]),
    ]
    later = [
        ("MESSAGING_BACKEND", "chime"),
        ("CHIME_REGION", region),
        ("CHIME_APP_INSTANCE_ARN", outputs["AppInstanceArn"]),
        ("CHIME_ADMIN_USER_ARN", outputs["AdminUserArn"]),
        ("CHIME_EVENT_STREAM_ARN", outputs["EventStreamArn"]),
        ("METRICS_CLOUDWATCH", "true"),
        ("METRICS_NAMESPACE", outputs["MetricsNamespace"]),
    ]
    return today, later


def env_file(stack: str, outputs: dict[str, str], secret: str, *, now: datetime | None = None) -> str:
    today, later = environment(outputs, secret)
    moment = (now or datetime.now(tz=UTC)).isoformat(timespec="seconds")
    lines = [HEADER.format(stack=stack, region=outputs["Region"], time=moment)]
    lines.append("# --- read by the app today (hobbies/settings.py) ---")
    lines += [f"{name}={shlex.quote(value)}" for name, value in today]
    lines += ["", LATER]
    lines += [f"{name}={shlex.quote(value)}" for name, value in later]
    lines += ["", f"# The app logs to stderr: ship those lines to the log group {outputs['AppLogGroup']}.", YOURS]
    return "\n".join(lines)


@dataclass(frozen=True)
class Check:
    what: str
    resource: str
    run: Callable[[], str]


def reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def checks(outputs: dict[str, str], client: Callable[[str], object]) -> list[Check]:
    """One call per resource, each one the app itself needs (or that aws_env needs), read-only."""

    def secret() -> str:
        client_secret(client("secretsmanager"), outputs)
        return "client id and secret present"

    def user_pool() -> str:
        endpoints = oidc_config.cognito_endpoints(
            user_pool_id=outputs["UserPoolId"], region=outputs["Region"], domain=outputs["CognitoDomain"]
        )
        document = oidc_config.discover(endpoints.issuer + oidc_config.WELL_KNOWN, timeout=10)
        if document["issuer"] != endpoints.issuer:
            raise ValueError(f"the discovery document names the issuer {document['issuer']!r}")
        return "OIDC discovery document served"

    def bucket() -> str:
        client("s3").head_bucket(Bucket=outputs["AttachmentsBucket"])
        return "reachable"

    def stream() -> str:
        summary = client("kinesis").describe_stream_summary(StreamARN=outputs["EventStreamArn"])
        status = summary["StreamDescriptionSummary"]["StreamStatus"]
        if status not in {"ACTIVE", "UPDATING"}:
            raise ValueError(f"the stream is {status}")
        return status.lower()

    def service_user() -> str:
        user = client("chime-sdk-identity").describe_app_instance_user(AppInstanceUserArn=outputs["AdminUserArn"])
        return f"{user['AppInstanceUser'].get('Name', '')} found".strip()

    def log_group() -> str:
        client("logs").describe_log_streams(logGroupName=outputs["AppLogGroup"], limit=1)
        return "reachable"

    return [
        Check("Secrets Manager secret", outputs["ClientSecretArn"], secret),
        Check("Cognito user pool", outputs["UserPoolId"], user_pool),
        Check("S3 attachments bucket", outputs["AttachmentsBucket"], bucket),
        Check("Kinesis event stream", outputs["EventStreamArn"], stream),
        Check("Chime app instance (service user)", outputs["AdminUserArn"], service_user),
        Check("CloudWatch Logs group", outputs["AppLogGroup"], log_group),
    ]


class Command(BaseCommand):
    help = "Print the environment the app needs from its CloudFormation stack, or --check every resource."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stack", required=True, help="the CloudFormation stack's name (or id)")
        parser.add_argument("--region", default=None, help="the stack's region (default: as the AWS CLI finds it)")
        parser.add_argument("--check", action="store_true", help="check that each resource is reachable instead")
        parser.add_argument("--output", metavar="FILE", help="write the env file here (mode 600) instead of stdout")

    def handle(self, *args, stack: str, region: str | None, check: bool, output: str | None, **options) -> None:
        try:
            outputs = stack_outputs(make_client("cloudformation", region), stack)
        except BotoCoreError as error:
            raise CommandError(f"cannot read the stack {stack!r}: {reason(error)}") from None
        clients: dict[str, object] = {}

        def client(service: str):
            if service not in clients:
                clients[service] = make_client(service, outputs["Region"])
            return clients[service]

        if check:
            self.check_resources(stack, outputs, client)
            return
        try:
            secret = client_secret(client("secretsmanager"), outputs)
        except (ClientError, BotoCoreError, ValueError) as error:
            raise CommandError(f"cannot read the client secret {outputs['ClientSecretArn']}: {reason(error)}") from None
        text = env_file(stack, outputs, secret)
        if output:
            descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            self.stderr.write(f"wrote {output} (mode 600)")
        else:
            self.stdout.write(text, ending="")

    def check_resources(self, stack: str, outputs: dict[str, str], client: Callable[[str], object]) -> None:
        self.stdout.write(f"ok      CloudFormation stack {stack} ({outputs['Region']})")
        failed = []
        for item in checks(outputs, client):
            try:
                detail = item.run()
            except (ClientError, BotoCoreError, ImproperlyConfigured, ValueError, KeyError) as error:
                failed.append(item.what)
                self.stdout.write(f"FAILED  {item.what} {item.resource}: {reason(error)}")
            else:
                self.stdout.write(f"ok      {item.what} {item.resource}: {detail}")
        self.stdout.write(
            f"-       CloudWatch metrics ({outputs['MetricsNamespace']}): not checked, the app may only write them"
        )
        if failed:
            raise CommandError(f"not reachable with the current credentials: {', '.join(failed)}")
