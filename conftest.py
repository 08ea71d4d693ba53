"""Shared fixtures: users by role, the live daphne server, and headless Chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator

import pytest

from tests.rig.browser import CHROMIUM, CHROMIUM_ARGS
from tests.rig.components import require, require_binary
from tests.rig.databases import PostgresServer, RedisServer, postgres_bin_dir
from tests.rig.servers import LiveServer

PASSWORD = "Hobby#Pass1"
PAGE_STATUS = "Failed to load resource: the server responded with a status of"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _close_socket_database_connections(django_db_setup, django_db_blocker) -> Iterator[None]:
    """WebSocket consumers under test reach the database from asgiref's one thread-sensitive
    thread, which may keep its connection (chat/realtime/socket_db.py); PostgreSQL will not drop the
    test database while it is open."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    with django_db_blocker.unblock():
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    from hobbies.accounts.models import Approval, Profile, User

    def make(username: str, *, password: str = PASSWORD, approval: str = Approval.ACTIVE, **fields) -> User:
        fields.setdefault("is_active", approval in (Approval.ACTIVE, Approval.ACTIVATED))
        user = User.objects.create_user(username=username, password=password, approval=approval, **fields)
        Profile.objects.create(user=user)
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def make_administrator(make_user) -> Callable[..., object]:
    """A community administrator: staff in the Community administrators group, not a superuser."""
    from hobbies.accounts import administrators
    from hobbies.accounts.roles import OPERATOR

    def make(username: str = "administrator", **fields):
        user = make_user(username, **fields)
        administrators.make_administrator(actor=OPERATOR, user=user)
        return user

    return make


@pytest.fixture
def member(make_user):
    return make_user("member")


@pytest.fixture
def outsider(make_user):
    return make_user("outsider")


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    require_binary(CHROMIUM, "Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium_browser) -> Iterator[Callable[..., object]]:
    """Each call opens a page in a fresh browser context: a separate person with separate cookies.

    A console error or an uncaught exception in any page of those contexts (popups included)
    fails the test: Chromium reports every Content-Security-Policy violation as a console error.
    `ignore` is a pattern for the errors a test causes on purpose."""
    contexts = []
    problems: list[str] = []

    def watch(page, ignore: re.Pattern[str] | None) -> None:
        def on_console(message) -> None:
            if message.type != "error" or (ignore and ignore.search(message.text)):
                return
            source = message.location.get("url")
            if source == page.url and message.text.startswith(PAGE_STATUS):
                return  # the page's own status (a 404 on purpose, a form answered 400): tests check those
            problems.append(f"console error on {page.url}: {message.text} ({source})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"uncaught exception on {page.url}: {error}"))

    def open_page(*, ignore: re.Pattern[str] | None = None, **options):
        # `options` are Playwright's context options: timezone_id, locale, viewport, java_script_enabled...
        context = chromium_browser.new_context(**{"viewport": {"width": 1100, "height": 800}, **options})
        context.set_default_timeout(15_000)
        context.on("page", lambda page: watch(page, ignore))
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def live_server_app(tmp_path_factory) -> Iterator[LiveServer]:
    """A fresh install of the app served by daphne, on its embedded defaults (SQLite, in-memory layer)."""
    server = LiveServer(tmp_path_factory.mktemp("live"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server: the one the PostgreSQL + Redis run already started, or a new one."""
    if os.environ.get("TEST_STACK") and os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    require_binary("redis-server")
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL cluster, for tests that run processes of their own against it."""
    if os.environ.get("TEST_STACK") and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield os.environ["DATABASE_URL"]
        return
    require(postgres_bin_dir() is not None, "PostgreSQL server")
    server = PostgresServer().start()
    yield server.url
    server.stop()
