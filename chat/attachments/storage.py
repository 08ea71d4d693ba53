"""The "attachments" storage (``STORAGES["attachments"]``): local disk or S3, pre-signed URLs.

FileSystemStorage under MEDIA_ROOT by default, django-storages' S3Storage when
``ATTACHMENTS_BACKEND=s3``. Nothing else in the project touches that storage or boto3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.urls import reverse
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage

from chat.attachments.checks import is_inline
from chat.attachments.naming import thumbnail_type
from chat.models import Attachment

STORAGE_ALIAS = "attachments"
UPLOAD_FIELD = "file"


@dataclass(frozen=True)
class UploadInstructions:
    """How the browser sends the bytes: a multipart POST of ``fields`` then the file to ``url``."""

    backend: str  # "local" or "s3"
    url: str
    fields: dict[str, str] = field(default_factory=dict)
    file_field: str = UPLOAD_FIELD

    def as_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "url": self.url, "fields": self.fields, "fileField": self.file_field}


def get_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def uses_s3(storage: Storage | None = None) -> bool:
    return isinstance(storage or get_storage(), S3Storage)


def s3_client(storage: S3Storage):
    # The storage's own client: one place for region, endpoint and credentials.
    return storage.connection.meta.client


def s3_object(storage: S3Storage, key: str) -> tuple[int, str] | None:
    """The size and stored type of an object in the bucket, or None when it is not there (yet)."""
    try:
        head = s3_client(storage).head_object(Bucket=storage.bucket_name, Key=key)
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise
    return head["ContentLength"], (head.get("ContentType") or "").split(";")[0].strip().lower()


def s3_head_bytes(storage: S3Storage, key: str, count: int) -> bytes:
    """The first `count` bytes of an object, by a ranged GET."""
    return (
        s3_client(storage).get_object(Bucket=storage.bucket_name, Key=key, Range=f"bytes=0-{count - 1}")["Body"].read()
    )


def upload_instructions(attachment: Attachment) -> UploadInstructions:
    storage = get_storage()
    if not uses_s3(storage):
        return UploadInstructions(backend="local", url=reverse("chat-attachment-upload", args=[attachment.pk]))
    # The policy pins the exact key (boto3 adds it), the type and the size; the object still
    # gets verified in complete_upload, because S3-compatible stores may not enforce policies.
    post = s3_client(storage).generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=attachment.key,
        Fields={"Content-Type": attachment.content_type},
        Conditions=[
            {"Content-Type": attachment.content_type},
            ["content-length-range", attachment.size, attachment.size],
        ],
        ExpiresIn=settings.ATTACHMENTS_UPLOAD_EXPIRES,
    )
    return UploadInstructions(backend="s3", url=post["url"], fields=post["fields"])


def presigned_download_url(attachment: Attachment, *, thumbnail: bool = False) -> str:
    """S3: a GET link valid ATTACHMENTS_DOWNLOAD_EXPIRES seconds (at most 5 minutes).

    The response headers are part of the signature, so the store serves the file as a download
    (inline only for raster images) with the type we checked, whatever the object says.
    """
    storage = get_storage()
    if thumbnail:
        key, content_type = attachment.thumbnail_key, thumbnail_type(attachment.thumbnail_key)
    else:
        key, content_type = attachment.key, attachment.content_type
    disposition = content_disposition_header(not is_inline(content_type), attachment.name)
    return storage.url(
        key,
        parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type},
        expire=min(settings.ATTACHMENTS_DOWNLOAD_EXPIRES, 300),
    )


def open_stored(key: str) -> File:
    return get_storage().open(key, "rb")


def delete_objects(keys: Iterable[str]) -> None:
    storage = get_storage()
    for key in keys:
        if key:
            storage.delete(key)  # a missing object is not an error, on either backend
