"""The database store of rubrics serve on SQLite and PostgreSQL: migrations, submissions
through the service, export and import, concurrent writers and killed ones (issue 12,
ADR 15)."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.packs import Candidate
from rubrics.samples import html_export, sample_answers
from rubrics.server import db, service, store
from rubrics.server.service import Team
from rubrics.verify import load_record
from rubrics.workspace import Workspace
from tests.conftest import ROLE_ID, make_pack
from tests.pg import Cluster


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    found = db.connect(database_url)
    yield found
    found.dispose()


def test_the_models_and_the_migrations_agree_on_each_database(engine: Engine) -> None:
    """After the migrations, autogenerate finds no difference from the models on SQLite and PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
    db.require_current(engine)


# --------------------------------------------------------------------------- helpers


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"RUBRICS_WORKSPACE": None,
                                                    "RUBRICS_DATABASE_URL": None})


@pytest.fixture
def team(engine: Engine, tmp_path: Path) -> Team:
    """The service on the database, with the bundled workspace."""
    return Team.open(engine, Workspace.open(None), tmp_path / "mirrors")


def scorecards(manifest: dict[str, Any]) -> list[bytes]:
    """One filled scorecard per stage, as the HTML form saves it."""
    made_on = manifest["created_at"][:10]
    return [html_export(manifest, stage["id"], sample_answers(stage, n, 7, on=made_on)
                        ).encode("utf-8")
            for n, stage in enumerate(manifest["stages"])]


def manifest_of(team: Team, pack_id: str) -> dict[str, Any]:
    with team.store.reading(pack_id) as pack:
        return dict(pack.manifest)


def exported(url: str, out: Path, pack_id: str) -> Path:
    """Export one pack with `rubrics serve export` and check `rubrics verify` accepts it."""
    result = invoke("serve", "export", str(out), "--pack", pack_id, "--database-url", url)
    assert result.exit_code == 0, result.output
    (folder,) = [m.parent for m in out.glob("*/manifest.json")
                 if json.loads(m.read_bytes())["pack_id"] == pack_id]
    verified = invoke("verify", str(folder))
    assert verified.exit_code == 0, verified.output
    return folder


# --------------------------------------------------------------------------- the journey


def test_a_pack_submitted_through_the_service_exports_as_the_folder_cli_would_keep_it(
        database_url: str, team: Team, tmp_path: Path) -> None:
    """A pack made by `rubrics pack`, imported, submitted stage by stage through the service and exported verifies, and its aggregate equals the service's report and that of the same scorecards submitted to a plain folder."""
    folder = make_pack(tmp_path / "made", "Ada Lovelace", "html")
    plain = tmp_path / "plain" / folder.name
    shutil.copytree(folder, plain)
    result = invoke("serve", "import", str(folder), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_bytes())
    pack_id = manifest["pack_id"]
    assert result.stdout == f"imported {pack_id} from {folder}\n"

    cards = scorecards(manifest)
    for n, raw in enumerate(cards, 1):
        done = service.submit_scorecard(team, pack_id, raw)
        assert (done.again, done.entry.seq) == (False, n)
    assert service.status(team, pack_id)["missing"] == []

    out = tmp_path / "export"
    result = invoke("serve", "export", str(out), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"exported {pack_id} to {out / folder.name} (verified: "
                             f"{len(cards)} submissions)\n")
    back = out / folder.name
    verified = invoke("verify", str(back))
    assert (verified.exit_code, verified.stdout) == (
        0, f"ok: pack files and {len(cards)} logged submissions verified\n")

    files = []
    for n, raw in enumerate(cards):
        files.append(tmp_path / "returns" / f"{n}.json")
        files[-1].parent.mkdir(exist_ok=True)
        files[-1].write_bytes(raw)
    submitted = invoke("submit", str(plain), *map(str, files))
    assert submitted.exit_code == 0, submitted.output

    report = invoke("aggregate", str(back), "--format", "json")
    assert report.exit_code == 0, report.output
    assert report.stdout.encode("utf-8") == service.report(team, pack_id, "json")
    assert report.stdout == invoke("aggregate", str(plain), "--format", "json").stdout


