"""``python -m bench [names...]``: run ``bench/<name>.py``'s ``run()`` (all benchmarks when no name is
given) and rewrite only that benchmark's section of docs/benchmarks.md, keeping the others. Words
after a name that are not benchmarks are that benchmark's options (``month_end --large``), passed to
its ``run(args)``; a ``run`` returning ``(section, body)`` writes that section."""

from __future__ import annotations

import importlib
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `python -m bench [names...]` (`make bench`); each section is replaced only when its\n"
    "benchmark runs again. Every figure sits next to its baseline, measured in the same run.\n"
)


def available() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_"))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/benchmarks.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if changed:
            commit += " with uncommitted changes"
    except (OSError, subprocess.CalledProcessError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}" + (f"; commit {commit}" if commit else "")
    )


def write_section(name: str, body: str) -> None:
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n{body.strip()}\n\n_Measured {stamp} on {machine()}._\n<!-- /bench:{name} -->"
    )
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text if text.endswith("\n") else text + "\n")


def plan(argv: list[str]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """([(benchmark, its options)], unknown words): a benchmark's name, then the options it is given
    (``month_end --contracts 100000``) up to the next benchmark's name."""
    runs: list[tuple[str, list[str]]] = []
    unknown = []
    for word in argv:
        if word in available():
            runs.append((word, []))
        elif runs and (word.startswith("-") or runs[-1][1]):
            runs[-1][1].append(word)
        else:
            unknown.append(word)
    return runs or [(name, []) for name in available()], unknown


def main(argv: list[str]) -> int:
    runs, unknown = plan(argv)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
        return 2
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print(
            "The benchmarks measure PostgreSQL; DATABASE_URL is not a PostgreSQL URL, so nothing was run.\n"
            "Set DATABASE_URL=postgres://USER@HOST:PORT/DB (`make bench` defaults to "
            "postgres://postgres@127.0.0.1:5432/concord_bench). Each benchmark creates and drops scratch "
            "databases named concord_bench_… on that server; the database in the URL is not touched."
        )
        return 2
    status = 0
    started = time.monotonic()
    for name, args in runs:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench {name}" + (f" {' '.join(args)}" if args else ""), flush=True)
        began = time.monotonic()
        body = module.run(args) if args else module.run()
        if body is None:
            print(f"bench {name}: skipped (see above); docs/benchmarks.md unchanged for it")
            status = status or 1
            continue
        section = name
        if isinstance(body, tuple):  # (section, body): a benchmark writing one section per size
            section, body = body
        write_section(section, body)
        print(body)
        print(f"bench {name}: written to {DOC.relative_to(ROOT)} ({time.monotonic() - began:.0f} s)")
    print(f"benchmarks done in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
