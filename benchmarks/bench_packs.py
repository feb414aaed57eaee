"""Benchmarks for candidate packs: one pack vs the WeasyPrint floor, batches, start-up, memory.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_packs.py            # full run (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_packs.py --quick    # smoke run (fewer repetitions, 8 packs)

It prints markdown tables (progress goes to stderr) for BENCHMARKS.md. What it measures:

1. One pack (HTML+PDF) with ``build_pack``, warm (WeasyPrint imported and one untimed pack
   built first), median of N runs, against the WeasyPrint floor: the very HTML documents the
   pack turns into PDF (captured by wrapping ``html_to_pdf`` during the untimed run), rendered
   with plain ``weasyprint.HTML(string=...).write_pdf(...)`` and the same PDF options. Pack and
   floor runs are interleaved so that load from other processes hits both alike. Then where the
   time goes: an instrumented run (time per rubrics step) and, if the overhead is over the
   target, a cProfile run.
2. A batch through ``rubrics.packs.build_batch`` from a generated CSV, ``jobs=2`` and
   ``jobs=1``, each in a fresh interpreter (as ``rubrics pack --candidates`` would run).
3. ``rubrics --help`` start-up against ``python -c pass``.
4. Peak memory (``ru_maxrss``) of one pack in a fresh interpreter.

Since issue 9 (ADR 10) the timed packs of section 1 stamp into the renders the untimed
first pack cached, so they fall far below the WeasyPrint floor (a negative overhead);
batches render the role once. ``benchmarks/bench_old_vs_new.py`` compares two source
trees side by side in one run.

Only the standard library is imported at module level, so that the child processes this
script starts measure rubrics' own imports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROLE = "senior-backend-money-movement"
ROOT = Path(__file__).resolve().parent.parent
OVERHEAD_TARGET = 0.10
SPEEDUP_TARGET = 1.6  # "well under the single-core sum" on 2 cores


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def venv_bin() -> Path:
    candidate = ROOT / ".venv" / "bin"
    return candidate if (candidate / "python").exists() else Path(sys.executable).parent


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- environment


def harfbuzz_subset() -> str:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError as exc:
        return f"unknown (ldconfig: {exc})"
    hits = [line.strip() for line in out.splitlines() if "libharfbuzz-subset" in line]
    if not hits:
        return "NOT installed (WeasyPrint falls back to fontTools subsetting, ~3x slower)"
    version = ""
    if shutil.which("dpkg-query"):
        q = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libharfbuzz-subset0"],
                           capture_output=True, text=True, check=False)
        if q.returncode == 0 and q.stdout:
            version = f" (libharfbuzz-subset0 {q.stdout})"
    return "installed: " + hits[0] + version


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "n/a"
    return head + (" (src/ has uncommitted changes)" if dirty else "")


def environment() -> list[list[str]]:
    from importlib.metadata import version

    def v(name: str) -> str:
        try:
            return version(name)
        except Exception:
            return "n/a"

    mem = "n/a"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return [
        ["date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")],
        ["git", git_state()],
        ["CPUs / memory", f"{os.cpu_count()} / {mem}"],
        ["Python", f"{platform.python_version()} ({sys.executable})"],
        ["WeasyPrint / pydyf / pypdf / Jinja2",
         f"{v('weasyprint')} / {v('pydyf')} / {v('pypdf')} / {v('Jinja2')}"],
        ["libharfbuzz-subset", harfbuzz_subset()],
        ["load average at start", loadavg()],
    ]


# --------------------------------------------------------------------------- 1. one pack


@contextmanager
def patched(obj: Any, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]
            ) -> Iterator[None]:
    original = getattr(obj, name)
    setattr(obj, name, wrapper(original))
    try:
        yield
    finally:
        setattr(obj, name, original)


@contextmanager
def patched_html_to_pdf(wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Wrap html_to_pdf wherever packs may call it from (its own import, or the module)."""
    import rubrics.packs
    import rubrics.render

    with ExitStack() as stack:
        stack.enter_context(patched(rubrics.render, "html_to_pdf", wrapper))
        if hasattr(rubrics.packs, "html_to_pdf"):
            stack.enter_context(patched(rubrics.packs, "html_to_pdf", wrapper))
        yield