# --------------------------------------------------------------------------- import, export


def test_import_refuses_a_damaged_pack_and_a_pack_already_there_and_imports_the_rest(
        database_url: str, team: Team, tmp_path: Path) -> None:
    """`serve import` reports a pack with one byte changed and a pack id already in the database, each with its first problem, imports the other pack and exits 1."""
    first = make_pack(tmp_path / "a", "Ada Lovelace", "html")
    damaged = make_pack(tmp_path / "b", "Grace Hopper", "html")
    fine = make_pack(tmp_path / "c", "Alan Turing", "html")
    assert invoke("serve", "import", str(first), "--database-url", database_url).exit_code == 0
    target = damaged / json.loads((damaged / "manifest.json").read_bytes())["files"][0]["path"]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))

    result = invoke("serve", "import", str(damaged), str(first), str(fine),
                    "--database-url", database_url)
    assert result.exit_code == 1
    first_id = json.loads((first / "manifest.json").read_bytes())["pack_id"]
    fine_id = json.loads((fine / "manifest.json").read_bytes())["pack_id"]
    assert result.stderr == (
        f"error: {damaged}: not imported, it fails verification: {target}: altered: does not "
        "match the SHA-256 in manifest.json\n"
        f"error: {first}: not imported: the database already has pack '{first_id}' or a pack "
        f"in a folder named '{first.name}'\n")
    assert result.stdout == f"imported {fine_id} from {fine}\n"
    assert store.pack_ids(team.engine) == [first_id, fine_id]


def test_export_never_writes_over_an_existing_folder(database_url: str, team: Team,
                                                     tmp_path: Path) -> None:
    """A second `serve export` into the same folder refuses the pack whose folder exists, leaves it as it was and exits 1; an unknown --pack is refused too."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    out = tmp_path / "out"
    folder = exported(database_url, out, pack_id)
    (folder / "mine.txt").write_text("kept", encoding="utf-8")
    again = invoke("serve", "export", str(out), "--database-url", database_url,
                   "--pack", pack_id, "--pack", "nope")
    assert again.exit_code == 1
    assert again.stderr == (f"error: {pack_id}: not exported: {folder}: already exists; export "
                            "into an empty folder\n"
                            "error: nope: not exported: no pack 'nope'\n")
    assert (folder / "mine.txt").read_text(encoding="utf-8") == "kept"
    assert sorted(p.name for p in out.iterdir()) == [folder.name]


def test_serve_options_before_the_subcommand_are_the_subcommands(database_url: str,
                                                               tmp_path: Path) -> None:
    """`rubrics serve --database-url URL export DIR` uses that database (here holding no pack) and starts no server."""
    result = invoke("serve", "--database-url", database_url, "export", str(tmp_path / "out"))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "no packs to export\n", "")


def test_export_is_in_the_audit_log(database_url: str, team: Team, tmp_path: Path) -> None:
    """Each exported pack leaves a pack.export audit event naming the folder."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    folder = exported(database_url, tmp_path / "out", pack_id)
    with Session(team.engine) as session:
        events = [(e.actor, e.action, e.detail) for e in session.scalars(
            select(db.AuditEventRow).order_by(db.AuditEventRow.id))]
    assert events[-1] == ("cli", "pack.export", {"folder": str(folder), "entries": 1,
                                                 "verified": True})


# --------------------------------------------------------------------------- concurrency


def submitted_once(team: Team, pack_id: str, cards: list[bytes]) -> None:
    """Each card is in the log exactly once, in the pack's submissions and nowhere else."""
    with team.store.reading(pack_id) as pack:
        record = load_record(pack)
    digests = [e.data["original"]["sha256"] for e in record.entries if e.kind == "submission"]
    assert sorted(digests) == sorted(hashlib.sha256(c).hexdigest() for c in cards)
    assert [e.seq for e in record.entries] == list(range(len(record.entries)))


