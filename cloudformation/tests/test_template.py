"""cloudformation/template.yaml as cfn-lint's own loader reads it (short-form tags included)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import botocore.session
import pytest
import yaml
from cfnlint.decode import decode

from cloudformation.tests.support import CLOUDFORMATION
from hobbies.accounts.validators import CommunityPasswordValidator

TEMPLATE_PATH = CLOUDFORMATION / "template.yaml"
APP_METRICS = {
    "MessagesPublished",
    "MessageErrors",
    "DeliveryLatency",
    "ActiveConnections",
    "SignIns",
    "MonthlyActiveUsers",
    "RelayLag",
}
# Metrics the stack itself emits (the post-authentication Lambda), and AWS's own.
STACK_METRICS = {"PostAuthenticationErrors"}
AWS_METRICS = {
    ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
    ("AWS/Lambda", "Errors"),
    ("AWS/Usage", "ThrottleCount"),
}
OWN_NAMESPACE = {"Ref": "MetricsNamespace"}
# The Chime calls the app's backend makes, as the issue lists them.
BACKEND_CALLS = """
    CreateAppInstanceUser DescribeAppInstanceUser CreateChannel UpdateChannel DeleteChannel DescribeChannel
    CreateChannelMembership BatchCreateChannelMembership DeleteChannelMembership DescribeChannelMembership
    ListChannelMemberships CreateChannelModerator DeleteChannelModerator CreateChannelBan DeleteChannelBan
    SendChannelMessage UpdateChannelMessage RedactChannelMessage DeleteChannelMessage GetChannelMessage
    ListChannelMessages ListSubChannels
"""
BACKEND_CHIME_ACTIONS = {f"chime:{name}" for name in BACKEND_CALLS.split()}
# IAM prefix -> the botocore services whose operations are that prefix's actions.
BOTOCORE_SERVICES = {
    "chime": ("chime-sdk-identity", "chime-sdk-messaging"),
    "kinesis": ("kinesis",),
    "cloudwatch": ("cloudwatch",),
    "logs": ("logs",),
    "secretsmanager": ("secretsmanager",),
    "cloudformation": ("cloudformation",),
    "iam": ("iam",),
    "s3": ("s3",),
}
# IAM actions whose name is not an API operation's.
IAM_ONLY_ACTIONS = {"s3:ListBucket"}  # ListObjects(V2) and HeadObject's 404
READ_PREFIXES = ("Describe", "Get", "List")
OUTPUT_NAMES = """
    UserPoolId CognitoDomain UserPoolClientId ClientSecretArn AttachmentsBucket Region AppInstanceArn AdminUserArn
    EventStreamArn AppPolicyArn DashboardUrl
