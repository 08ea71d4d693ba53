"""Real components for the tests: under CI=true a missing one fails the test, elsewhere it skips."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    if available:
        return
    message = f"{what} is not available on this machine (make test installs it)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_binary(name_or_path: str, what: str | None = None) -> str:
    path = name_or_path if Path(name_or_path).is_file() else shutil.which(name_or_path)
    require(bool(path) and os.access(path, os.X_OK), what or name_or_path)
    return str(path)