class Clock:
    """Wall and CPU seconds of a block."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._w
        self.cpu = time.process_time() - self._c


def one_pack(reps: int, base: Path, profile: str) -> dict[str, Any]:
    """Section 1: warm pack vs the WeasyPrint floor, and where the difference goes."""
    import logging

    with Clock() as imp:
        import weasyprint
    from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
    from rubrics.workspace import Workspace

    ws = Workspace.open(None)
    loop, role_path = ws.loop(ROLE)
    role_source = role_path.read_bytes()
    templates = pack_templates(ws, None)
    counter = iter(range(10_000))

    def run_pack() -> Clock:
        n = next(counter)
        out = base / f"one-{n}"
        with Clock() as c:
            build_pack(loop, role_source, Candidate(f"Ada Lovelace {n}", id=f"ada-{n}"),
                       PackOptions(out=out), templates)
        shutil.rmtree(out, ignore_errors=True)
        return c

    # Untimed first pack: compiles the templates, loads fontconfig, and records the HTML
    # of every PDF the pack makes, with the html_to_pdf arguments it was made with.
    captured: list[tuple[str, dict[str, Any], int]] = []

    def recorder(original: Callable[..., bytes]) -> Callable[..., bytes]:
        def wrapped(html: str, **kwargs: Any) -> bytes:
            pdf = original(html, **kwargs)
            captured.append((html, kwargs, len(pdf)))
            return pdf
        return wrapped

    log("one pack: first (untimed) run, capturing the HTML sent to WeasyPrint")
    with patched_html_to_pdf(recorder):
        first = run_pack()
    if not captured:
        raise SystemExit("captured no html_to_pdf calls: has rubrics.packs stopped using it?")
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # as html_to_pdf does

    documents = []
    for html, kwargs, size in captured:
        options: dict[str, Any] = {"pdf_forms": kwargs.get("forms", False),
                                   "pdf_tags": kwargs.get("tagged", True)}
        if kwargs.get("variant"):
            options["pdf_variant"] = kwargs["variant"]
        documents.append((html, str(Path(kwargs["base"]).resolve()) + "/", options, size))

    floor_sizes: list[int] = []

    def run_floor() -> Clock:
        floor_sizes.clear()
        with Clock() as c:
            for html, base_url, options, _ in documents:
                floor_sizes.append(len(weasyprint.HTML(string=html, base_url=base_url)
                                       .write_pdf(**options)))
        return c

    packs: list[Clock] = []
    floors: list[Clock] = []
    for i in range(reps):
        log(f"one pack: timed run {i + 1}/{reps} (pack, then floor)")
        packs.append(run_pack())
        floors.append(run_floor())

    result: dict[str, Any] = {
        "import_weasyprint": imp.wall,
        "first": first.wall,
        "reps": reps,
        "pack_wall": [c.wall for c in packs],
        "pack_cpu": [c.cpu for c in packs],
        "floor_wall": [c.wall for c in floors],
        "floor_cpu": [c.cpu for c in floors],
        "documents": [(o.get("pdf_variant") or ("forms" if o["pdf_forms"] else "plain"), len(h))
                      for h, _, o, _ in documents],
        "pdf_kib_pack": sum(s for *_, s in documents) / 1024,
        "pdf_kib_floor": sum(floor_sizes) / 1024,
    }
    result["overhead_wall"] = median(result["pack_wall"]) / median(result["floor_wall"]) - 1
    result["overhead_cpu"] = median(result["pack_cpu"]) / median(result["floor_cpu"]) - 1

    log("one pack: instrumented run (time per step)")
    result["steps"], result["steps_total"] = step_breakdown(run_pack)
    result["pack_file_kib"] = pack_file_sizes(base, loop, role_source, templates)

    want_profile = profile == "always" or (profile == "auto" and
                                           result["overhead_wall"] > OVERHEAD_TARGET)
    if want_profile:
        log("one pack: cProfile run")
        result["profile"] = profile_pack(run_pack)
    result["packs_built"] = next(counter)
    result["maxrss_kib_after"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def step_breakdown(run_pack: Callable[[], Clock]) -> tuple[list[tuple[str, float, int]], float]:
    """Time each rubrics step of one pack by wrapping the functions build_pack calls."""
    import rubrics.coverage
    import rubrics.packs as packs_mod
    import rubrics.pdfforms
    import rubrics.render

    spent: dict[str, list[float]] = {}
    depth = [0]  # only outermost timed calls count (os.fsync inside fsync_dir is fsync_dir's)

    def timer(label: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                depth[0] += 1
                try:
                    return original(*args, **kwargs)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        spent.setdefault(label, []).append(time.perf_counter() - t)
            return wrapped
        return wrap

    with patched_html_to_pdf(timer("html_to_pdf (WeasyPrint + URL fetcher)")), \
            patched(rubrics.pdfforms, "form_finisher",
                    timer("form_finisher (build the finisher that tidies form fields)")), \
            patched(rubrics.render.Templates, "render", timer("Jinja templates (render/render_page)")), \
            patched(packs_mod, "framework_to_yaml", timer("framework_to_yaml")), \
            patched(rubrics.coverage, "coverage_summary", timer("coverage_summary")), \
            patched(os, "fsync", timer("os.fsync (files)")), \
            patched(packs_mod, "fsync_dir", timer("fsync_dir (rename commit)")):
        total = run_pack().wall
    steps = [(label, sum(ts), len(ts)) for label, ts in spent.items()]
    steps.sort(key=lambda s: -s[1])
    steps.append(("everything else (mkdir, writes, hashing, manifest, rename)",
                  total - sum(s[1] for s in steps), 0))
    return steps, total


def pack_file_sizes(base: Path, loop: Any, role_source: bytes, templates: Any) -> dict[str, float]:
    from rubrics.packs import Candidate, PackOptions, build_pack

    out = base / "sizes"
    result = build_pack(loop, role_source, Candidate("Size Check", id="size"),
                        PackOptions(out=out), templates)
    sizes: dict[str, float] = {}
    for rel in result.files:
        kind = rel.rsplit(".", 1)[-1]
        sizes[kind] = sizes.get(kind, 0.0) + (result.path / rel).stat().st_size / 1024
    shutil.rmtree(out, ignore_errors=True)
    return sizes


def profile_pack(run_pack: Callable[[], Clock]) -> dict[str, Any]:
    """cProfile one pack; return the callees of _write_pack and the top functions."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run_pack()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]

    def label(func: tuple[str, int, str]) -> str:
        filename, line, name = func
        if filename == "~":
            return name
        path = filename
        for marker in ("site-packages/", "/src/", "/lib/python3."):
            if marker in filename:
                path = filename.split(marker, 1)[1]
                if marker == "/lib/python3.":
                    path = path.split("/", 1)[1]
        return f"{path}:{line}({name})"

    def find(name: str, file_part: str) -> tuple[str, int, str] | None:
        for func in raw:
            if func[2] == name and file_part in func[0]:
                return func  # type: ignore[no-any-return]
        return None

    def callees(parent: tuple[str, int, str] | None, top: int) -> list[tuple[str, float, int]]:
        if parent is None:
            return []
        rows = []
        for func, (_cc, _nc, _tt, _ct, callers) in raw.items():
            if parent in callers:
                _, ncalls, _, cum = callers[parent]
                rows.append((label(func), cum, ncalls))
        rows.sort(key=lambda r: -r[1])
        return rows[:top]

    write_pack = find("_write_pack", "rubrics/packs.py")
    total = raw[write_pack][3] if write_pack else 0.0
    by_self = sorted(((label(f), v[2], v[1]) for f, v in raw.items()), key=lambda r: -r[1])
    return {
        "total": total,
        "write_pack": callees(write_pack, 8),
        "self": by_self[:8],
    }