"""
REQUIRED_OUTPUTS = set(OUTPUT_NAMES.split())


@pytest.fixture(scope="module")
def template() -> dict:
    loaded, problems = decode(str(TEMPLATE_PATH))
    assert problems == []
    return loaded


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict):
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            yield name, policy["PolicyDocument"]
    for name, policy in resources(template, "AWS::IAM::ManagedPolicy").items():
        yield name, policy["Properties"]["PolicyDocument"]


def allowed_actions(document: dict) -> set[str]:
    return {
        action
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for action in listed(statement["Action"])
    }


def test_the_user_pool_has_the_sign_in_pages_password_policy(template):
    [pool] = resources(template, "AWS::Cognito::UserPool").values()
    policy = pool["Properties"]["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == CommunityPasswordValidator().min_length == 8
    assert (policy["RequireUppercase"], policy["RequireNumbers"], policy["RequireSymbols"]) == (True, True, True)
    assert policy["RequireLowercase"] is False  # the sign-in page does not ask for one


def test_people_register_themselves_with_an_email(template):
    properties = template["Resources"]["UserPool"]["Properties"]
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert properties["AutoVerifiedAttributes"] == ["email"]
    [email] = [attribute for attribute in properties["Schema"] if attribute["Name"] == "email"]
    assert email["Required"] is True
    assert properties["UsernameConfiguration"]["CaseSensitive"] is False  # user names are case-insensitive in the app


def test_the_post_authentication_trigger_is_wired_to_the_function(template):
    pool = template["Resources"]["UserPool"]["Properties"]
    assert pool["LambdaConfig"] == {"PostAuthentication": {"Fn::GetAtt": ["PostAuthenticationFunction", "Arn"]}}
    [permission] = resources(template, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": ["PostAuthenticationFunction", "Arn"]}
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    function = template["Resources"]["PostAuthenticationFunction"]["Properties"]
    assert function["Timeout"] <= 5  # Cognito's limit for a trigger


@pytest.mark.parametrize("name", ["PostAuthenticationFunction", "ChimeSetupFunction"])
def test_each_function_is_python_312_with_its_handler_in_its_folder(template, name):
    function = template["Resources"][name]["Properties"]
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == "app.handler"
    source = CLOUDFORMATION / function["Code"] / "app.py"
    handlers = [node for node in ast.parse(source.read_text()).body if isinstance(node, ast.FunctionDef)]
    assert [node.args.args[0].arg for node in handlers if node.name == "handler"] == ["event"]
    assert function["LoggingConfig"]["LogGroup"]["Ref"] in resources(template, "AWS::Logs::LogGroup")


def test_the_app_client_signs_in_with_the_code_flow_at_our_callback(template):
    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    assert client["CallbackURLs"] == [{"Fn::Sub": "${AppOrigin}/oidc/callback/"}]
    assert client["LogoutURLs"] == [{"Fn::Sub": "${AppOrigin}/"}]


def alarm_metrics(alarm: dict) -> set[tuple]:
    """(namespace, metric name) of every metric an alarm reads, Metrics Insights queries included."""
    properties = alarm["Properties"]
    found = set()
    if "MetricName" in properties:
        found.add((json.dumps(properties["Namespace"], sort_keys=True), properties["MetricName"]))
    for query in properties.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.add((json.dumps(metric["Namespace"], sort_keys=True), metric["MetricName"]))
        elif query["Expression"].startswith("SELECT"):
            match = re.fullmatch(r'SELECT \w+\((\w+)\) FROM SCHEMA\("([^"]+)".*', query["Expression"])
            found.add((json.dumps(match[2]), match[1]))
    return found


def test_every_alarm_reads_known_metrics_and_notifies_the_topic(template):
    own = json.dumps(OWN_NAMESPACE, sort_keys=True)
    known = {(own, name) for name in APP_METRICS | STACK_METRICS} | {(json.dumps(ns), n) for ns, n in AWS_METRICS}
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        assert alarm_metrics(alarm) <= known, name
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    by_alarm = {name: {metric for _, metric in alarm_metrics(alarm)} for name, alarm in alarms.items()}
    assert by_alarm == {
        "MessageErrorRateAlarm": {"MessageErrors", "MessagesPublished"},
        "DeliveryLatencyAlarm": {"DeliveryLatency"},
        "RelayLagAlarm": {"RelayLag", "GetRecords.IteratorAgeMilliseconds"},
        "ChimeThrottleAlarm": {"ThrottleCount"},
        "PostAuthenticationErrorsAlarm": {"Errors", "PostAuthenticationErrors"},
    }


def test_the_error_rate_alarm_fires_above_five_percent(template):
    alarm = template["Resources"]["MessageErrorRateAlarm"]["Properties"]
    [expression] = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    assert expression["Expression"] == "IF((errors + published) > 0, 100 * errors / (errors + published), 0)"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (5, "GreaterThanThreshold")
    latency = template["Resources"]["DeliveryLatencyAlarm"]["Properties"]
    assert latency["ExtendedStatistic"] == "p99"
    throttles = template["Resources"]["ChimeThrottleAlarm"]["Properties"]["Metrics"][0]["Expression"]
    assert "WHERE Service = 'ChimeSDK'" in throttles


def dashboard_body(template: dict) -> dict:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(re.sub(r"\$\{[^}]+\}", "PLACEHOLDER", body))


def test_the_dashboard_shows_every_app_metric(template):
    widgets = dashboard_body(template)["widgets"]
    shown = {line[1] for widget in widgets for line in widget["properties"].get("metrics", []) if len(line) > 1}
    assert shown >= APP_METRICS
    expressions = [
        line[0]["expression"] for w in widgets for line in w["properties"].get("metrics", []) if len(line) == 1
    ]
    assert any("CallCount" in expression for expression in expressions)
    assert any("ThrottleCount" in expression for expression in expressions)
    [alarm_widget] = [widget for widget in widgets if widget["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(resources(template, "AWS::CloudWatch::Alarm"))


def test_no_allowed_write_action_has_a_wildcard_resource(template):
    for name, document in policy_documents(template):
        for statement in document["Statement"]:
            actions = listed(statement["Action"])
            assert not [action for action in actions if "*" in action], name  # no chime:*, s3:*, ...
            if statement["Effect"] != "Allow" or "*" not in listed(statement["Resource"]):
                continue
            # Only PutMetricData (it has no resource type), and only with the namespace condition.
            assert actions == ["cloudwatch:PutMetricData"], (name, actions)
            assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": OWN_NAMESPACE}}


def test_every_allowed_action_is_an_operation_of_its_service(template):
    session = botocore.session.get_session()
    operations = {
        prefix: {op for service in services for op in session.get_service_model(service).operation_names}
        for prefix, services in BOTOCORE_SERVICES.items()
    }
    for name, document in policy_documents(template):
        for action in allowed_actions(document) - IAM_ONLY_ACTIONS:
            prefix, operation = action.split(":")
            assert operation in operations[prefix], (name, action)


def test_the_app_policy_grants_exactly_the_backends_calls_on_this_app_instance(template):
    document = template["Resources"]["AppPolicy"]["Properties"]["PolicyDocument"]
    assert {action for action in allowed_actions(document) if action.startswith("chime:")} == BACKEND_CHIME_ACTIONS
    for statement in document["Statement"]:
        if any(action.startswith("chime:") for action in listed(statement["Action"])):
            for resource in listed(statement["Resource"]):
                text = json.dumps(resource)
                assert "AppInstance" in text and "*" not in text.replace("/user/*", "").replace("/channel/*", "")
    s3 = {s["Sid"]: s for s in document["Statement"] if listed(s["Action"])[0].startswith("s3:")}
    assert s3["AttachmentObjects"]["Resource"] == {"Fn::Sub": "${AttachmentsBucket.Arn}/attachments/*"}
    assert set(s3["AttachmentObjects"]["Action"]) == {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}
    assert (s3["AttachmentsBucket"]["Action"], s3["AttachmentsBucket"]["Resource"]) == (
        "s3:ListBucket",
        {"Fn::GetAtt": ["AttachmentsBucket", "Arn"]},
    )


def test_each_lambda_role_allows_only_what_its_function_calls(template):
    roles = {name: allowed_actions(document) for name, document in policy_documents(template) if name.endswith("Role")}
    assert roles["PostAuthenticationRole"] == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "chime:CreateAppInstanceUser",
    }
    assert roles["ChimeSetupRole"] == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "chime:CreateAppInstanceAdmin",
        "chime:DescribeAppInstanceAdmin",
        "chime:DeleteAppInstanceAdmin",
        "chime:PutMessagingStreamingConfigurations",
        "chime:DeleteMessagingStreamingConfigurations",
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "iam:CreateServiceLinkedRole",
    }
    writes = {
        action for actions in roles.values() for action in actions if not action.split(":")[1].startswith(READ_PREFIXES)
    }
    assert "iam:CreateServiceLinkedRole" in writes  # scoped below
    [link] = [
        statement
        for _, document in policy_documents(template)
        for statement in document["Statement"]
        if statement["Action"] == "iam:CreateServiceLinkedRole"
    ]
    assert link["Condition"] == {"StringEquals": {"iam:AWSServiceName": "messaging.chime.amazonaws.com"}}


def test_the_bucket_is_private_encrypted_and_tls_only(template):
    bucket = template["Resources"]["AttachmentsBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "VersioningConfiguration" not in bucket
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["AbortIncompleteMultipartUpload"]) == ("Enabled", {"DaysAfterInitiation": 1})
    [cors] = bucket["CorsConfiguration"]["CorsRules"]
    assert (cors["AllowedOrigins"], cors["AllowedMethods"]) == ([{"Ref": "AppOrigin"}], ["POST"])
    [policy] = resources(template, "AWS::S3::BucketPolicy").values()
    [tls] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "TlsOnly"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == [
        {"Fn::GetAtt": ["AttachmentsBucket", "Arn"]},
        {"Fn::Sub": "${AttachmentsBucket.Arn}/*"},
    ]


def test_chime_streams_messages_and_channels_to_a_conforming_stream(template):
    stream = template["Resources"]["MessagingStream"]["Properties"]
    assert stream["Name"] == {"Fn::Sub": "chime-messaging-${AWS::StackName}"}
    assert stream["ShardCount"] == 2
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    setup = template["Resources"]["ChimeMessagingSetup"]
    assert setup["Type"] == "Custom::ChimeMessagingSetup"
    assert setup["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["ChimeSetupFunction", "Arn"]}
    assert setup["Properties"]["DataTypes"] == ["ChannelMessage", "Channel"]
    assert setup["Properties"]["AdminUserArn"] == {"Fn::GetAtt": ["ServiceUser", "AppInstanceUserArn"]}
    assert template["Resources"]["AppInstance"]["Type"] == "AWS::Chime::AppInstance"
    assert template["Resources"]["ServiceUser"]["Type"] == "AWS::Chime::AppInstanceUser"


def test_every_output_the_app_needs_is_there_and_no_secret_is(template):
    outputs = template["Outputs"]
    assert set(outputs) >= REQUIRED_OUTPUTS
    assert "ClientSecret" not in json.dumps(outputs).replace("ClientSecretArn", "").replace('"Ref": "ClientSecret"', "")


def test_only_the_origin_needs_a_value(template):
    assert [name for name, parameter in template["Parameters"].items() if "Default" not in parameter] == ["AppOrigin"]
    assert template["Parameters"]["MetricsNamespace"]["Default"] == "HobbiesCommunity"


def test_no_region_is_hard_coded_in_resources_or_outputs(template):
    text = json.dumps({"Resources": template["Resources"], "Outputs": template["Outputs"]})
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d\b", text)


def test_every_log_group_keeps_logs_for_the_retention_parameter(template):
    for name, group in resources(template, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "RetentionDays"}, name


def test_every_silenced_cfn_lint_rule_is_listed_with_its_reason(template):
    silenced = {
        rule
        for body in template["Resources"].values()
        for rule in body.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
    }
    listed_rules = template["Metadata"]["SilencedRules"]
    assert silenced == set(listed_rules)
    assert all(len(reason) > 40 for reason in listed_rules.values())
    assert "ignore_checks" not in template["Metadata"]["cfn-lint"]["config"]  # nothing silenced template-wide


def test_every_skipped_checkov_check_has_its_reason_beside_it():
    path = Path(CLOUDFORMATION / ".checkov.yaml")
    lines = path.read_text().splitlines()
    skipped = yaml.safe_load(path.read_text())["skip-check"]
    assert skipped
    for check in skipped:
        index = lines.index(f"  - {check}")
        assert lines[index - 1].strip().startswith("#"), check
