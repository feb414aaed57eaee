"""Benchmark: import a spreadsheet matrix at the row limit (`rubrics frameworks import`).

Usage: .venv/bin/python benchmarks/bench_import.py [--rows N] [--xlsx] [--keep DIR]

Writes a CSV (or .xlsx) ladder of N rows (default: rubrics.spreadsheet.MAX_ROWS, header
included) in the shape of a real one: 12 topics, levels 1-8, each row a distinct
sentence-long behaviour with one example, then imports it into a fresh workspace in a
fresh process with the call the CLI makes, and reports wall time per phase and peak
memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rubrics.spreadsheet import MAX_ROWS

IMPORT = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from rubrics.spreadsheet import read_spreadsheet, write_framework
t1 = time.perf_counter()
imported = read_spreadsheet(Path(sys.argv[1]), "big", "Big ladder")
t2 = time.perf_counter()
written = write_framework(Path(sys.argv[2]), imported.framework, data=imported.data)
t3 = time.perf_counter()
from rubrics.frameworks import load_framework
load_framework(written.path)
t4 = time.perf_counter()
criteria = sum(len(t.criteria) for t in imported.framework.topics)
print(json.dumps({"criteria": criteria, "import_s": t1 - t0, "read_s": t2 - t1,
                  "write_s": t3 - t2, "load_back_s": t4 - t3,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WORDS = ("designs", "reviews", "ships", "mentors", "measures", "documents", "untangles",
         "automates", "explains", "negotiates", "prioritises", "tests", "migrates")


def rows(count: int) -> list[list[str]]:
    """``count`` rows, header included: 12 topics, levels 1-8, distinct behaviours."""
    out = [["topic", "level", "criterion", "examples"]]
    for n in range(count - 1):
        verb = WORDS[n % len(WORDS)]
        out.append([f"Topic {n % 12}", str(n // 12 % 8 + 1),
                    f"{verb.capitalize()} system {n} so that the team can rely on it",
                    f"Did so for service {n}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=MAX_ROWS)
    parser.add_argument("--xlsx", action="store_true", help="an .xlsx instead of a CSV")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rubrics-bench-"))
    (work / "frameworks").mkdir(parents=True, exist_ok=True)
    sheet = work / ("big.xlsx" if args.xlsx else "big.csv")
    if args.xlsx:
        import openpyxl

        book = openpyxl.Workbook()
        for row in rows(args.rows):
            book.active.append(row)
        book.save(sheet)
    else:
        with sheet.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows(args.rows))
    (work / "frameworks" / "big.yaml").unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", IMPORT, str(sheet), str(work / "frameworks")],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    print(f"| {args.rows:,} rows ({'xlsx' if args.xlsx else 'csv'}), {r['criteria']:,} criteria "
          f"| {r['read_s']:.1f} s | {r['write_s']:.1f} s | {r['load_back_s']:.1f} s "
          f"| {r['peak_rss_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
