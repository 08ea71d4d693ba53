"""A real OpenID Connect provider for the tests: node oidc-provider (tests/oidc/provider.js) on loopback.

The provider's client must know the app's callback address before the app starts, so the
provider reserves the app servers' ports up front and hands them out with next_app_port().
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from tests.rig.components import require
from tests.rig.servers import ROOT, free_port, spawn_listening, stop_process

PROVIDER_DIR = ROOT / "tests" / "oidc"
CLIENT_ID = "hobbies-test"
LABEL = "Test Provider"


def install_provider(npm: str) -> None:
    """npm ci from the lockfile when node_modules is missing (make test does the same first)."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, capture_output=True, text=True, timeout=600
    )
    require(result.returncode == 0, f"oidc-provider (npm ci in tests/oidc failed: {result.stderr[-500:]})")


class OidcProvider:
    def __init__(self, log_dir: Path, *, node: str, app_ports: int = 4) -> None:
        self.node = node
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_secret = secrets.token_urlsafe(32)
        self.log_path = log_dir / "oidc-provider.log"
        self._free_app_ports = [free_port() for _ in range(app_ports)]
        self.process: subprocess.Popen | None = None

    def next_app_port(self) -> int:
        if not self._free_app_ports:
            raise RuntimeError("no app port left: raise app_ports in OidcProvider")
        return self._free_app_ports.pop(0)

    def app_env(self, **extra: str) -> dict[str, str]:
        """The app's environment for signing in with this provider, through discovery from the issuer."""
        return {
            "OIDC_ENABLED": "true",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_GROUPS_CLAIM": "groups",
            "OIDC_ADMIN_GROUPS": "hobbies-admins",
            "OIDC_PROVIDER_LABEL": LABEL,
            "SESSION_COOKIE_NAME": "hobbies_session",
            **extra,
        }

    def start(self) -> OidcProvider:
        apps = [f"http://127.0.0.1:{port}" for port in self._free_app_ports]
        env = {
            "PATH": "/usr/bin:/bin",
            "PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": self.client_secret,
            "REDIRECT_URIS": ",".join(f"{app}/oidc/callback/" for app in apps),
            "POST_LOGOUT_REDIRECT_URIS": ",".join(f"{app}/" for app in apps),
        }
        self.process = spawn_listening(
            [self.node, "provider.js"],
            port=self.port,
            log_path=self.log_path,
            what="oidc-provider",
            cwd=PROVIDER_DIR,
            env=env,
        )
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None
