"""Benchmark: interviewers submitting at once to two `rubrics serve` processes on one PostgreSQL,
then a round in which one process is killed with SIGKILL mid-batch (issue 12).

Usage: .venv/bin/python benchmarks/bench_serve.py [--interviewers 200] [--kill-interviewers N]
       [--quick] [--keep DIR]

Starts a throwaway PostgreSQL cluster (tests/pg.py: Debian's postgresql, a unix socket in a
temporary folder, fsync off), runs `rubrics db upgrade`, adds a recruiter with `rubrics users
add` and `rubrics users token`, and starts two `rubrics serve` processes (uvicorn, the same
RUBRICS_SECRET_KEY) on the database. Over HTTP the recruiter makes packs of the bundled role
(HTML kit only) and one interviewer link per stage, spread over both processes.

Round 0: `--sequential` interviewers (default 18) post one after another, alternating
processes: the latency of a submission on servers with nothing else to do.

Round 1: every interviewer posts their scorecard (the JSON the HTML form saves, their link's
token as the bearer token) at the same moment, half to each process; per-request latency,
p50/p95/max and throughput are printed. Every link must be answered 201, and sending every
request once more (to the other process) 200 with the same entry.

Round 2 (faults): as many new interviewers on new packs post at once; once a third of the
requests sent to process A are answered, A is killed with SIGKILL. Each client whose request
failed sends it again to process B. A is started again, and every request is sent once more.

Then, for both rounds: every link's stage has exactly one submission in the log (none lost,
none doubled) and one `submission` audit event, `GET /api/packs/{id}` shows no stage
missing, the servers logged no error, `rubrics serve export DIR` exits 0, and `rubrics
verify` passes on every exported pack.
Exits 1 (after printing the figures) if any check fails. `--quick` is a 12-interviewer run
small enough for the test suite (tests/test_bench_serve.py runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.pg: the throwaway cluster the tests start too

from tests.pg import Cluster  # noqa: E402

from rubrics.samples import html_export, sample_answers  # noqa: E402

ROLE = "senior-backend-money-movement"
RECRUITER = "recruiter@example.com"
TIMEOUT = httpx.Timeout(300.0, connect=30.0)


@dataclass
class Config:
    interviewers: int = 200
    kill_interviewers: int = 200
    sequential: int = 18
    work: Path | None = None


@dataclass
class Server:
    """One `rubrics serve` process."""

    name: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Link:
    """One interviewer: their pack and stage, their link's token and their scorecard."""

    n: int
    link_id: int
    pack_id: str
    stage: str
    email: str
    token: str
    body: bytes


@dataclass
class Outcome:
    link: Link
    status: int = 0
    latency: float = 0.0  # of the request answered (the retry, when the first failed)
    answer: dict[str, Any] = field(default_factory=dict)
    failed_on: str | None = None  # the server whose request failed (the killed one)
    error: str | None = None


@dataclass
class Figures:
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    round0: dict[str, float] = field(default_factory=dict)
    round1: dict[str, float] = field(default_factory=dict)
    round2: dict[str, float] = field(default_factory=dict)

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)


# --------------------------------------------------------------------------- processes


