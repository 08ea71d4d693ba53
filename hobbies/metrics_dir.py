"""A deployment's Prometheus folder (prometheus-client's multiprocess mode), outside the
hobbies.metrics package so that importing it imports no prometheus_client: `python -m hobbies.server`
prepares the folder before anything imports that library, which picks its storage when imported.

The first worker to start while no process of the directory is alive empties it; a worker joining
a running deployment keeps the others' files (counters never go backwards) and drops only the
gauges of processes that are gone, as prometheus-client's `mark_process_dead` would.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"_(\d+)\.db$|^process_(\d+)$")


def drop_empty_setting() -> None:
    """PROMETHEUS_MULTIPROC_DIR set but empty would make prometheus_client keep its files in the
    current folder: treat it as unset."""
    if ENV in os.environ and not os.environ[ENV].strip():
        del os.environ[ENV]


def _pid_of(name: str) -> int | None:
    found = _PID_FILE.search(name)
    if found is None:
        return None
    return int(found.group(1) or found.group(2))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that are gone (their connections are closed)."""
    for path in Path(directory).glob("gauge_live*.db"):
        pid = _pid_of(path.name)
        if pid is not None and not _alive(pid):
            path.unlink(missing_ok=True)


def prepare_directory(directory: str) -> bool:
    """Make `directory` this process's multiprocess directory; True when this process emptied it.

    Must run before prometheus_client is imported (the caller sets the environment variable);
    it takes a lock, so workers started at the same moment agree on who cleans."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:  # noqa: PTH123
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = [path for path in root.iterdir() if path.name != ".lock"]
        pids = {_pid_of(path.name) for path in entries} - {None}
        cleaned = not any(_alive(pid) for pid in pids)
        if cleaned:
            for path in entries:
                if path.is_file():
                    path.unlink(missing_ok=True)
        else:
            forget_dead_processes(directory)
        # Marks this process alive in the directory from now on, before its first metric file.
        (root / f"process_{os.getpid()}").touch()
    return cleaned
