"""hobbies/security.py: the security headers on every page type, over HTTP (Django's test client)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from hobbies.security import PERMISSIONS_POLICY, content_security_policy

NO_INLINE = {"script-src": "'self'", "style-src": "'self'", "object-src": "'none'", "base-uri": "'none'"}


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def assert_page_headers(response, *, signed_in: bool) -> None:
    policy = directives(response)
    for name, value in NO_INLINE.items():
        assert policy[name] == value, (name, policy)
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "microphone=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]
    if signed_in:
        cache = {part.strip() for part in response.headers["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache


@pytest.fixture
def world(make_user, admin_user):
    from chat.models import Privacy
    from chat.services.channels import create_channel

    owner = make_user("owner")
    channel = create_channel(actor=owner, name="Knitting", privacy=Privacy.PUBLIC)
    return {"owner": owner, "member": make_user("reader"), "admin": admin_user, "channel": channel}


def test_the_sign_in_page(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert_page_headers(response, signed_in=False)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response = client.post("/", {"username": "nobody", "password": "x", "action": "signin"})
    assert_page_headers(response, signed_in=False)


@pytest.mark.parametrize(
    ("name", "args", "status"),
    [
        ("chat-channels", [], 200),
        ("chat-create", [], 200),
        ("chat-channel", ["channel"], 200),
        ("chat-conversation", ["channel"], 200),
        ("chat-member-search", ["channel"], 200),
        ("chat-conversation", [999999], 404),
    ],
)
def test_signed_in_pages(client, world, name, args, status):
    client.force_login(world["owner"])
    response = client.get(reverse(name, args=[world["channel"].pk if arg == "channel" else arg for arg in args]))
    assert response.status_code == status
    assert_page_headers(response, signed_in=True)


def test_the_refusal_page(client, world):
    client.force_login(world["member"])
    response = client.post(reverse("chat-edit", args=[world["channel"].pk]), {"name": "Mine now"})
    assert response.status_code == 403
    assert b"Not allowed" in response.content
    assert_page_headers(response, signed_in=True)


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/"])
def test_admin_pages(client, world, path):
    client.force_login(world["admin"])
    response = client.get(path)
    assert response.status_code == 200
    assert_page_headers(response, signed_in=True)


def test_an_attachment_download_keeps_its_sandbox(client, world, settings, tmp_path):
    import uuid

    from django.core.files.uploadedfile import SimpleUploadedFile

    from chat.services import attachments, messages
    from chat.web.attachments import DOWNLOAD_CSP

    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    owner, channel = world["owner"], world["channel"]
    upload, _how = attachments.start_upload(
        actor=owner, channel=channel, name="notes.txt", size=5, content_type="text/plain"
    )
    file = SimpleUploadedFile("notes.txt", b"hello", "text/plain")
    attachments.store_local_upload(actor=owner, attachment_id=upload.pk, file=file)
    messages.send_message(
        actor=owner, channel_id=channel.pk, content="notes", client_msg_id=uuid.uuid4(), attachment_ids=[upload.pk]
    )
    client.force_login(owner)
    response = client.get(reverse("chat-attachment-download", args=[upload.pk]))
    assert response.status_code == 200, response
    assert response.headers["Content-Security-Policy"] == DOWNLOAD_CSP
    assert response.headers["Permissions-Policy"] == PERMISSIONS_POLICY
    assert {"private", "no-store"} <= {part.strip() for part in response.headers["Cache-Control"].split(",")}


def test_static_files_keep_their_caching(client, world):
    client.force_login(world["owner"])
    response = client.get("/static/js/messaging.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_the_local_backend_sends_the_browser_nowhere_else(settings):
    settings.ATTACHMENTS_BACKEND = "local"
    settings.STORAGES = {**settings.STORAGES, "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    policy = content_security_policy()
    assert "img-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "form-action 'self';" in policy


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize(
    ("region", "endpoint", "style"),
    [
        ("eu-west-1", None, None),
        ("us-east-1", None, None),
        ("eu-west-1", None, "virtual"),
        ("us-east-1", "http://127.0.0.1:9000", "path"),
        ("us-east-1", "https://minio.example.org", None),
        ("auto", "https://account.r2.cloudflarestorage.com", "virtual"),
    ],
)
def test_s3_attachments_are_allowed_where_boto3_sends_them(
    client, world, settings, monkeypatch, region, endpoint, style
):
    """The origins come from the storage's settings; boto3 (offline) says where uploads and downloads go."""
    from chat.attachments import storage

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    bucket = "hobbies-attachments"
    settings.ATTACHMENTS_BACKEND = "s3"
    options = {"bucket_name": bucket, "region_name": region, "endpoint_url": endpoint, "addressing_style": style}
    options |= {"signature_version": "s3v4", "default_acl": None, "querystring_auth": True}
    s3_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_storage}
    s3 = storage.get_storage()
    key = "attachments/1/0123/photo.png"
    upload = storage.s3_client(s3).generate_presigned_post(Bucket=bucket, Key=key)["url"]
    download = s3.url(key)

    client.force_login(world["owner"])
    policy = directives(client.get(reverse("chat-conversation", args=[world["channel"].pk])))
    assert origin(upload) in policy["connect-src"].split()
    assert origin(upload) in policy["form-action"].split()
    assert origin(download) in policy["img-src"].split()
    assert policy["script-src"] == "'self'"


def test_the_sign_out_form_may_go_to_the_openid_provider(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://login.example.org/oauth2/authorize"
    settings.OIDC_OP_LOGOUT_ENDPOINT = "https://sso.example.org:8443/logout?x=1"
    policy = content_security_policy()
    form_action = next(part for part in policy.split("; ") if part.startswith("form-action"))
    assert form_action == "form-action 'self' https://login.example.org https://sso.example.org:8443"
