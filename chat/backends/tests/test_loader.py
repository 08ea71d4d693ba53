"""chat/backends/__init__.py: the one backend MESSAGING_BACKEND names (validated by the settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chat.backends import ensure_messaging_user, get_backend
from chat.backends.local import LocalBackend
from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN, STREAM_ARN

CHIME_ENV = {
    "MESSAGING_BACKEND": "chime",
    "CHIME_APP_INSTANCE_ARN": APP_INSTANCE_ARN,
    "CHIME_ADMIN_USER_ARN": ADMIN_ARN,
    "CHIME_EVENT_STREAM_ARN": STREAM_ARN,
}


def settings_in_subprocess(name: str, **env) -> subprocess.CompletedProcess:
    code = "import django, json; django.setup(); from django.conf import settings; "
    code += f"print(json.dumps(getattr(settings, {name!r})))"
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("CHIME_", "MESSAGING_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "hobbies.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_local_backend_is_the_default(settings):
    assert settings.MESSAGING_BACKEND == "local"
    assert isinstance(get_backend(), LocalBackend)
    assert get_backend() is get_backend()  # built once


def test_the_chime_backend_is_built_from_the_settings(settings):
    settings.CHIME_APP_INSTANCE_ARN, settings.CHIME_ADMIN_USER_ARN = APP_INSTANCE_ARN, ADMIN_ARN
    settings.MESSAGING_BACKEND = "chime"
    backend = get_backend()
    assert (backend.name, backend.app_instance_arn, backend.admin_arn) == ("chime", APP_INSTANCE_ARN, ADMIN_ARN)
    assert backend.places_members
    settings.MESSAGING_BACKEND = "local"
    assert get_backend().name == "local"


@pytest.mark.django_db
def test_the_sign_in_hook_does_nothing_with_the_local_backend(make_user):
    ann = make_user("ann")
    ensure_messaging_user(user=ann, request=None, method="password")
    ann.profile.refresh_from_db()
    assert ann.profile.chime_arn is None


def test_the_settings_accept_a_complete_chime_configuration():
    result = settings_in_subprocess("CHIME_REGION", **CHIME_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == "us-east-1"


def test_with_chime_everyone_gets_their_app_instance_user_at_sign_in():
    result = settings_in_subprocess("POST_AUTH_HOOKS", **CHIME_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["chat.backends.ensure_messaging_user"]
    result = settings_in_subprocess("POST_AUTH_HOOKS", **CHIME_ENV, CHIME_CREATE_USERS_ON_SIGN_IN="false")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MESSAGING_BACKEND": "sns"}, "MESSAGING_BACKEND must be local or chime"),
        ({**CHIME_ENV, "CHIME_APP_INSTANCE_ARN": ""}, "needs CHIME_APP_INSTANCE_ARN"),
        ({**CHIME_ENV, "CHIME_ADMIN_USER_ARN": ""}, "needs CHIME_ADMIN_USER_ARN"),
        ({**CHIME_ENV, "CHIME_EVENT_STREAM_ARN": ""}, "needs CHIME_EVENT_STREAM_ARN"),
        ({**CHIME_ENV, "CHIME_APP_INSTANCE_ARN": "app-instance/1"}, "CHIME_APP_INSTANCE_ARN is not a valid ARN"),
        ({**CHIME_ENV, "CHIME_ADMIN_USER_ARN": f"{APP_INSTANCE_ARN}/user/bad id"}, "CHIME_ADMIN_USER_ARN is not"),
        (
            {**CHIME_ENV, "CHIME_ADMIN_USER_ARN": "arn:aws:chime:us-east-1:111122223333:app-instance/other/user/a"},
            "CHIME_ADMIN_USER_ARN must be an AppInstanceUser of CHIME_APP_INSTANCE_ARN",
        ),
        ({**CHIME_ENV, "CHIME_EVENT_STREAM_ARN": "arn:aws:sqs:us-east-1:1:q"}, "CHIME_EVENT_STREAM_ARN is not"),
        ({**CHIME_ENV, "CHIME_REGION": "mars"}, "CHIME_REGION must be an AWS region"),
    ],
)
def test_missing_or_malformed_chime_settings_stop_start_up_naming_the_variable(env, message):
    result = settings_in_subprocess("MESSAGING_BACKEND", **env)
    assert result.returncode != 0
    assert message in result.stderr
