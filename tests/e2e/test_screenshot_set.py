"""The curated screenshots committed under tests/e2e/screenshots/ (issue 16's acceptance: the reworked
screens) are exactly the shots the browser tests keep (``shot(name, keep=<slug>)``), each a PNG of a
reasonable size — so ``make screenshots`` and the committed set cannot drift apart unnoticed. Runs
without a browser; every test run writes its own screenshots under the git-ignored artifacts folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import ARTIFACTS, CURATED, kept_slugs

HERE = Path(__file__).parent
MAX_BYTES = 600_000
PNG = b"\x89PNG\r\n\x1a\n"


def declared() -> dict[str, str]:
    out: dict[str, str] = {}
    for source in sorted(HERE.glob("test_*.py")):
        for slug in kept_slugs(source.read_text()):
            assert slug not in out, f"{slug} is kept by {out[slug]} and {source.name}"
            out[slug] = source.name
    return out


def test_the_committed_screenshots_are_exactly_the_kept_shots():
    committed = {path.stem for path in CURATED.glob("*.png")}
    wanted = set(declared())
    assert wanted - committed == set(), "kept but not committed: run make screenshots"
    assert committed - wanted == set(), "committed but no test keeps them any more: run make screenshots"


def test_each_curated_screenshot_is_a_png_of_a_reasonable_size():
    for path in sorted(CURATED.glob("*.png")):
        data = path.read_bytes()
        assert data.startswith(PNG), path.name
        assert len(data) <= MAX_BYTES, f"{path.name}: {len(data):,} bytes"


def test_test_runs_write_their_screenshots_where_git_ignores_them():
    import shutil

    import pytest

    root = HERE.parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    probe = ARTIFACTS / "probe" / "01-probe.png"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(probe.relative_to(root))], cwd=root, check=False
    )
    assert ignored.returncode == 0, "tests/e2e/artifacts/ must be git-ignored"
    kept = subprocess.run(
        ["git", "check-ignore", "-q", str((CURATED / "x.png").relative_to(root))], cwd=root, check=False
    )
    assert kept.returncode == 1, "the curated set must not be git-ignored"