# --------------------------------------------------------------------------- 2. batch


def task_setup(reps: int) -> list[float]:
    """What `_batch_worker` repeats for every candidate before `build_pack`: open the
    workspace, load and check the role and framework, make a Templates (whose Jinja
    environment then compiles every template again)."""
    from rubrics.packs import pack_templates
    from rubrics.workspace import Workspace

    times = []
    for _ in range(reps):
        t = time.perf_counter()
        ws = Workspace.open(None)
        ws.loop(ROLE)
        templates = pack_templates(ws, None)
        for name in ("submission.yaml.j2", "scorecard.css", "scorecard.js", "scorecard-collect.js",
                     "scorecard-fill.js", "scorecard-bar.js", "scorecard.html.j2",
                     "document.css", "candidate-packet.html.j2", "interview-plan.html.j2"):
            templates.env.get_template(name)
        times.append(time.perf_counter() - t)
    return times


FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Donald", "Radia", "José", "Zoë"]
LAST = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Perlman",
        "Nuñez", "Ødegaard"]


def write_candidates(path: Path, n: int) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "id", "email", "notes"])
        for i in range(n):
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST) + i) % len(LAST)]}"
            writer.writerow([name, f"B-{i + 1:03d}", f"c{i + 1}@example.com",
                             "generated by bench_packs.py"])


