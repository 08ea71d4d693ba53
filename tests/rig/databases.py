"""Real PostgreSQL and Redis servers for the tests, on free loopback ports, torn down afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.rig.servers import free_port, wait_for_port

RUNNING_AS_ROOT = os.geteuid() == 0


def postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    """A throw-away cluster: initdb into a temporary folder, run as the `postgres` user when we are root
    (PostgreSQL refuses to run as root), durability switched off because nothing here must survive."""

    def __init__(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hobbies-pg-"))
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def _run_as_owner(self) -> dict:
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if RUNNING_AS_ROOT else {}

    def start(self) -> PostgresServer:
        if RUNNING_AS_ROOT:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **self._run_as_owner(),
        )
        log = (self.root / "postgres.log").open("ab")
        if RUNNING_AS_ROOT:
            shutil.chown(self.root / "postgres.log", "postgres", "postgres")
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        args = [str(self.bin_dir / "postgres"), "-D", str(data), "-p", str(self.port)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **self._run_as_owner())
        wait_for_port(self.port, process=self.process)
        self._wait_until_accepting()
        return self

    def _wait_until_accepting(self) -> None:
        # The port opens a moment before the server accepts queries.
        for _ in range(100):
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            subprocess.run(["sleep", "0.1"], check=False)
        raise TimeoutError("PostgreSQL did not accept connections")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(2)  # SIGINT: PostgreSQL's fast shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
