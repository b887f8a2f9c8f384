"""axe-core in the browser tests. The script is vendored (tests/e2e/vendor, axe-core 4.11.0 from the npm
registry, MPL-2.0, pinned by its SHA-256) and evaluated through the DevTools protocol, which the page's
Content-Security-Policy does not govern: no inline script is added to the page."""

from __future__ import annotations

import hashlib
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-4.11.0.min.js"
AXE_SHA256 = "e9e5863c33a874f09bc01acd9234b7e3c871479f5eef8802fa582544465e6d01"
BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " — " + n.failureSummary)}));
}"""


def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "the vendored axe-core is not the pinned file"
    return data.decode()


def serious_violations(page, source: str) -> list[dict]:
    """The serious and critical axe violations of the page as it stands."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source + "\n;0")
    return [v for v in page.evaluate(_RUN) if v["impact"] in BLOCKING]
