"""The attachment views on both backends: JSON for the message box, access-checked downloads."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from chat.attachments import storage
from chat.models import Attachment, AttachmentState
from chat.services import attachments

PDF = b"%PDF-1.4\n%%EOF\n"


def post_json(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data), content_type="application/json")


def start(client: Client, channel, name: str, size: int, content_type: str):
    return post_json(
        client,
        reverse("chat-attachment-start"),
        {"channel": channel.pk, "name": name, "size": size, "type": content_type},
    )


def send_bytes(client: Client, started: dict, name: str, data: bytes, content_type: str):
    """What static/js/attachments.js does with the start answer: POST the bytes, then complete."""
    upload = started["upload"]
    if upload["backend"] == "local":
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(upload["url"], {upload["fileField"]: SimpleUploadedFile(name, data, content_type)})
    response = requests.post(
        upload["url"], data=upload["fields"], files={upload["fileField"]: (name, data, content_type)}, timeout=10
    )
    assert response.status_code in {200, 201, 204}, response.text
    return client.post(started["completeUrl"])


@pytest.fixture
def owner_client(client, attachment_world) -> Client:
    client.force_login(attachment_world.owner)
    return client


@pytest.fixture
def login():
    def as_user(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return as_user


def uploaded(client, world, name="paper.pdf", data=PDF, content_type="application/pdf") -> dict:
    response = start(client, world.channel, name, len(data), content_type)
    assert response.status_code == 201, response.content
    done = send_bytes(client, response.json(), name, data, content_type)
    assert done.status_code == 200, done.content
    assert done.json()["state"] == AttachmentState.UPLOADED
    return done.json()


@pytest.fixture
def sent(owner_client, attachment_world, make_message):
    """Upload through the views, then attach to a message as the messaging service will."""

    def send(name="paper.pdf", data=PDF, content_type="application/pdf") -> Attachment:
        item = uploaded(owner_client, attachment_world, name, data, content_type)
        message = make_message(attachment_world.channel, attachment_world.owner)
        attachments.attach(actor=attachment_world.owner, message=message, ids=[item["id"]])
        return Attachment.objects.select_related("message").get(pk=item["id"])

    return send


def fetch(response) -> tuple[bytes, object]:
    """The downloaded bytes and headers: streamed by Django (local) or from the pre-signed URL (S3)."""
    if response.status_code == 302:
        followed = requests.get(response["Location"], timeout=10)
        assert followed.status_code == 200
        return followed.content, followed.headers
    assert response.status_code == 200
    return b"".join(response.streaming_content), response.headers


# Starting, uploading, completing, cancelling


def test_start_upload_answers_instructions(owner_client, attachment_world, attachment_backend):
    response = start(owner_client, attachment_world.channel, "../photo.png", 1000, "image/png")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "photo.png"
    assert body["upload"]["backend"] == attachment_backend
    assert body["upload"]["fileField"] == "file"
    assert body["completeUrl"] == reverse("chat-attachment-complete", args=[body["id"]])


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({"name": "a.svg", "size": 10, "type": "image/svg+xml"}, 400, "cannot be attached"),
        ({"name": "a.txt", "size": 10**10, "type": "text/plain"}, 400, "at most"),
        ({"name": "a.txt", "size": "ten", "type": "text/plain"}, 400, "not valid"),
        ({"name": "a.txt", "type": "text/plain"}, 400, "not valid"),
    ],
)
def test_start_upload_refusals_are_clear_messages(owner_client, attachment_world, payload, status, error):
    response = post_json(
        owner_client, reverse("chat-attachment-start"), {"channel": attachment_world.channel.pk, **payload}
    )
    assert response.status_code == status
    assert error in response.json()["error"]
    assert not Attachment.objects.exists()


def test_starting_past_the_cap_of_unfinished_uploads_is_a_clear_message(owner_client, attachment_world, settings):
    settings.ATTACHMENTS_MAX_PENDING_UPLOADS = 2
    for _ in range(2):
        assert start(owner_client, attachment_world.channel, "a.txt", 3, "text/plain").status_code == 201
    response = start(owner_client, attachment_world.channel, "a.txt", 3, "text/plain")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "You have 2 uploads under way, the most at once: finish or remove one before adding another."
    )
    assert Attachment.objects.count() == 2


def test_start_upload_in_a_private_channel_is_404_for_outsiders(login, attachment_world):
    for channel_id in (attachment_world.channel.pk, 999999):  # the same answer as a missing channel
        response = post_json(
            login(attachment_world.outsider),
            reverse("chat-attachment-start"),
            {"channel": channel_id, "name": "a.txt", "size": 3, "type": "text/plain"},
        )
        assert response.status_code == 404


def test_anonymous_people_are_sent_to_sign_in(client, attachment_world):
    response = post_json(client, reverse("chat-attachment-start"), {"channel": attachment_world.channel.pk})
    assert response.status_code == 302
    assert reverse("accounts-signin") in response["Location"]


def test_full_upload_through_the_views(owner_client, attachment_world):
    item = uploaded(owner_client, attachment_world, "日本.pdf")
    attachment = Attachment.objects.get(pk=item["id"])
    assert attachment.state == AttachmentState.UPLOADED
    assert owner_client.post(item["completeUrl"]).json()["state"] == AttachmentState.UPLOADED  # idempotent


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_local_upload_stops_reading_past_the_size_limit(owner_client, attachment_world, settings):
    settings.ATTACHMENTS_MAX_BYTES = 1000
    started = start(owner_client, attachment_world.channel, "a.txt", 1000, "text/plain").json()
    response = send_bytes(owner_client, started, "a.txt", b"x" * 5000, "text/plain")
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]
    assert not Attachment.objects.exists()  # refused uploads leave nothing behind


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_local_upload_refuses_a_huge_body_before_parsing_it(owner_client, attachment_world, settings):
    settings.ATTACHMENTS_MAX_BYTES = 1000
    started = start(owner_client, attachment_world.channel, "a.txt", 1000, "text/plain").json()
    response = send_bytes(owner_client, started, "a.txt", b"x" * 200_000, "text/plain")
    assert response.status_code == 413


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_local_upload_needs_the_csrf_token(attachment_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(attachment_world.owner)
    attachment, how = attachments.start_upload(
        actor=attachment_world.owner, channel=attachment_world.channel, name="a.txt", size=3, content_type="text/plain"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(how.url, {"file": SimpleUploadedFile("a.txt", b"abc", "text/plain")})
    assert response.status_code == 403
    assert Attachment.objects.get(pk=attachment.pk).state == AttachmentState.PENDING


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_local_upload_of_someone_elses_upload_is_404(login, attachment_world):
    attachment, how = attachments.start_upload(
        actor=attachment_world.owner, channel=attachment_world.channel, name="a.txt", size=3, content_type="text/plain"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = login(attachment_world.member).post(how.url, {"file": SimpleUploadedFile("a.txt", b"abc")})
    assert response.status_code == 404


@pytest.mark.parametrize("attachment_backend", ["s3"], indirect=True)
def test_local_upload_view_is_refused_on_s3(owner_client, attachment_world):
    started = start(owner_client, attachment_world.channel, "a.txt", 3, "text/plain").json()
    response = owner_client.post(reverse("chat-attachment-upload", args=[started["id"]]), {"file": ""})
    assert response.status_code == 400


def test_sniffing_refusal_is_a_clear_message(owner_client, attachment_world):
    started = start(owner_client, attachment_world.channel, "cat.png", 20, "image/png").json()
    response = send_bytes(owner_client, started, "cat.png", b"I am text, not a PNG", "image/png")
    assert response.status_code == 400
    assert "is not a real image/png file" in response.json()["error"]
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("name", ["chat-attachment-complete", "chat-attachment-cancel", "chat-attachment-upload"])
def test_someone_elses_upload_is_404(owner_client, attachment_world, login, name):
    started = start(owner_client, attachment_world.channel, "a.txt", 3, "text/plain").json()
    for person in (attachment_world.member, attachment_world.outsider):
        assert login(person).post(reverse(name, args=[started["id"]])).status_code == 404
    assert Attachment.objects.get(pk=started["id"]).state == AttachmentState.PENDING


def test_a_file_missing_from_storage_is_404(sent, login, attachment_world):
    attachment = sent()
    storage.get_storage().delete(attachment.key)
    response = login(attachment_world.member).get(reverse("chat-attachment-download", args=[attachment.pk]))
    if response.status_code == 302:  # S3: the store answers for the object itself (no 500 here)
        assert requests.get(response["Location"], timeout=10).status_code in {403, 404}
    else:
        assert response.status_code == 404


def test_cancel(owner_client, attachment_world, login):
    item = uploaded(owner_client, attachment_world)
    assert login(attachment_world.member).post(item["cancelUrl"]).status_code == 404
    assert owner_client.post(item["cancelUrl"]).json() == {"id": item["id"], "state": "cancelled"}
    assert not Attachment.objects.exists()
    assert owner_client.post(item["cancelUrl"]).status_code == 404


@pytest.mark.parametrize("name", ["chat-attachment-start", "chat-attachment-complete", "chat-attachment-cancel"])
def test_posting_views_refuse_get(owner_client, attachment_world, name):
    url = reverse(name) if name == "chat-attachment-start" else reverse(name, args=[1])
    assert owner_client.get(url).status_code == 405


# Downloading


def test_members_download_with_safe_headers(sent, login, attachment_world, attachment_backend):
    attachment = sent("résumé.pdf")
    response = login(attachment_world.member).get(reverse("chat-attachment-download", args=[attachment.pk]))
    assert response["X-Content-Type-Options"] == "nosniff"
    data, headers = fetch(response)
    assert data == PDF
    assert headers["Content-Type"].startswith("application/pdf")
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''r%C3%A9sum%C3%A9.pdf" in headers["Content-Disposition"]
    if attachment_backend == "s3":
        query = parse_qs(urlsplit(response["Location"]).query)
        assert int(query["X-Amz-Expires"][0]) <= 300  # a short-lived link
        assert query["response-content-disposition"][0].startswith("attachment;")


def test_html_is_never_served_inline(sent, login, attachment_world):
    html = b"<html><script>alert(document.cookie)</script></html>"
    attachment = sent("page.txt", html, "text/plain")
    response = login(attachment_world.member).get(reverse("chat-attachment-download", args=[attachment.pk]))
    data, headers = fetch(response)
    assert data == html
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Disposition"].startswith("attachment;")


def test_images_are_inline_with_a_thumbnail(sent, login, attachment_world, make_image):
    attachment = sent("photo.png", make_image("PNG", (800, 400)), "image/png")
    reader = login(attachment_world.member)
    data, headers = fetch(reader.get(reverse("chat-attachment-download", args=[attachment.pk])))
    assert headers["Content-Disposition"].startswith("inline;")
    assert headers["Content-Type"] == "image/png"
    thumbnail, headers = fetch(reader.get(reverse("chat-attachment-thumbnail", args=[attachment.pk])))
    assert headers["Content-Type"] == "image/jpeg"
    assert thumbnail.startswith(b"\xff\xd8\xff")
    assert len(thumbnail) < len(data)


def test_no_thumbnail_for_other_files(sent, login, attachment_world):
    attachment = sent()
    response = login(attachment_world.member).get(reverse("chat-attachment-thumbnail", args=[attachment.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("view", ["chat-attachment-download", "chat-attachment-thumbnail"])
def test_outsider_gets_the_same_404_as_for_a_missing_file(sent, login, attachment_world, make_image, view):
    attachment = sent("photo.png", make_image(), "image/png")
    outsider = login(attachment_world.outsider)
    forbidden = outsider.get(reverse(view, args=[attachment.pk]))
    missing = outsider.get(reverse(view, args=[attachment.pk + 1000]))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content


@pytest.mark.parametrize("view", ["chat-attachment-download", "chat-attachment-thumbnail"])
def test_redacted_message_hides_its_files_from_everyone(sent, login, attachment_world, make_image, view):
    attachment = sent("photo.png", make_image(), "image/png")
    attachments.hide_for_redacted(message=attachment.message)
    for person in (attachment_world.owner, attachment_world.member):
        assert login(person).get(reverse(view, args=[attachment.pk])).status_code == 404


@pytest.mark.parametrize("view", ["chat-attachment-download", "chat-attachment-thumbnail"])
def test_message_redacted_at_hides_its_files_even_before_hide_for_redacted(
    sent, login, attachment_world, make_image, view
):
    from django.utils import timezone

    attachment = sent("photo.png", make_image(), "image/png")
    message = attachment.message
    message.redacted_at = timezone.now()
    message.save(update_fields=["redacted_at"])
    for person in (attachment_world.owner, attachment_world.member):
        assert login(person).get(reverse(view, args=[attachment.pk])).status_code == 404


def test_unsent_upload_is_not_downloadable_even_by_its_uploader(owner_client, attachment_world):
    item = uploaded(owner_client, attachment_world)
    assert owner_client.get(reverse("chat-attachment-download", args=[item["id"]])).status_code == 404


def test_download_needs_sign_in(sent):
    attachment = sent()
    response = Client().get(reverse("chat-attachment-download", args=[attachment.pk]))
    assert response.status_code == 302


def test_download_query_count(sent, login, attachment_world, django_assert_max_num_queries):
    attachment = sent()
    reader = login(attachment_world.member)
    reader.get("/")  # settle the session
    with django_assert_max_num_queries(6):
        reader.get(reverse("chat-attachment-download", args=[attachment.pk]))


def test_message_partial_shows_previews_and_chips(sent, make_image, django_assert_num_queries):
    from django.template.loader import render_to_string

    from chat.models import Message

    image = sent("photo.png", make_image(), "image/png")
    pdf = sent("Tom & Jerry.pdf")
    hidden = sent("gone.pdf")
    attachments.hide_for_redacted(message=hidden.message)
    messages = Message.objects.filter(pk__in=[image.message_id, pdf.message_id, hidden.message_id])
    with django_assert_num_queries(2):  # the messages, then every attachment in one prefetch
        html = "".join(
            render_to_string("chat/_attachments.html", {"attachments": m.shown_attachments})
            for m in messages.prefetch_related(attachments.shown_prefetch()).order_by("pk")
        )
    assert f'<img src="/attachments/{image.pk}/thumbnail/" alt="photo.png"' in html
    assert f'href="/attachments/{pdf.pk}/" download="Tom &amp; Jerry.pdf"' in html
    assert "15\xa0bytes · application/pdf" in html
    assert "gone.pdf" not in html
    assert html.count("<ul") == 2  # nothing at all for the redacted message


@pytest.mark.parametrize("attachment_backend", ["local"], indirect=True)
def test_local_upload_through_the_asgi_handler(async_client, attachment_world, make_image, settings):
    """daphne serves the app through Django's ASGI handler: the capped upload handler works there too."""
    from asgiref.sync import async_to_sync
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ATTACHMENTS_MAX_BYTES = 4000
    async_client.force_login(attachment_world.owner)
    data = make_image("PNG", (30, 30))
    attachment, how = attachments.start_upload(
        actor=attachment_world.owner,
        channel=attachment_world.channel,
        name="p.png",
        size=len(data),
        content_type="image/png",
    )
    response = async_to_sync(async_client.post)(how.url, {"file": SimpleUploadedFile("p.png", data, "image/png")})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == AttachmentState.UPLOADED
    big, how = attachments.start_upload(
        actor=attachment_world.owner,
        channel=attachment_world.channel,
        name="b.txt",
        size=4000,
        content_type="text/plain",
    )
    response = async_to_sync(async_client.post)(how.url, {"file": SimpleUploadedFile("b.txt", b"x" * 9000)})
    assert response.status_code == 400
    assert not Attachment.objects.filter(pk=big.pk).exists()


