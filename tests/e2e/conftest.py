"""Browser-test fixtures: the OpenID Connect provider and app servers that sign in with it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.rig.components import require_binary
from tests.rig.oidc import OidcProvider, install_provider
from tests.rig.servers import LiveServer


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[OidcProvider]:
    """node oidc-provider with one confidential client, shared by the whole session (it is slow to start)."""
    node = require_binary("node", "Node.js (for the oidc-provider test fixture)")
    install_provider(require_binary("npm", "npm (for the oidc-provider test fixture)"))
    provider = OidcProvider(tmp_path_factory.mktemp("oidc-provider"), node=node).start()
    yield provider
    provider.stop()


@pytest.fixture
def oidc_live_server(oidc_provider, tmp_path_factory) -> Iterator[Callable[..., LiveServer]]:
    """Start a fresh install of the app that signs in with the test provider; extra env per call."""
    servers: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        server = LiveServer(
            tmp_path_factory.mktemp("live-oidc"), oidc_provider.app_env(**env), port=oidc_provider.next_app_port()
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
