"""axe-core (npm, pinned in tests/a11y/package-lock.json) run inside a Playwright page.

The page's Content-Security-Policy allows no inline script, so axe is not added as a <script>:
Playwright evaluates its source through the DevTools protocol, which the policy does not govern.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from tests.rig.components import require, require_binary
from tests.rig.servers import ROOT

A11Y_DIR = ROOT / "tests" / "a11y"
AXE_SOURCE = A11Y_DIR / "node_modules" / "axe-core" / "axe.min.js"
# Every rule axe runs by default (WCAG 2.0-2.2 A and AA, best practices), plus one it keeps
# experimental: a control's accessible name contains its visible text.
OPTIONS = {"rules": {"label-content-name-mismatch": {"enabled": True}}, "resultTypes": ["violations"]}


@cache
def axe_source() -> str:
    """axe.min.js; `npm ci` in tests/a11y first when it is missing (make test does the same)."""
    if not AXE_SOURCE.is_file():
        npm = require_binary("npm", "npm (for axe-core)")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=A11Y_DIR, capture_output=True, text=True, timeout=600
        )
        require(
            result.returncode == 0 and AXE_SOURCE.is_file(), f"axe-core (npm ci in tests/a11y: {result.stderr[-300:]})"
        )
    return Path(AXE_SOURCE).read_text()


def violations(page) -> list[str]:
    """axe's violations on the page as it is now, one line per rule and element."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(axe_source())
    found = page.evaluate("options => axe.run(document, options).then(result => result.violations)", OPTIONS)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}: {node['failureSummary']}"
        for violation in found
        for node in violation["nodes"]
    ]