def test_threads_submitting_different_stages_at_once_are_each_logged_once(
        database_url: str, team: Team, engine: Engine, tmp_path: Path) -> None:
    """Threads, each with its own store, submitting every stage of one pack at the same moment: each scorecard is logged once and the exported chain verifies."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    cards = scorecards(manifest_of(team, pack_id))
    start = threading.Barrier(len(cards))

    def submit(n: int) -> service.Submitted:
        own = Team.open(engine, team.workspace, tmp_path / f"mirrors-{n}")
        start.wait(timeout=30)
        return service.submit_scorecard(own, pack_id, cards[n])

    with ThreadPoolExecutor(len(cards)) as pool:
        done = list(pool.map(submit, range(len(cards))))
    assert sorted(d.entry.seq for d in done) == list(range(1, len(cards) + 1))
    assert not any(d.again for d in done)
    submitted_once(team, pack_id, cards)
    assert service.status(team, pack_id)["missing"] == []
    exported(database_url, tmp_path / "out", pack_id)


def test_the_same_scorecard_sent_twice_at_once_is_logged_once(
        database_url: str, team: Team, engine: Engine, tmp_path: Path) -> None:
    """Two threads sending the same bytes at the same moment: one is accepted, the other answered with that acceptance."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    card = scorecards(manifest_of(team, pack_id))[0]
    start = threading.Barrier(2)

    def submit(n: int) -> service.Submitted:
        own = Team.open(engine, team.workspace, tmp_path / f"mirrors-{n}")
        start.wait(timeout=30)
        return service.submit_scorecard(own, pack_id, card)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(submit, range(2))
    assert sorted([first.again, second.again]) == [False, True]
    assert first.entry.seq == second.entry.seq == 1
    submitted_once(team, pack_id, [card])
    exported(database_url, tmp_path / "out", pack_id)


# Submits the scorecard files given, in order, once the go file appears; prints each
# result. Imports are warmed first so that the processes reach the pack together.
SUBMITTER = """
import sys, time
from pathlib import Path
from rubrics.server import db, service
from rubrics.workspace import Workspace
url, mirrors, pack_id, go, *cards = sys.argv[1:]
engine = db.connect(url)
team = service.Team.open(engine, Workspace.open(None), Path(mirrors))
print("ready", flush=True)
deadline = time.monotonic() + 60
while not Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.001)
for card in cards:
    done = service.submit_scorecard(team, pack_id, Path(card).read_bytes())
    print(done.entry.seq, done.again, flush=True)
engine.dispose()
"""


def test_two_processes_submitting_one_pack_lose_nothing_and_log_nothing_twice(
        database_url: str, team: Team, tmp_path: Path) -> None:
    """Two OS processes submit the stages of one pack at once, both starting with the same scorecard: each is logged exactly once and the export verifies."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    cards = scorecards(manifest_of(team, pack_id))
    files = []
    for n, raw in enumerate(cards):
        files.append(tmp_path / f"card-{n}.json")
        files[-1].write_bytes(raw)
    go = tmp_path / "go"
    halves = [[files[0], *files[1::2]], [files[0], *files[2::2]]]
    procs = [subprocess.Popen([sys.executable, "-c", SUBMITTER, database_url,
                               str(tmp_path / f"mirrors-{n}"), pack_id, str(go), *map(str, half)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n, half in enumerate(halves)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], outputs
    said = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert sorted(again for _, again in said) == ["False"] * len(cards) + ["True"]
    assert sorted({int(seq) for seq, _ in said}) == list(range(1, len(cards) + 1))
    submitted_once(team, pack_id, cards)
    exported(database_url, tmp_path / "out", pack_id)


# --------------------------------------------------------------------------- SIGKILL


# Submits one scorecard and stops to be killed: with "flushed", inside the transaction
# once the entry and files are written to the database (SqlWrite.append has flushed) but
# before COMMIT; with "committed", just after COMMIT.
KILLED = """
import sys, time
from contextlib import contextmanager
from pathlib import Path
from rubrics.server import db, service, store
from rubrics.workspace import Workspace
url, mirrors, pack_id, card, when = sys.argv[1:]

