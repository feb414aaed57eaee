"""Packs side by side: an old source tree against this one, in one run (issue 9).

Usage (from the repository root; the old tree from ``git archive b9d50fd | tar -x -C
/tmp/old``, which needs no dependency this venv lacks)::

    .venv/bin/python benchmarks/bench_old_vs_new.py --old /tmp/old/src [--batch 40]

Each measurement runs in a fresh interpreter with ``PYTHONPATH`` set to one tree, so
each side packs its own bundled role with its own templates, as that commit shipped.
Old and new runs alternate, so that load from other processes hits both alike:

1. one pack (HTML+PDF): the first pack in a process (cold: for the new code this
   includes the placeholder renders) and the median of N further packs of other
   candidates in the same process (warm: the new code stamps into cached renders);
2. a batch of N candidates with ``build_batch(jobs=2)``, wall time.

It prints a markdown table for BENCHMARKS.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_packs import loadavg, log  # (this folder is on sys.path when run as a script)

ROLE = "senior-backend-money-movement"
ROOT = Path(__file__).resolve().parent.parent


def child(src: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("RUBRICS_WORKSPACE", None)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                          capture_output=True, text=True, check=False, env=env, cwd=src.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def child_pack(out: str, reps: str) -> dict[str, Any]:
    from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
    from rubrics.workspace import Workspace

    ws = Workspace.open(None)
    loop, role_path = ws.loop(ROLE)
    role_source = role_path.read_bytes()
    templates = pack_templates(ws, None)
    times = []
    for n in range(int(reps) + 1):
        t = time.perf_counter()
        build_pack(loop, role_source, Candidate(f"Ada Lovelace {n}", id=f"ada-{n}"),
                   PackOptions(out=Path(out)), templates)
        times.append(time.perf_counter() - t)
    return {"cold": times[0], "warm": times[1:], "cpu": time.process_time()}


def child_batch(csv_path: str, out: str, jobs: str) -> dict[str, Any]:
    from rubrics.packs import PackOptions, build_batch

    t = time.perf_counter()
    outcome = build_batch(None, ROLE, Path(csv_path), PackOptions(out=Path(out)), jobs=int(jobs))
    return {"wall": time.perf_counter() - t, "written": len(outcome.written),
            "failed": len(outcome.failed)}


def write_candidates(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "id"])
        for i in range(n):
            writer.writerow([f"Candidate Number {i + 1}", f"B-{i + 1:03d}"])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, *rest = sys.argv[2:]
        print(json.dumps(child_pack(*rest) if mode == "pack" else child_batch(*rest)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="src/ of the old tree")
    parser.add_argument("--new", type=Path, default=ROOT / "src", help="src/ of the new tree")
    parser.add_argument("--reps", type=int, default=3, help="warm packs after the cold one")
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args()
    deadline = time.monotonic() + args.wait_idle
    while time.monotonic() < deadline and float(loadavg().split()[0]) >= 0.5:
        log(f"waiting for an idle machine (load {loadavg()})")
        time.sleep(15)
    start_load = loadavg()
    sides = {"old": args.old.resolve(), "new": args.new.resolve()}
    packs: dict[str, dict[str, Any]] = {}
    batches: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-old-new-") as tmp:
        base = Path(tmp)
        for side, src in sides.items():
            log(f"{side}: one cold and {args.reps} warm packs (load {loadavg()})")
            packs[side] = child(src, "pack", str(base / f"{side}-one"), str(args.reps))
        sheet = base / "candidates.csv"
        write_candidates(sheet, args.batch)
        for side, src in sides.items():
            log(f"{side}: batch of {args.batch}, jobs={args.jobs} (load {loadavg()})")
            batches[side] = child(src, "batch", str(sheet), str(base / f"{side}-batch"),
                                  str(args.jobs))
    old, new = packs["old"], packs["new"]
    wo, wn = statistics.median(old["warm"]), statistics.median(new["warm"])
    bo, bn = batches["old"]["wall"], batches["new"]["wall"]
    rows = [
        ("one pack, first in the process (cold)", old["cold"], new["cold"]),
        (f"one pack, warm (median of {args.reps})", wo, wn),
        (f"batch of {args.batch}, `jobs={args.jobs}`", bo, bn),
    ]
    print(f"Load average at start {start_load}, at end {loadavg()}; old `{sides['old']}`, "
          f"new `{sides['new']}`.\n")
    print("| measure | old | new | new / old |\n| --- | --- | --- | --- |")
    for label, o, n in rows:
        print(f"| {label} | {o:.2f} s | {n:.2f} s | **{n / o:.2f}×** |")
    print(f"\nWarm packs (s): old {', '.join(f'{t:.2f}' for t in old['warm'])}; "
          f"new {', '.join(f'{t:.2f}' for t in new['warm'])}. Batches written/failed: "
          f"old {batches['old']['written']}/{batches['old']['failed']}, "
          f"new {batches['new']['written']}/{batches['new']['failed']}.")


if __name__ == "__main__":
    main()
