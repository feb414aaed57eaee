"""Benchmark: submit and aggregate 1,000 packs' worth of submissions (one a stage each).

Usage: .venv/bin/python benchmarks/bench_aggregate.py [--packs N] [--keep DIR]

Makes one real pack (YAML scorecards only: PDF rendering is measured in
bench_packs.py), copies it N times with its own pack id and candidate, writes one
HTML-form export (JSON) per stage for each, submits them with `rubrics.submit.submit`
(one call per pack, as a recruiter would), then aggregates all packs at once to JSON
in a fresh process with the call `rubrics aggregate PACK... --format json` makes (worker
processes, one per core up to four), and reports wall time and peak memory (ru_maxrss of
the parent and of the largest worker).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rubrics.cohort import copy_pack
from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
from rubrics.samples import html_export, sample_answers
from rubrics.submit import submit
from rubrics.workspace import Workspace

ROLE = "senior-backend-money-movement"

AGGREGATE = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from rubrics import panel
packs = sorted(p for p in Path(sys.argv[1]).iterdir() if p.is_dir())
t1 = time.perf_counter()
text, failures = panel.report(packs, "json", lambda: None)
assert not failures, failures
t2 = time.perf_counter()
print(json.dumps({"packs": len(packs), "import_s": t1 - t0, "aggregate_s": t2 - t1,
                  "json_bytes": len(text),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packs", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rubrics-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    packs = work / "packs"
    ws = Workspace.open(None)
    loop, _, role_source = ws.loop_with_source(ROLE)
    seed = build_pack(loop, role_source, Candidate("Seed"), PackOptions(
        out=work / "seed", formats=("html",)), pack_templates(ws, None))

    t0 = time.perf_counter()
    returned = work / "returned"
    for i in range(args.packs):
        target = copy_pack(seed.path, packs / f"c{i:04d}", f"bench-{i:04d}",
                           {"name": f"Candidate {i}", "id": f"c{i:04d}"}, "2026-11-22")
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        folder = returned / f"c{i:04d}"
        folder.mkdir(parents=True)
        for n, stage in enumerate(manifest["stages"]):
            answers = sample_answers(stage, n, seed=i)
            (folder / f"{stage['id']}.json").write_text(
                html_export(manifest, stage["id"], answers), encoding="utf-8")
    t1 = time.perf_counter()
    for i in range(args.packs):
        files = sorted((returned / f"c{i:04d}").iterdir())
        submit(packs / f"c{i:04d}", files)
    t2 = time.perf_counter()
    runs = [json.loads(subprocess.run([sys.executable, "-c", AGGREGATE, str(packs)], check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(3)]
    agg = sorted(runs, key=lambda r: r["aggregate_s"])[1]  # the median of three warm runs
    n = args.packs
    print("| measure | value |\n| --- | --- |")
    print(f"| packs x stages | {n} x {len(loop.role.stages)} = {n * len(loop.role.stages):,} submissions |")
    print(f"| set-up (copy packs, write returns) | {t1 - t0:.1f} s |")
    print(f"| submit, one call per pack | {t2 - t1:.1f} s total, {1000 * (t2 - t1) / n:.1f} ms per pack, "
          f"{1000 * (t2 - t1) / (n * len(loop.role.stages)):.2f} ms per submission |")
    each = ", ".join(f"{r['aggregate_s']:.2f}" for r in runs)
    print(f"| aggregate all packs to JSON, median of 3 warm runs ({each}) | "
          f"{agg['aggregate_s']:.2f} s (+ {agg['import_s']:.2f} s imports) |")
    print(f"| JSON size | {agg['json_bytes'] / 1e6:.1f} MB |")
    print(f"| peak memory of the aggregate process | {agg['peak_rss_mib']:.0f} MiB "
          f"(largest worker {agg['worker_peak_rss_mib']:.0f} MiB) |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
