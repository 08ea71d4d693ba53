"""hobbies/metrics_dir.py: a deployment's Prometheus folder, emptied by its first worker only."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hobbies import metrics_dir


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_process():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_the_first_worker_empties_a_folder_whose_processes_are_gone(tmp_path, dead_pid):
    for name in (f"counter_{dead_pid}.db", f"histogram_{dead_pid}.db", f"gauge_livesum_{dead_pid}.db"):
        (tmp_path / name).write_bytes(b"old")
    assert metrics_dir.prepare_directory(str(tmp_path)) is True
    assert sorted(path.name for path in tmp_path.iterdir()) == [".lock", f"process_{os.getpid()}"]


def test_a_worker_joining_a_running_deployment_keeps_the_counters(tmp_path, dead_pid, live_process):
    kept = [f"counter_{live_process}.db", f"counter_{dead_pid}.db", f"gauge_livesum_{live_process}.db"]
    for name in [*kept, f"gauge_livesum_{dead_pid}.db", f"gauge_livemostrecent_{dead_pid}.db"]:
        (tmp_path / name).write_bytes(b"figures")
    assert metrics_dir.prepare_directory(str(tmp_path)) is False
    left = {path.name for path in tmp_path.iterdir()}
    # A dead worker's counters stay (totals never go backwards); its live gauges go.
    assert left == {*kept, ".lock", f"process_{os.getpid()}"}


def test_a_starting_worker_counts_as_alive_before_its_first_metric(tmp_path, live_process):
    (tmp_path / f"process_{live_process}").touch()
    assert metrics_dir.prepare_directory(str(tmp_path)) is False


def test_the_folder_is_created(tmp_path):
    target = tmp_path / "deep" / "metrics"
    assert metrics_dir.prepare_directory(str(target)) is True
    assert target.is_dir()


def test_forgetting_dead_processes_spares_counters_and_the_living(tmp_path, dead_pid):
    for name in (f"gauge_livesum_{dead_pid}.db", f"counter_{dead_pid}.db", f"gauge_livesum_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"x")
    metrics_dir.forget_dead_processes(str(tmp_path))
    assert {path.name for path in tmp_path.iterdir()} == {f"counter_{dead_pid}.db", f"gauge_livesum_{os.getpid()}.db"}


def test_an_empty_setting_counts_as_none(monkeypatch):
    monkeypatch.setenv(metrics_dir.ENV, " ")
    metrics_dir.drop_empty_setting()
    assert metrics_dir.ENV not in os.environ
    monkeypatch.setenv(metrics_dir.ENV, "/run/hobbies-metrics")
    metrics_dir.drop_empty_setting()
    assert os.environ[metrics_dir.ENV] == "/run/hobbies-metrics"