def run_child(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def parallel_capacity(workers: int = 2) -> float:
    """Control for the batch: how many cores' worth of CPU a trivial CPU-bound Python
    loop gets right now when run as 1 vs ``workers`` simultaneous processes (2.0 = two
    full cores free; less means other processes on the machine are competing)."""
    py = str(venv_bin() / "python")

    def run(n_procs: int, loops: int) -> float:
        code = f"x = 0\nfor i in range({loops}):\n    x += i * i\n"
        t = time.perf_counter()
        procs = [subprocess.Popen([py, "-c", code]) for _ in range(n_procs)]
        for proc in procs:
            proc.wait()
        return time.perf_counter() - t

    loops = 5_000_000
    loops = int(loops * 1.5 / max(run(1, loops), 0.01))  # about 1.5 s alone
    alone = run(1, loops)
    together = run(workers, loops)
    return workers * alone / together


def batch(n: int, jobs: int, base: Path) -> dict[str, Any]:
    folder = base / f"batch-{n}-j{jobs}"
    folder.mkdir()
    csv_path = folder / "candidates.csv"
    write_candidates(csv_path, n)
    capacity = parallel_capacity()
    log(f"batch: {n} candidates, jobs={jobs} (load {loadavg()}, parallel capacity {capacity:.2f})")
    result = run_child(["batch", str(csv_path), str(folder / "packs"), str(jobs)])
    result["load_after"] = loadavg()
    result["capacity"] = capacity
    shutil.rmtree(folder, ignore_errors=True)
    return result


def child_batch(csv_path: str, out: str, jobs: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from rubrics.packs import PackOptions, build_batch

    done_at: list[float] = []

    def progress(done: int, total: int) -> None:
        if done:
            done_at.append(time.perf_counter())

    t1 = time.perf_counter()
    outcome = build_batch(None, ROLE, Path(csv_path), PackOptions(out=Path(out)), jobs=int(jobs),
                          progress=progress)
    t2 = time.perf_counter()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    gaps = [b - a for a, b in itertools.pairwise(done_at)]
    return {
        "import": t1 - t0,
        "wall": t2 - t1,
        "written": len(outcome.written),
        "failed": len(outcome.failed),
        "workers_cpu": kids.ru_utime + kids.ru_stime,
        "worker_maxrss_kib": kids.ru_maxrss,
        "first_done": done_at[0] - t1 if done_at else 0.0,
        "median_gap": median(gaps) if gaps else 0.0,
    }


# --------------------------------------------------------------------------- 3. start-up


def startup(runs: int) -> list[tuple[str, list[float], int]]:
    py = str(venv_bin() / "python")
    commands = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import typer'", [py, "-c", "import typer"]),
        ("python -m rubrics --help", [py, "-m", "rubrics", "--help"]),
        ("rubrics --help (console script)", [str(venv_bin() / "rubrics"), "--help"]),
    ]
    times: dict[str, list[float]] = {label: [] for label, _ in commands}
    codes: dict[str, int] = {}
    for label, cmd in commands:  # warm the page cache
        codes[label] = subprocess.run(cmd, capture_output=True, check=False).returncode
    for _ in range(runs):  # interleaved, so drifting load hits all alike
        for label, cmd in commands:
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=False)
            times[label].append(time.perf_counter() - t)
    return [(label, times[label], codes[label]) for label, _ in commands]


