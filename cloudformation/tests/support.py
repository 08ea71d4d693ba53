"""Helpers of the stack's tests: each Lambda loaded from its folder, AWS clients for botocore's Stubber."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import boto3

CLOUDFORMATION = Path(__file__).resolve().parent.parent
LAMBDAS = CLOUDFORMATION / "lambdas"
REGION = "us-east-1"
ACCOUNT = "111122223333"
APP_INSTANCE_ARN = f"arn:aws:chime:{REGION}:{ACCOUNT}:app-instance/0f8d3c0e-6a53-4a4e-9a59-2f3e1c6b7a10"


def load_lambda(name: str) -> ModuleType:
    """cloudformation/lambdas/<name>/app.py as its own module (each Lambda's file is called app.py)."""
    module_name = f"cloudformation_lambda_{name}"
    spec = importlib.util.spec_from_file_location(module_name, LAMBDAS / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def aws_client(service: str):
    """A client that never reaches AWS: every test wraps it in a Stubber."""
    return boto3.client(service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass
class LambdaContext:
    """The part of Lambda's context object the handlers use."""

    remaining_ms: int = 60_000
    function_name: str = "test-function"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