def stop_here(where):
    print(where, flush=True)
    time.sleep(120)

if when == "flushed":
    append = store.SqlWrite.append
    def appended(self, new):
        added = append(self, new)
        stop_here("flushed")
        return added
    store.SqlWrite.append = appended
else:
    writing = store.SqlStore.writing
    @contextmanager
    def held(self, *args, **kwargs):
        with writing(self, *args, **kwargs) as pack_and_hold:
            yield pack_and_hold
        stop_here("committed")  # the block ended without an exception: COMMIT is done
    store.SqlStore.writing = held
engine = db.connect(url)
team = service.Team.open(engine, Workspace.open(None), Path(mirrors))
service.submit_scorecard(team, pack_id, Path(card).read_bytes(), actor="link:7")
"""


@pytest.mark.parametrize("when", ["flushed", "committed"])
def test_a_submitter_killed_mid_submission_leaves_none_or_a_whole_one(
        database_url: str, team: Team, tmp_path: Path, when: str) -> None:
    """A process killed with SIGKILL before COMMIT leaves no row of its submission nor its audit event, one killed after COMMIT the whole submission and its audit event; either way the pack exports and verifies and takes the scorecard (again) after."""
    pack_id = service.create_pack(team, ROLE_ID, Candidate("Ada Lovelace"), formats=("html",))
    card = scorecards(manifest_of(team, pack_id))[0]
    (tmp_path / "card.json").write_bytes(card)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, database_url, str(tmp_path / "m"),
                             pack_id, str(tmp_path / "card.json"), when],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"{when}\n", proc.communicate(timeout=60)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    with Session(team.engine) as session:
        row = session.scalars(select(db.PackRow).where(db.PackRow.pack_id == pack_id)).one()
        entries = session.scalars(select(db.LogEntryRow.kind).where(
            db.LogEntryRow.pack == row.id).order_by(db.LogEntryRow.seq)).all()
        kept = session.scalars(select(db.PackFileRow.path).where(
            db.PackFileRow.pack == row.id, db.PackFileRow.path.like("submissions/%"))).all()
        head = row.head_entries
        events = [(e.actor, e.action, e.detail) for e in session.scalars(
            select(db.AuditEventRow).where(db.AuditEventRow.action == "submission"))]
    if when == "flushed":
        assert (entries[1:], kept, head, events) == ([], [], 1, [])
    else:
        assert (entries[1:], len(kept), head) == (["submission"], 2, 2)
        stage = json.loads(card)["stage"]
        assert events == [("link:7", "submission", {"seq": 1, "stage": stage, "amend": False})]
    folder = exported(database_url, tmp_path / "out", pack_id)
    logged = 0 if when == "flushed" else 1
    verified = invoke("verify", str(folder))
    assert verified.stdout == f"ok: pack files and {logged} logged submission{'s' * (1 - logged)} verified\n"
    again = service.submit_scorecard(team, pack_id, card)
    assert (again.again, again.entry.seq) == (when == "committed", 1)
    submitted_once(team, pack_id, [card])


def test_db_upgrade_migrates_a_new_postgresql_database(pg_cluster: Cluster) -> None:
    """`rubrics db upgrade --database-url postgresql+psycopg://…` makes the tables of an empty PostgreSQL database once."""
    name = pg_cluster.create_database()
    url = pg_cluster.url(name)
    try:
        first = invoke("db", "upgrade", "--database-url", url)
        assert (first.exit_code, first.stdout) == (
            0, f"database {db.shown(url)} migrated from nothing to {db.head_revision()}\n")
        again = invoke("db", "upgrade", "--database-url", url)
        assert (again.exit_code, again.stdout) == (
            0, f"database {db.shown(url)} is up to date (migration {db.head_revision()})\n")
    finally:
        pg_cluster.drop_database(name)
