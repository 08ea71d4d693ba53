"""Fixtures of the Chime backend's own tests (the `chime` Stubber fixture is in chat/conftest.py)."""

from __future__ import annotations

import pytest

from tests.rig.chime import CREDENTIALS_ENV


@pytest.fixture
def aws_env(monkeypatch) -> None:
    """Dummy credentials, so botocore signs requests and never looks for real ones."""
    for name, value in CREDENTIALS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
