"""Benchmark: calibration JSON over 1,000 packs x 6 stages with 40 interviewers.

Usage: .venv/bin/python benchmarks/bench_calibrate.py [--packs N] [--interviewers N]
       [--cache DIR] [--runs N]

Builds the cohort once with `rubrics.cohort.make_cohort` (real packs of the bundled role,
the first 6 of its stages returned by distinct interviewers from 40, one of them lenient;
about 9 minutes for 1,000 packs) and keeps it in DIR (default: a folder in the system's
temporary directory named after the arguments), so later runs reuse it. Then times
`rubrics.calibration.calibrate(...)` to JSON in a fresh process: once cold (right after the
cohort was built, or after dropping the OS page cache when run as root: `sync; echo 3 >
/proc/sys/vm/drop_caches`), then warm (median of --runs). Peak memory is the child
process's ru_maxrss (and its own children's, should calibrate use workers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROLE = "senior-backend-money-movement"
STAGES = 6
LENIENT = {"Chiara Okoye": 1.0}  # interviewer_name(2): a known lenient rater

CALIBRATE = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
try:
    from rubrics.calibration import calibrate
except ImportError as exc:
    sys.exit(f"rubrics.calibration.calibrate is missing ({exc}): this benchmark needs the "
             "calibration core (issue 11)")
packs = sorted(p for p in Path(sys.argv[1]).iterdir() if p.is_dir())
t1 = time.perf_counter()
data = calibrate(packs)
text = json.dumps(data, ensure_ascii=False)
t2 = time.perf_counter()
print(json.dumps({"packs": len(packs), "read": data["packs"]["read"], "import_s": t1 - t0,
                  "calibrate_s": t2 - t1, "json_bytes": len(text.encode("utf-8")),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_peak_rss_mib":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def build(cache: Path, packs: int, interviewers: int) -> float | None:
    """The cohort in ``cache`` (built now, or reused); the seconds building took, or None."""
    done = cache / "done"
    if done.is_file():
        return None
    from rubrics.cohort import make_cohort

    t0 = time.perf_counter()
    if cache.exists():
        import shutil

        shutil.rmtree(cache)  # an interrupted build: start again
    make_cohort(None, ROLE, cache / "packs", packs, interviewers, seed=42, lenient=LENIENT,
                stages=STAGES)
    done.write_text("built\n", encoding="utf-8")
    return time.perf_counter() - t0


def drop_caches() -> bool:
    """Drop the OS page cache (root only); whether it was dropped."""
    if os.geteuid() != 0:
        return False
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="utf-8")
    except OSError:
        return False
    return True


def run(packs: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CALIBRATE, str(packs)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        sys.exit(done.stderr.strip() or f"calibrate failed (exit {done.returncode})")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packs", type=int, default=1000)
    parser.add_argument("--interviewers", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="keep the cohort here (reused if built)")
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.gettempdir()) / (
        f"rubrics-bench-calibrate-{args.packs}x{STAGES}-{args.interviewers}")
    built_s = build(cache, args.packs, args.interviewers)
    dropped = drop_caches()
    cold = run(cache / "packs")
    warm = sorted((run(cache / "packs") for _ in range(args.runs)),
                  key=lambda r: r["calibrate_s"])
    mid = warm[len(warm) // 2]
    how_cold = ("OS page cache dropped" if dropped else
                "first run after building" if built_s is not None else
                "not cold: cohort reused and page cache not dropped (run as root)")
    print("| measure | value |\n| --- | --- |")
    print(f"| packs x stages, interviewers | {args.packs} x {STAGES}, {args.interviewers} |")
    print(f"| cohort build | {'reused' if built_s is None else f'{built_s:.0f} s'} |")
    print(f"| calibrate to JSON, cold ({how_cold}) | {cold['calibrate_s']:.2f} s "
          f"(+ {cold['import_s']:.2f} s imports) |")
    each = ", ".join(f"{r['calibrate_s']:.2f}" for r in warm)
    print(f"| calibrate to JSON, median of {len(warm)} warm runs ({each}) | "
          f"{mid['calibrate_s']:.2f} s (+ {mid['import_s']:.2f} s imports) |")
    print(f"| packs read | {mid['read']} of {mid['packs']} |")
    print(f"| JSON size | {mid['json_bytes'] / 1e6:.2f} MB |")
    print(f"| peak memory of the calibrate process | {mid['peak_rss_mib']:.0f} MiB "
          f"(its workers, if any: {mid['children_peak_rss_mib']:.0f} MiB) |")


if __name__ == "__main__":
    main()
