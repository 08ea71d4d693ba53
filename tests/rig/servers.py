"""Start and stop the app itself as a real server process (hobbies/server.py, daphne) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def spawn_listening(
    args: list[str],
    *,
    port: int,
    log_path: Path,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen:
    """Start a server logging to `log_path` and wait until it listens on `port`; if it does not,
    stop it and raise with the end of its log."""
    log = log_path.open("ab")
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process)
    except Exception:
        stop_process(process)
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        raise RuntimeError(f"{what} did not start:\n{tail}") from None
    return process


def stop_process(process: subprocess.Popen | None, *, timeout: float = 10) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LiveServer:
    """The app served by `python -m hobbies.server` (daphne), with its own data folder (SQLite, media,
    secret) unless told otherwise."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None, *, port: int | None = None) -> None:
        self.data_dir = data_dir
        # A port chosen in advance when another component must know the app's address first.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "daphne.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hobbies.settings",
            "DATA_DIR": str(data_dir),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.process = spawn_listening(
            [sys.executable, "-m", "hobbies.server", "-b", "127.0.0.1", "-p", str(self.port)],
            port=self.port,
            log_path=self.log_path,
            what="hobbies.server",
            cwd=ROOT,
            env=self.env,
        )
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