# Elastic channels: a file is read where its message is, one sub-channel's members (issue 7)


@pytest.fixture
def elastic_file(attachment_backend, make_user, make_elastic, upload_file, make_image):
    """A private elastic channel of two sub-channels: `cat` sends a photo in hers; `ann` sits in the other."""
    import uuid

    from chat.models import Membership, Privacy, Role
    from chat.services.memberships import add_members
    from chat.services.messages import send_message

    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=2, privacy=Privacy.PRIVATE)
    joiners = [make_user(name) for name in ("ann", "bob", "cat")]
    add_members(actor=owner, channel=channel, users=joiners)
    seats = dict(Membership.objects.filter(channel=channel, role=Role.MEMBER).values_list("user", "subchannel"))
    ann = joiners[0]
    cat = next(user for user in joiners if seats[user.pk] != seats[ann.pk])
    photo = upload_file(cat, channel, "plan.png", make_image(), "image/png")
    send_message(actor=cat, channel_id=channel.pk, content="", client_msg_id=uuid.uuid4(), attachment_ids=[photo.pk])
    readers = [owner] + [user for user in joiners if seats[user.pk] == seats[cat.pk]]
    others = [user for user in joiners if seats[user.pk] != seats[cat.pk]]
    return photo, readers, others


@pytest.mark.parametrize("view", ["chat-attachment-download", "chat-attachment-thumbnail"])
def test_a_file_of_another_subchannel_is_the_same_404_as_a_missing_one(elastic_file, login, view):
    photo, readers, others = elastic_file
    assert others
    for person in others:
        client = login(person)
        hidden, missing = client.get(reverse(view, args=[photo.pk])), client.get(reverse(view, args=[photo.pk + 1000]))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
    for person in readers:  # the sender's sub-channel and the moderator
        data, headers = fetch(login(person).get(reverse(view, args=[photo.pk])))
        assert headers["Content-Type"].startswith("image/")
