"""chat/attachments/storage.py as settings build it: S3 options, and loud failures on bad values."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.rig.s3 import S3Server

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KEY_PATTERN = r"attachments/{channel}/[0-9a-f]{{32}}/{name}"


def settings_in_subprocess(**env) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; import json; "
    code += "print(json.dumps(settings.STORAGES['attachments'], sort_keys=True))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hobbies.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_build_the_s3_storage_the_tests_use():
    server = S3Server(port=9)
    result = settings_in_subprocess(**server.app_env("bucket"))
    assert result.returncode == 0, result.stderr
    configured = json.loads(result.stdout.strip().splitlines()[-1])
    assert configured == {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": server.storage_options("bucket")}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ATTACHMENTS_BACKEND": "s3"}, "needs AWS_STORAGE_BUCKET_NAME"),
        ({"ATTACHMENTS_BACKEND": "ftp"}, "must be local or s3"),
        ({"ATTACHMENTS_DOWNLOAD_EXPIRES": "3600"}, "at most 300"),
        ({"ATTACHMENTS_ALLOWED_TYPES": "image/png,image/svg+xml"}, "must not allow image/svg"),
        ({"ATTACHMENTS_MAX_BYTES": "lots"}, "whole number"),
    ],
)
def test_settings_fail_loudly(env, message):
    result = settings_in_subprocess(**env)
    assert result.returncode != 0
    assert message in result.stderr
