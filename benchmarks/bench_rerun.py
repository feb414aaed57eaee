"""Benchmark: a candidates batch run again with nothing new (`rubrics pack --candidates`).

Usage: .venv/bin/python benchmarks/bench_rerun.py [--rows N] [--packs M] [--keep DIR]

Makes one real pack (HTML only: rendering is measured in bench_packs.py), copies it M
times (default N) with its own pack id and candidate, writes a CSV of the first N of
those candidates (with their ids), then times, in a fresh process, the command a
recruiter runs again: `python -m rubrics pack ROLE --candidates CSV --out DIR --format
html`. Every row finds its pack, so nothing is rendered: what is measured is deciding,
row by row, that each pack is kept.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rubrics.cohort import copy_pack
from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
from rubrics.workspace import Workspace

ROLE = "senior-backend-money-movement"


def make_packs(out: Path, count: int, seed: Path) -> None:
    """``count`` copies of the pack in ``seed``, each with its own candidate and pack id."""
    for i in range(count):
        copy_pack(seed, out / f"c{i:05d}", f"bench-{i:05d}",
                  {"name": f"Candidate {i}", "id": f"c{i:05d}", "notes": None}, "2026-11-23")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--packs", type=int, help="packs in --out (default: --rows)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    packs_count = args.packs or args.rows
    work = args.keep or Path(tempfile.mkdtemp(prefix="rubrics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "packs"
    if not out.is_dir():
        ws = Workspace.open(None)
        loop, _, role_source = ws.loop_with_source(ROLE)
        seed = build_pack(loop, role_source, Candidate("Seed"), PackOptions(
            out=work / "seed", formats=("html",)), pack_templates(ws, None))
        out.mkdir()
        make_packs(out, packs_count, seed.path)
    sheet = work / "candidates.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["name", "id"],
                                  *([f"Candidate {i}", f"c{i:05d}"] for i in range(args.rows))])
    env = {**os.environ, "RUBRICS_CACHE_DIR": ""}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rubrics", "pack", ROLE, "--candidates",
                           str(sheet), "--out", str(out), "--format", "html"],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    print(f"| {args.rows:,} rows, {packs_count:,} packs in --out | {wall:.2f} s | "
          f"exit {done.returncode}: {summary} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
