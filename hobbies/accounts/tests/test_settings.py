import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def run_check(tmp_path, *args, **env):
    full_env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_profile_passes_check_deploy(tmp_path):
    result = run_check(
        tmp_path,
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="x7!Rq" * 12,
        ALLOWED_HOSTS="chat.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_requires_a_secret_key(tmp_path):
    result = run_check(tmp_path, DJANGO_ENV="production", ALLOWED_HOSTS="chat.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("AXES_FAILURE_LIMIT", "five", "AXES_FAILURE_LIMIT must be a whole number"),
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT must be at least 1"),
        ("DJANGO_ENV", "staging", "DJANGO_ENV must be development or production"),
        ("REQUEST_MAX_BYTES", "lots", "REQUEST_MAX_BYTES must be a whole number"),
        ("UPLOAD_REQUEST_MAX_BYTES", "1000", "UPLOAD_REQUEST_MAX_BYTES must be at least ATTACHMENTS_MAX_BYTES + 65536"),
    ],
)
def test_bad_setting_values_fail_loudly(tmp_path, name, value, message):
    result = run_check(tmp_path, **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    assert run_check(tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert run_check(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_sqlite_runs_in_wal_mode(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the default database is SQLite; this run uses another")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
