"""bench/chaos.py with small numbers: two workers, random drops, a worker SIGKILLed, Redis restarted."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.rig.components import require_binary
from tests.rig.servers import ROOT


def test_nothing_acknowledged_is_lost_or_doubled_and_delivery_is_live_again_within_5_s(postgres_url, tmp_path):
    require_binary("redis-server")
    report_path = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--clients", "6", "--messages", "12"]
        + ["--postgres-url", postgres_url, "--json", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert report_path.exists(), run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    print(json.dumps(report))
    assert report["acknowledged"] >= 6 * 12
    assert report["acknowledged_lost"] == 0
    assert report["stored_twice"] == 0
    assert report["unacknowledged_at_end"] == 0
    assert report["tabs_differing_after_sync"] == []
    assert report["server_errors"] == 0
    assert report["random_drops"] > 0
    assert report["recoveries"]["worker_killed"] <= 5.0
    assert report["recoveries"]["redis_restarted"] <= 5.0
    assert report["worker_log_errors"] == 0
    assert run.returncode == 0, run.stdout[-3000:]
