"""The dependency direction (house-style: revops <- billing <- revrec <- compliance) is enforced by
`make lint` (lint-imports, the contract in pyproject.toml). Shown on a copy of the source tree: the
tree as it is keeps the contract; an upward import planted in it, at module top or inside a
function, breaks it and fails the command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("revops", "billing", "revrec", "compliance")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess:
    # The copy comes first on the path, so lint-imports reads it and not the installed tree.
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "250"}  # no wrapped report lines
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_source_tree_keeps_the_layers(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "importer", "imported"),
    [
        # billing never imports revrec: revrec consumes what billing announces through the outbox.
        (
            "billing/planted.py",
            "from revrec.models import RevenueRun  # noqa\n",
            "billing.planted",
            "revrec.models",
        ),
        # a function-local import is an import too: the kernel never reaches up into compliance.
        (
            "revops/core/planted.py",
            "def late():\n    from compliance.models import CheckRun\n\n    return CheckRun\n",
            "revops.core.planted",
            "compliance.models",
        ),
    ],
)
def test_an_upward_import_fails_the_lint(tree, tmp_path, module, source, importer, imported):
    planted = tmp_path / "tree"
    shutil.copytree(tree, planted)
    (planted / module).write_text(source)
    result = _lint(planted)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"{importer} -> {imported}" in result.stdout, result.stdout


def test_a_service_importing_its_task_module_is_a_circle_and_fails_the_lint(tree, tmp_path):
    """Tasks import services; a service that imported a task module back (even inside a function, the
    usual way to dodge the circle) closes one. Services name tasks through revops.core.enqueue."""
    planted = tmp_path / "tree"
    shutil.copytree(tree, planted)
    runs = planted / "billing/invoicing/runs.py"
    runs.write_text(
        runs.read_text()
        + "\n\ndef _send(run_id):\n    from billing.invoicing.tasks import plan_billing_run\n\n"
        "    plan_billing_run.delay(run_id)\n"
    )
    result = _lint(planted)
    assert result.returncode != 0
    assert "No import cycles between siblings BROKEN" in result.stdout, result.stdout
    assert ".runs -> .tasks" in result.stdout or ".tasks -> .runs" in result.stdout, result.stdout
