"""Fixtures of the stack's tests (helpers are in support.py)."""

from __future__ import annotations

import pytest

from cloudformation.tests.support import LambdaContext


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()
