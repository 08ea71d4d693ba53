"""A real S3 endpoint for the tests: moto's threaded server on a free loopback port.

Real HTTP and real SigV4 signing, but (DESIGN.md §8) moto accepts expired or tampered pre-signed
URLs and ignores POST policies: limits are tested against our own code, never the fake.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.rig.servers import free_port, wait_for_port

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
# Dummy credentials in the environment, so boto3 never looks for real ones (files, instance roles).
CREDENTIALS_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": REGION,
}
UNSET_ENV = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


def moto_available() -> bool:
    try:
        from moto.server import ThreadedMotoServer  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class S3Server:
    """moto's ThreadedMotoServer, started and stopped around a test session."""

    port: int = 0
    _server: object | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self.port = self.port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def app_env(self, bucket: str) -> dict[str, str]:
        """The environment a separate app process (LiveServer) needs to keep attachments here."""
        return {
            **CREDENTIALS_ENV,
            "ATTACHMENTS_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_ADDRESSING_STYLE": "path",
        }

    def storage_options(self, bucket: str) -> dict[str, object]:
        """OPTIONS for STORAGES["attachments"], as settings.py builds them for ATTACHMENTS_BACKEND=s3."""
        return {
            "bucket_name": bucket,
            "region_name": REGION,
            "endpoint_url": self.endpoint_url,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        }


def use_attachment_backend(backend: str, *, settings, monkeypatch, tmp_path, server: S3Server | None) -> None:
    """Point STORAGES["attachments"] at a fresh temporary folder (local) or a fresh bucket (s3)."""
    import uuid

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.ATTACHMENTS_BACKEND = backend
    if backend == "local":
        storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    else:
        assert server is not None
        for name, value in CREDENTIALS_ENV.items():
            monkeypatch.setenv(name, value)
        for name in UNSET_ENV:
            monkeypatch.delenv(name, raising=False)
        bucket = server.create_bucket(f"attachments-{uuid.uuid4().hex[:12]}")
        storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": server.storage_options(bucket)}
    # A new dict, so Django's setting_changed signal drops the cached storage instances.
    settings.STORAGES = {**settings.STORAGES, "attachments": storage}