def import_profile(top: int) -> list[tuple[str, float]]:
    """Biggest cumulative imports of `rubrics --help` (python -X importtime), top level only."""
    proc = subprocess.run([str(venv_bin() / "python"), "-X", "importtime", "-m", "rubrics", "--help"],
                          capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cum, name = line.split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            rows.append((name.strip(), int(cum) / 1e6))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


# --------------------------------------------------------------------------- 4. memory


def child_pack(out: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
    from rubrics.workspace import Workspace

    ws = Workspace.open(None)
    loop, role_path = ws.loop(ROLE)
    t1 = time.perf_counter()
    build_pack(loop, role_path.read_bytes(), Candidate("Ada Lovelace", id="mem"),
               PackOptions(out=Path(out)), pack_templates(ws, None))
    t2 = time.perf_counter()
    return {"setup": t1 - t0, "pack": t2 - t1,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


# --------------------------------------------------------------------------- report


def report(env: list[list[str]], one: dict[str, Any], batches: dict[int, dict[str, Any]],
           n_batch: int, setup: list[float], starts: list[tuple[str, list[float], int]],
           imports: list[tuple[str, float]], mem: dict[str, Any]) -> str:
    out: list[str] = ["## Environment", "", table(["", ""], env), ""]

    pw, fw = median(one["pack_wall"]), median(one["floor_wall"])
    pc, fc = median(one["pack_cpu"]), median(one["floor_cpu"])
    verdict = "meets" if one["overhead_wall"] <= OVERHEAD_TARGET else "MISSES"
    share = median([c / w for c, w in zip(one["pack_cpu"], one["pack_wall"], strict=True)])
    out += [
        f"## 1. One pack (HTML+PDF), warm, median of {one['reps']}", "",
        table(["measure", "wall", "CPU", "runs (wall)"], [
            ["`build_pack` (7 scorecards, packet, plan; HTML+PDF)", fmt_s(pw), fmt_s(pc),
             ", ".join(f"{t:.2f}" for t in one["pack_wall"])],
            ["WeasyPrint floor: same 9 HTML documents, plain `HTML(string=).write_pdf()`",
             fmt_s(fw), fmt_s(fc), ", ".join(f"{t:.2f}" for t in one["floor_wall"])],
            [f"**overhead** (pack − floor) / floor, target < {OVERHEAD_TARGET:.0%}",
             f"**{pct(one['overhead_wall'])}** ({verdict} target)", pct(one["overhead_cpu"]), ""],
            ["first pack in the process (untimed above; templates compiled, fonts loaded)",
             fmt_s(one["first"]), "", ""],
            ["`import weasyprint`", fmt_s(one["import_weasyprint"]), "", ""],
        ]), "",
        f"CPU / wall of the timed packs: {share:.0%} (a single-threaded job on an otherwise idle "
        "machine is close to 100%; lower means other processes took the CPU, so trust the CPU "
        "column more than the wall one).", "",
        "Documents rendered to PDF per pack: " + ", ".join(
            f"{kind} ({chars // 1000}k chars HTML)" for kind, chars in one["documents"])
        + f". PDF bytes out of WeasyPrint: {one['pdf_kib_pack']:.0f} KiB via `html_to_pdf`, "
        f"{one['pdf_kib_floor']:.0f} KiB via the plain call (same documents). Files in the "
        "written pack: " + ", ".join(f"{k} {v:.0f} KiB" for k, v in sorted(one["pack_file_kib"].items()))
        + ".", "",
        f"Where one pack's time goes (one instrumented run, {fmt_s(one['steps_total'])} in all):", "",
        table(["step", "time", "calls", "share"], [
            [label, fmt_s(t), str(calls) if calls else "", f"{t / one['steps_total']:.1%}"]
            for label, t, calls in one["steps"]]), "",
    ]
    prof = one.get("profile")
    if prof:
        out += [f"cProfile of one pack (profiler overhead inflates Python-heavy code; "
                f"`_write_pack` {prof['total']:.2f} s under the profiler). "
                "Callees of `_write_pack`, cumulative:", "",
                table(["function", "cumulative", "calls", "share"],
                      [[f"`{f}`", f"{t:.3f} s", str(n), f"{t / prof['total']:.1%}"]
                       for f, t, n in prof["write_pack"]]), "",
                "Top functions by own time (the whole pack):", "",
                table(["function", "own time", "calls"],
                      [[f"`{f}`", f"{t:.3f} s", str(n)] for f, t, n in prof["self"]]), ""]

    rows = []
    single = pw
    for jobs in sorted(batches, reverse=True):
        b = batches[jobs]
        rows.append([f"`build_batch(jobs={jobs})`", fmt_s(b["wall"]), fmt_s(b["wall"] / n_batch),
                     fmt_s(b["workers_cpu"] / n_batch), fmt_s(b["first_done"]),
                     f"{b['workers_cpu'] / (b['wall'] * jobs):.0%}",
                     f"{b['written']}/{b['failed']}", f"{b['capacity']:.2f}", b["load_after"]])
    rows.append([f"single-core sum: {n_batch} × warm single pack", fmt_s(n_batch * single),
                 fmt_s(single), "", "", "", "", "", ""])
    out += [f"## 2. Batch of {n_batch} candidates (`build_batch`, fresh interpreter each)", "",
            table(["run", "wall", "wall / pack", "worker CPU / pack", "first pack done",
                   "CPU use of the workers", "written/failed", "cores free before", "load after"],
                  rows), "",
            "CPU use of the workers = worker CPU time / (wall × jobs); 100% means every worker "
            "was busy all the time. Cores free before = a control run just before the batch: "
            "a plain CPU-bound Python loop, 1 process vs 2 at once (2.00 = both cores free; "
            "1.00 = the machine gives no parallelism at that moment).", "",
            "Per-task set-up that `_batch_worker` repeats for every candidate (open workspace, "
            "load role and framework, new Templates, compile the templates): median "
            f"{fmt_s(median(setup))} "
            f"({median(setup) / pw:.1%} of a warm pack).", ""]
    if 2 in batches:
        wall2 = batches[2]["wall"]
        lines = [f"- speed-up of jobs=2 over {n_batch} × warm single pack: "
                 f"**{n_batch * single / wall2:.2f}×**"]
        if 1 in batches:
            lines.append(f"- speed-up of jobs=2 over jobs=1: **{batches[1]['wall'] / wall2:.2f}×**")
        best = max(n_batch * single, batches.get(1, {}).get("wall", 0.0)) / wall2
        lines.append(f"- target (uses both cores, speed-up ≥ {SPEEDUP_TARGET}×): "
                     f"{'met' if best >= SPEEDUP_TARGET else 'MISSED'}")
        lines.append(f"- largest worker peak RSS: {batches[2]['worker_maxrss_kib'] / 1024:.0f} MiB; "
                     f"import of rubrics.packs in the parent: {fmt_s(batches[2]['import'])}")
        out += [*lines, ""]

    base = median(next(t for label, t, _ in starts if label == "python -c pass"))
    out += [f"## 3. Start-up (median of {len(starts[0][1])} runs, subprocess)", "",
            table(["command", "median", "over `python -c pass`", "exit"],
                  [[f"`{label}`", fmt_s(median(t)), fmt_s(median(t) - base), str(code)]
                   for label, t, code in starts]), "",
            "Biggest imports of `rubrics --help` (`python -X importtime`, one run, cumulative): "
            + ", ".join(f"`{name}` {fmt_s(t)}" for name, t in imports) + ".", ""]

    out += ["## 4. Peak memory", "",
            table(["process", "peak RSS (ru_maxrss)", "time"], [
                ["one pack in a fresh interpreter (imports + `build_pack`)",
                 f"{mem['maxrss_kib'] / 1024:.0f} MiB",
                 f"{fmt_s(mem['setup'])} imports/load + {fmt_s(mem['pack'])} pack"],
                [f"this process after section 1 ({one['packs_built']} packs, {one['reps']} floors)",
                 f"{one['maxrss_kib_after'] / 1024:.0f} MiB", ""],
            ]), "", f"Load average at end: {loadavg()}"]
    return "\n".join(out)


def wait_idle(limit: float) -> None:
    deadline = time.monotonic() + limit
    while limit > 0 and time.monotonic() < deadline:
        try:
            load = float(Path("/proc/loadavg").read_text().split()[0])
        except (OSError, ValueError):
            return
        if load < 0.5:
            return
        log(f"waiting for an idle machine (load {loadavg()})")
        time.sleep(15)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, *rest = sys.argv[2:]
        result = child_batch(*rest) if mode == "batch" else child_pack(*rest)
        print(json.dumps(result))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 timed pack, 8-candidate batch (jobs=2 only), 3 start-ups")
    parser.add_argument("--batch", type=int, help="candidates in the batch (default 40; quick 8)")
    parser.add_argument("--serial-batch", choices=("yes", "no"),
                        help="also run the batch with jobs=1 (default: yes; quick: no)")
    parser.add_argument("--profile", choices=("auto", "always", "never"),
                        help="cProfile one pack: auto = only if the overhead misses the target "
                        "(default; quick: never)")
    parser.add_argument("--tmp", type=Path, help="folder for temporary packs (default: system temp)")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the 1-minute load average to drop "
                        "below 0.5 (shared machines)")
    args = parser.parse_args()

    reps = 1 if args.quick else 3
    n_batch = args.batch or (8 if args.quick else 40)
    serial = (args.serial_batch or ("no" if args.quick else "yes")) == "yes"
    profile = args.profile or ("never" if args.quick else "auto")
    starts_n = 3 if args.quick else 10

    wait_idle(args.wait_idle)
    env = environment()
    log(f"load average {loadavg()}; {reps} timed pack(s), batch of {n_batch}")
    with tempfile.TemporaryDirectory(prefix="bench-packs-", dir=args.tmp) as tmp:
        base = Path(tmp)
        one = one_pack(reps, base, profile)
        setup = task_setup(3)
        batches = {2: batch(n_batch, 2, base)}
        if serial:
            batches[1] = batch(n_batch, 1, base)
        log("start-up")
        starts = startup(starts_n)
        imports = import_profile(5)
        log("memory: one pack in a fresh interpreter")
        mem = run_child(["pack", str(base / "mem")])
    print(report(env, one, batches, n_batch, setup, starts, imports, mem))


if __name__ == "__main__":
    main()
