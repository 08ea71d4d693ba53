"""Chat fixtures: channels made through the services, and a recorder for published events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from chat.models import Ban, Channel, ChannelType, Mode, Privacy, Role
from chat.services import ratelimit


@pytest.fixture(autouse=True)
def _fresh_send_rate(monkeypatch) -> None:
    """Every test starts with full send buckets (user ids repeat from test to test), roomy enough
    for tests that build history through the send service. The limit has tests of its own, which
    patch in tighter buckets."""
    bucket = ratelimit.TokenBucket(rate=1000, burst=1000)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)


@pytest.fixture(autouse=True)
def _rollup_written_at_once(monkeypatch) -> None:
    """Sends and refusals reach the dashboards' rollup in the test's own transaction, not from a timer
    thread a few seconds later (chat/services/activity.py)."""
    from chat.services import activity

    monkeypatch.setattr(activity, "FLUSH_SECONDS", 0)


@pytest.fixture(autouse=True)
def _fresh_report_rate(monkeypatch) -> None:
    """The same for reports (chat/services/reports.py); its own tests patch in the real limit."""
    from chat.services import reports

    bucket = ratelimit.TokenBucket(rate=1000, burst=1000)
    monkeypatch.setattr(reports, "report_rate", lambda: bucket)


@pytest.fixture
def make_channel(db) -> Callable[..., Channel]:
    from chat.services.channels import create_channel

    def make(creator, *, name: str = "Hobbies", privacy: str = Privacy.PUBLIC, mode: str = Mode.RESTRICTED, **fields):
        return create_channel(actor=creator, name=name, privacy=privacy, mode=mode, **fields)

    return make


@pytest.fixture
def make_elastic(make_channel) -> Callable[..., Channel]:
    def make(creator, *, maximum: int = 3, target: int = 4, minimum_percentage: int = 40, **fields) -> Channel:
        return make_channel(
            creator,
            channel_type=ChannelType.ELASTIC,
            maximum_subchannels=maximum,
            target_memberships_per_subchannel=target,
            minimum_membership_percentage=minimum_percentage,
            **fields,
        )

    return make


@pytest.fixture
def room(make_channel, make_user):
    """A private channel for messaging tests: `mod` created it (moderator), `ann` is a member."""
    from chat.services.memberships import add_members

    mod, ann = make_user("mod"), make_user("ann")
    channel = make_channel(mod, name="Knitting", privacy=Privacy.PRIVATE)
    add_members(actor=mod, channel=channel, users=[ann])
    return channel, mod, ann


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    """Events delivered after commit (wrap the call in django_capture_on_commit_callbacks(execute=True))."""
    delivered: list[dict] = []
    monkeypatch.setattr("chat.events._deliver", delivered.append)
    return delivered


@dataclass
class World:
    """One channel and a person in every role, for the permission matrix and the pages."""

    channel: Channel
    admin: object
    moderator: object
    second_moderator: object
    member: object
    other_member: object
    stranger: object
    banned: object
    exiled: object
    newcomer: object
    initial_mode: str = ""

    def actor(self, role: str):
        return {
            "admin": self.admin,
            "moderator": self.moderator,
            "member": self.member,
            "non-member": self.stranger,
            "banned": self.banned,
        }[role]


@pytest.fixture
def make_world(make_user, make_channel) -> Callable[..., World]:
    from chat.models import Membership

    def make(privacy: str = Privacy.PUBLIC, mode: str = Mode.RESTRICTED, **fields) -> World:
        people = {
            name: make_user(name)
            for name in ("moderator", "second_moderator", "member", "other_member", "stranger", "banned", "exiled")
        }
        people["newcomer"] = make_user("newcomer")
        admin = make_user("admin", is_staff=True, is_superuser=True)
        channel = make_channel(people["moderator"], name="Knitting", privacy=privacy, mode=mode, **fields)
        Membership.objects.bulk_create(
            [
                Membership(channel=channel, user=people["second_moderator"], role=Role.MODERATOR),
                Membership(channel=channel, user=people["member"]),
                Membership(channel=channel, user=people["other_member"]),
            ]
        )
        Ban.objects.bulk_create(
            [Ban(channel=channel, user=people["banned"]), Ban(channel=channel, user=people["exiled"])]
        )
        return World(channel=channel, admin=admin, initial_mode=channel.mode, **people)

    return make


# --- Attachments (issue 5): the same tests on local disk and on S3 (moto's threaded server) ---


@pytest.fixture(scope="session")
def s3_server():
    from tests.rig.components import require
    from tests.rig.s3 import S3Server, moto_available

    require(moto_available(), "moto's S3 server (moto[server])")
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def attachment_backend(request, settings, monkeypatch, tmp_path) -> str:
    from tests.rig.s3 import use_attachment_backend

    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    use_attachment_backend(request.param, settings=settings, monkeypatch=monkeypatch, tmp_path=tmp_path, server=server)
    return request.param


@dataclass
class AttachmentWorld:
    """A private channel with its moderator (`owner`) and a `member`, and an `outsider`."""

    channel: Channel
    owner: object
    member: object
    outsider: object


@pytest.fixture
def attachment_world(attachment_backend, make_user, make_channel) -> AttachmentWorld:
    from chat.models import Membership

    owner, member, outsider = make_user("owner"), make_user("reader"), make_user("stranger")
    channel = make_channel(owner, name="Photography", privacy=Privacy.PRIVATE)
    Membership.objects.create(channel=channel, user=member)
    return AttachmentWorld(channel=channel, owner=owner, member=member, outsider=outsider)


@pytest.fixture
def upload_file(attachment_backend) -> Callable[..., object]:
    """Upload bytes the way a browser does: a multipart POST to our view's service (local) or,
    over real HTTP, to the pre-signed POST (S3) followed by complete_upload."""
    import requests
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chat.services import attachments

    def upload(actor, channel, name: str, data: bytes, content_type: str, *, declared_size: int | None = None):
        size = len(data) if declared_size is None else declared_size
        attachment, how = attachments.start_upload(
            actor=actor, channel=channel, name=name, size=size, content_type=content_type
        )
        if how.backend == "local":
            file = SimpleUploadedFile(name, data, content_type)
            return attachments.store_local_upload(actor=actor, attachment_id=attachment.pk, file=file)
        response = requests.post(
            how.url, data=how.fields, files={how.file_field: (name, data, content_type)}, timeout=10
        )
        assert response.status_code in {200, 201, 204}, response.text
        return attachments.complete_upload(actor=actor, attachment_id=attachment.pk)

    return upload


@pytest.fixture
def make_message(db) -> Callable[..., object]:
    """A stored message, made directly (attachments only need the row)."""
    from chat.models import Message

    def make(channel, author, content: str = "see attached"):
        return Message.objects.create(channel=channel, author=author, content=content)

    return make


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 20), *, orientation: int | None = None, mode="RGB"):
    """A small image made with Pillow; with an EXIF orientation tag if asked."""
    import io

    from PIL import Image

    image = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    corner = (0, 0, max(size[0] // 4, 2), max(size[1] // 4, 2))
    image.paste((0, 0, 255, 255) if mode == "RGBA" else (0, 0, 255), corner)  # marks the top-left corner
    out = io.BytesIO()
    extra = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        exif[0x010F] = "TestCam"  # Make: must not survive into the thumbnail
        extra["exif"] = exif.tobytes()
    image.save(out, format=fmt, **extra)
    return out.getvalue()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    return image_bytes


# --- Messaging backends (chat/backends/; docs/chime.md) ---


@pytest.fixture
def chime(settings, monkeypatch, db):
    """MESSAGING_BACKEND=chime for the services, both clients under botocore's Stubber; every
    answer queued must be used (tests/rig/chime.py: StubbedChime)."""
    from tests.rig.chime import StubbedChime

    with StubbedChime(settings=settings, monkeypatch=monkeypatch) as stubbed:
        yield stubbed


@pytest.fixture
def chime_settings(settings) -> None:
    """MESSAGING_BACKEND=chime as the relay runs it (no call is made without a `chime` stub)."""
    from tests.rig.chime import ADMIN_ARN, APP_INSTANCE_ARN

    settings.MESSAGING_BACKEND = "chime"
    settings.CHIME_APP_INSTANCE_ARN = APP_INSTANCE_ARN
    settings.CHIME_ADMIN_USER_ARN = ADMIN_ARN


@pytest.fixture
def chime_person(make_user) -> Callable[..., object]:
    """A person whose AppInstanceUser is <app instance>/user/<their name>."""
    from tests.rig.chime import APP_INSTANCE_ARN

    def make(name: str, **fields):
        user = make_user(name, **fields)
        user.profile.chime_arn = f"{APP_INSTANCE_ARN}/user/{name}"
        user.profile.save(update_fields=["chime_arn"])
        return user

    return make


@pytest.fixture
def chime_room(chime_settings, chime_person, monkeypatch, django_capture_on_commit_callbacks):
    """A private channel in Chime (tests/rig/chime.py: ChimeRoom) with `mod` and `ann`; `bob` is not in it."""
    from chat import events
    from tests.rig.chime import ChimeRoom

    room = ChimeRoom.build(chime_person, capture=django_capture_on_commit_callbacks)
    monkeypatch.setattr(events, "send_group", lambda group, handler, frame: room.published.append(frame))
    return room


# The suites that run on both messaging backends: what a browser sees must be the same on each.
# The chime run goes through botocore to a local fake Chime over HTTP (tests/rig/fake_chime.py).
BOTH_BACKENDS = (
    "chat/services/tests/test_channels.py",
    "chat/services/tests/test_memberships.py",
    "chat/services/tests/test_messages.py",
    "chat/tests/test_permissions.py",
    "chat/web/tests/test_channels.py",
    "chat/web/tests/test_conversation.py",
    "chat/realtime/tests/test_consumers.py",
)


# Where they do not apply: our own elastic placement and scale-in (with chime, Chime places members
# and scales in; chat/services/tests/test_mirror_channels.py tests following it).
LOCAL_ONLY = {"test_a_member_moved_by_a_merge_is_told_and_follows_the_new_stream"}


def pytest_generate_tests(metafunc) -> None:
    path = str(metafunc.definition.path)
    if metafunc.definition.originalname in LOCAL_ONLY:
        return
    if "messaging_backend" in metafunc.fixturenames and path.endswith(BOTH_BACKENDS):
        metafunc.parametrize("messaging_backend", ["local", "chime"], indirect=True)


@pytest.fixture(scope="session")
def fake_chime_server():
    from tests.rig.fake_chime import FakeChime

    server = FakeChime().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def messaging_backend(request) -> str:
    """The backend a test runs on: local, or (for the suites above, once more) chime on the fake."""
    backend = getattr(request, "param", "local")
    if backend == "chime":
        from tests.rig.fake_chime import use_fake_chime

        server = request.getfixturevalue("fake_chime_server")
        use_fake_chime(
            server, settings=request.getfixturevalue("settings"), monkeypatch=request.getfixturevalue("monkeypatch")
        )
    return backend