def child_env(secret: str) -> dict[str, str]:
    """The environment of the CLI and server processes: this tree's source first, the
    team's shared key, no workspace or database from the caller's environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RUBRICS_WORKSPACE", "RUBRICS_DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env["RUBRICS_SECRET_KEY"] = secret
    return env


def rubrics(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run the `rubrics` CLI; its standard output (fails loudly on a non-zero exit)."""
    done = subprocess.run([sys.executable, "-m", "rubrics", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rubrics {' '.join(args[:2])} exited {done.returncode}: "
                           f"{done.stderr}{done.stdout}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(server: Server, url: str, env: dict[str, str]) -> None:
    """Start `rubrics serve` (its output appended to its log) and wait for /api/health."""
    with server.log.open("ab") as log:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "rubrics", "serve", "--database-url", url,
             "--port", str(server.port)], env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(server: Server, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.proc is not None
        if server.proc.poll() is not None:
            raise RuntimeError(f"server {server.name} exited {server.proc.returncode}: "
                               + server.log.read_text(errors="replace"))
        try:
            if httpx.get(f"{server.base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server {server.name} not healthy after {timeout:.0f} s: "
                       + server.log.read_text(errors="replace"))


def stop(server: Server) -> None:
    if server.proc is not None and server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


# --------------------------------------------------------------------------- packs and links


def make_links(servers: list[Server], auth: dict[str, str], url: str, count: int,
               first: int, label: str) -> list[Link]:
    """``count`` interviewer links on new packs (one link per stage, packs filled in
    turn), made by the recruiter over HTTP, half the packs on each server."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from rubrics.server import db
    from rubrics.workspace import Workspace

    engine = db.connect(url)
    try:
        stages = len(Workspace.open(None).loop_with_source(ROLE)[0].role.stages)
        packs = math.ceil(count / stages)

        def make(k: int) -> list[Link]:
            with httpx.Client(base_url=servers[k % 2].base, headers=auth,
                              timeout=TIMEOUT) as client:
                made = client.post("/api/packs", json={
                    "role": ROLE, "candidate": f"{label} candidate {k:03d}",
                    "candidate_id": f"{label}-{k:03d}", "formats": ["html"]})
                made.raise_for_status()
                pack_id = made.json()["pack_id"]
                with Session(engine) as session:  # the API has no manifest route
                    manifest = json.loads(session.scalars(select(db.PackRow.manifest).where(
                        db.PackRow.pack_id == pack_id)).one())
                made_on = manifest["created_at"][:10]
                found = []
                for s, stage in enumerate(manifest["stages"]):
                    n = first + k * stages + s
                    if n >= first + count:
                        break
                    name, email = f"Interviewer {n:04d}", f"interviewer.{n:04d}@example.com"
                    link = client.post(f"/api/packs/{pack_id}/interviewers",
                                       json={"stage": stage["id"], "name": name, "email": email})
                    link.raise_for_status()
                    answers = {**sample_answers(stage, n, 7, on=made_on), "interviewer": name,
                               "interviewer_email": email}
                    made_link = link.json()
                    found.append(Link(n, made_link["id"], pack_id, stage["id"], email,
                                      made_link["token"],
                                      html_export(manifest, stage["id"], answers).encode()))
                return found

        with ThreadPoolExecutor(4) as pool:
            return [link for made in pool.map(make, range(packs)) for link in made]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- submitting


async def submit_all(links: list[Link], servers: list[Server], *, first: Callable[[Link], int],
                     kill_after: int | None = None) -> tuple[list[Outcome], float, int]:
    """Post every link's scorecard at once, link ``l`` to ``servers[first(l)]``; a request
    that fails in transport is sent again to the other server. With ``kill_after``, server
    0 is killed with SIGKILL once that many of its requests are answered. Returns the
    outcomes, the wall time and how many requests server 0 had in flight when killed."""
    clients = [httpx.AsyncClient(base_url=s.base, timeout=TIMEOUT,
                                 limits=httpx.Limits(max_connections=None,
                                                     max_keepalive_connections=None))
               for s in servers]
    answered = [0, 0]
    in_flight = [0, 0]
    killed_with = [-1]

    async def post(where: int, link: Link) -> httpx.Response:
        in_flight[where] += 1
        try:
            return await clients[where].post(
                "/api/submissions", content=link.body,
                headers={"Authorization": f"Bearer {link.token}",
                         "Content-Type": "application/json"})
        finally:
            in_flight[where] -= 1

    async def one(link: Link) -> Outcome:
        out = Outcome(link)
        where = first(link)
        started = time.perf_counter()
        try:
            response = await post(where, link)
        except httpx.TransportError as exc:
            out.failed_on, out.error = servers[where].name, type(exc).__name__
            where = 1 - where
            started = time.perf_counter()
            response = await post(where, link)
        out.latency = time.perf_counter() - started
        out.status = response.status_code
        try:
            out.answer = response.json()
        except ValueError:
            out.answer = {"text": response.text[:500]}
        answered[where] += 1
        if kill_after is not None and where == 0 and answered[0] == kill_after:
            proc = servers[0].proc
            assert proc is not None
            killed_with[0] = in_flight[0]
            proc.send_signal(signal.SIGKILL)
        return out

    try:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(link) for link in links))
        wall = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    return list(outcomes), wall, killed_with[0]


async def resend_all(links: list[Link], servers: list[Server],
                     to: Callable[[Link], int]) -> list[Outcome]:
    """Send every link's scorecard once more (concurrently, ``to`` picks the server)."""
    outcomes, _, _ = await submit_all(links, servers, first=to)
    return outcomes


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def latency_figures(outcomes: list[Outcome], wall: float) -> dict[str, float]:
    times = [o.latency for o in outcomes]
    return {"count": len(times), "p50": quantile(times, 0.5), "p95": quantile(times, 0.95),
            "max": max(times), "mean": sum(times) / len(times), "wall": wall,
            "throughput": len(times) / wall}


def check_answers(figures: Figures, what: str, outcomes: list[Outcome],
                  allowed: Callable[[Outcome], set[int]]) -> None:
    for o in outcomes:
        if o.status not in allowed(o):
            figures.problems.append(f"{what}: interviewer {o.link.n} ({o.link.pack_id} "
                                    f"{o.link.stage}) answered {o.status}: {o.answer}")


def check_retries(figures: Figures, what: str, first: list[Outcome],
                  again: list[Outcome]) -> None:
    """Sending a request once more is 200 with the entry the first answer named."""
    for a, b in zip(first, again, strict=True):
        if b.status != 200 or b.answer.get("again") is not True or \
                b.answer.get("submission") != a.answer.get("submission"):
            figures.problems.append(f"{what}: sending interviewer {a.link.n}'s scorecard once "
                                    f"more answered {b.status} {b.answer}, the first "
                                    f"{a.status} {a.answer}")


def check_log(figures: Figures, url: str, links: list[Link]) -> None:
    """Every link's stage has exactly one submission in its pack's log, and the link one
    ``submission`` audit event; nothing else is logged on those packs."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from rubrics.server import db

    engine = db.connect(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(db.PackRow.pack_id, db.LogEntryRow.data).join(
                db.LogEntryRow, db.LogEntryRow.pack == db.PackRow.id)).all()
            events = Counter(detail.get("link") for detail in session.scalars(
                select(db.AuditEventRow.detail).where(db.AuditEventRow.action == "submission")))
    finally:
        engine.dispose()
    logged: Counter[tuple[str, str, str]] = Counter()
    for pack_id, data in rows:
        entry = json.loads(data)
        if entry.get("kind", "submission") == "submission":
            logged[(pack_id, entry["stage"], entry.get("interviewer_email"))] += 1
    wanted = {(link.pack_id, link.stage, link.email) for link in links}
    packs = {link.pack_id for link in links}
    for key in sorted(wanted):
        if logged[key] != 1:
            figures.problems.append(f"{key[0]} {key[1]}: {logged[key]} submissions logged, "
                                    "not exactly 1")
    for link in links:
        if events[link.link_id] != 1:
            figures.problems.append(f"{link.pack_id} {link.stage}: {events[link.link_id]} "
                                    "submission audit events, not exactly 1")
    for key, count in sorted(logged.items()):
        if key[0] in packs and key not in wanted:
            figures.problems.append(f"{key[0]} {key[1]}: {count} unexpected submissions "
                                    f"from {key[2]}")


def check_status(figures: Figures, server: Server, auth: dict[str, str],
                 links: list[Link]) -> None:
    """GET /api/packs/{id} shows every stage with a link returned."""
    stages: dict[str, set[str]] = {}
    for link in links:
        stages.setdefault(link.pack_id, set()).add(link.stage)
    with httpx.Client(base_url=server.base, headers=auth, timeout=TIMEOUT) as client:
        for pack_id, wanted in stages.items():
            answer = client.get(f"/api/packs/{pack_id}")
            missing = wanted & set(answer.json().get("missing", [])) if answer.is_success \
                else wanted
            if answer.status_code != 200 or missing:
                figures.problems.append(f"GET /api/packs/{pack_id}: {answer.status_code}, "
                                        f"missing {sorted(missing)}")


def check_server_logs(figures: Figures, servers: list[Server]) -> None:
    for server in servers:
        text = server.log.read_text(errors="replace")
        errors = [line for line in text.splitlines()
                  if "Traceback" in line or '" 500' in line or "ERROR" in line]
        if errors:
            figures.problems.append(f"server {server.name} logged errors ({server.log}): "
                                    + "; ".join(errors[:5]))


def export_and_verify(figures: Figures, env: dict[str, str], url: str, out: Path) -> int:
    """`rubrics serve export` then `rubrics verify` on each pack folder; the packs verified."""
    try:
        rubrics(env, "serve", "export", str(out), "--database-url", url)
    except RuntimeError as exc:
        figures.problems.append(str(exc)[:2000])
        return 0
    folders = sorted(m.parent for m in out.glob("*/manifest.json"))

    def verify(folder: Path) -> str | None:
        try:
            rubrics(env, "verify", str(folder))
        except RuntimeError as exc:
            return f"{folder}: {exc}"[:2000]
        return None

    with ThreadPoolExecutor(2) as pool:
        failed = [f for f in pool.map(verify, folders) if f is not None]
    figures.problems.extend(failed)
    return len(folders) - len(failed)


# --------------------------------------------------------------------------- the run


def run(config: Config, cluster: Cluster | None = None) -> Figures:
    """The whole benchmark; a cluster given is used (a new database on it), else one is
    started and stopped."""
    figures = Figures()
    work = config.work or Path(tempfile.mkdtemp(prefix="rubrics-bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    own_cluster = cluster is None
    t0 = time.perf_counter()
    cluster = cluster or Cluster.start()
    database = cluster.create_database()
    url = cluster.url(database)
    env = child_env(secrets.token_urlsafe(32))
    servers = [Server(name, free_port(), work / f"server-{name}.log") for name in "AB"]
    try:
        rubrics(env, "db", "upgrade", "--database-url", url)
        rubrics(env, "users", "add", RECRUITER, "--role", "recruiter", "--database-url", url,
                stdin="")
        token = rubrics(env, "users", "token", RECRUITER, "--database-url", url).strip()
        auth = {"Authorization": f"Bearer {token}"}
        for server in servers:
            start(server, url, env)
        for server in servers:
            wait_healthy(server)
        t_ready = time.perf_counter()
        links0 = make_links(servers, auth, url, config.sequential, 100_000, "r0")
        links1 = make_links(servers, auth, url, config.interviewers, 0, "r1")
        links2 = make_links(servers, auth, url, config.kill_interviewers,
                            config.interviewers, "r2")
        t_made = time.perf_counter()
        every = links0 + links1 + links2
        packs = len({link.pack_id for link in every})
        figures.say(f"setup: cluster, migration, two servers {t_ready - t0:.1f} s; "
                    f"{packs} packs and {len(every)} links over HTTP "
                    f"{t_made - t_ready:.1f} s")

        # Round 0: one at a time.
        outcomes0: list[Outcome] = []
        started0 = time.perf_counter()
        for link in links0:
            outcomes0 += asyncio.run(resend_all([link], servers, to=lambda link: link.n % 2))
        check_answers(figures, "round 0", outcomes0, lambda _o: {201})
        figures.round0 = latency_figures(outcomes0, time.perf_counter() - started0)

        # Round 1: everyone at once, half to each process.
        outcomes1, wall1, _ = asyncio.run(submit_all(links1, servers, first=lambda link: link.n % 2))
        check_answers(figures, "round 1", outcomes1, lambda _o: {201})
        again1 = asyncio.run(resend_all(links1, servers, to=lambda link: 1 - link.n % 2))
        check_retries(figures, "round 1", outcomes1, again1)
        figures.round1 = latency_figures(outcomes1, wall1)

        # Round 2: process A is killed with SIGKILL mid-batch.
        on_a = sum(1 for link in links2 if link.n % 2 == 0)
        kill_after = max(1, on_a // 3)
        outcomes2, wall2, in_flight = asyncio.run(submit_all(
            links2, servers, first=lambda link: link.n % 2, kill_after=kill_after))
        assert servers[0].proc is not None
        servers[0].proc.wait(timeout=30)
        # A request that failed may have been committed before the kill: its retry is then
        # 200 with that entry. Any other answer is 201.
        check_answers(figures, "round 2", outcomes2,
                      lambda o: {200, 201} if o.failed_on else {201})
        retried = [o for o in outcomes2 if o.failed_on]
        committed_before = sum(1 for o in retried if o.status == 200)
        start(servers[0], url, env)  # A again, on the same database
        wait_healthy(servers[0])
        again2 = asyncio.run(resend_all(links2, servers, to=lambda link: link.n % 2))
        check_retries(figures, "round 2", outcomes2, again2)
        figures.round2 = {**latency_figures(outcomes2, wall2), "killed_after": kill_after,
                          "in_flight": in_flight, "retried": len(retried),
                          "committed_before_kill": committed_before}
        if not retried:
            figures.problems.append("round 2: no request failed when server A was killed "
                                    "(killed too late to test anything)")

        check_log(figures, url, every)
        check_status(figures, servers[1], auth, every)
        for server in servers:
            stop(server)
        check_server_logs(figures, servers)
        t_checked = time.perf_counter()
        verified = export_and_verify(figures, env, url, work / "export")
        t_exported = time.perf_counter()
        figures.round2["verified"] = verified
        report(figures, config, packs, verified, t_exported - t_checked)
    finally:
        for server in servers:
            stop(server)
        try:
            cluster.drop_database(database)
        finally:
            if own_cluster:
                cluster.stop()
            if config.work is None:
                shutil.rmtree(work, ignore_errors=True)
    return figures


def report(figures: Figures, config: Config, packs: int, verified: int, export_s: float) -> None:
    r0, r1, r2 = figures.round0, figures.round1, figures.round2
    say = figures.say
    say()
    say("| measure (2 server processes, one PostgreSQL) | result |")
    say("| --- | --- |")
    say(f"| one submission at a time ({int(r0['count'])}, alternating processes): latency "
        f"p50 / max | {r0['p50'] * 1000:.0f} / {r0['max'] * 1000:.0f} ms "
        f"(mean {r0['mean'] * 1000:.0f} ms) |")
    say(f"| {config.interviewers} interviewers at once: accepted (201) | "
        f"{int(r1['count'])}, each logged once |")
    say(f"| at once: latency p50 / p95 / max | {r1['p50'] * 1000:.0f} / {r1['p95'] * 1000:.0f} / "
        f"{r1['max'] * 1000:.0f} ms (mean {r1['mean'] * 1000:.0f} ms) |")
    say(f"| at once: wall time, throughput | {r1['wall']:.1f} s, {r1['throughput']:.1f} submissions/s |")
    say()
    say(f"| SIGKILL round ({config.kill_interviewers} interviewers at once) | result |")
    say("| --- | --- |")
    say(f"| process A killed after | {int(r2['killed_after'])} of its answers, "
        f"{int(r2['in_flight'])} requests in flight on it |")
    say(f"| requests failed, sent again to B | {int(r2['retried'])} "
        f"({int(r2['committed_before_kill'])} had been committed before the kill: "
        "answered 200 with that entry) |")
    say(f"| latency p50 / p95 / max (retries: their second request) | "
        f"{r2['p50'] * 1000:.0f} / {r2['p95'] * 1000:.0f} / {r2['max'] * 1000:.0f} ms |")
    say(f"| wall time | {r2['wall']:.1f} s |")
    say()
    say(f"`rubrics serve export` + `rubrics verify`: {verified} of {packs} packs verified "
        f"({export_s:.1f} s).")
    if figures.problems:
        say()
        say(f"FAILED: {len(figures.problems)} problems")
        for p in figures.problems[:50]:
            say(f"- {p}")
    else:
        say("Every submission of both rounds is logged exactly once, with one audit event; "
            "no 500, no error in the servers' logs.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviewers", type=int, default=200)
    parser.add_argument("--kill-interviewers", type=int,
                        help="interviewers of the SIGKILL round (default: --interviewers)")
    parser.add_argument("--sequential", type=int, default=18,
                        help="interviewers submitting one after another first")
    parser.add_argument("--quick", action="store_true",
                        help="12 interviewers a round, 6 one after another")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    count = 12 if args.quick else args.interviewers
    config = Config(count, args.kill_interviewers or count, 6 if args.quick else args.sequential,
                    args.keep)
    load = os.getloadavg()[0]
    print(f"load average at the start: {load:.2f} ({os.cpu_count()} cores)", flush=True)
    figures = run(config)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
    sys.exit(1 if figures.problems else 0)


if __name__ == "__main__":
    main()
