"""The database store of ADR 15: packs kept as rows, read by the CLI's own code.

A pack is its files (``pack_files``, byte for byte), its manifest and its hash-chained
log (``log_entries``, each entry the JSON text it was hashed from). To read or add to a
pack the server brings a private *mirror* folder up to date with the rows and runs the
domain code (``inspect``, ``submit``, ``decide``, ``recommend``) on it, exactly as the CLI
does on a pack folder; writes go to the database through :class:`SqlWrite`, inside one
transaction that holds the pack's row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite). COMMIT is the commit point: a process killed before it leaves no
trace of the write, after it the whole write. The mirror is a cache: it can be removed at
any time, and is made again from the rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.orm import Session

from rubrics.errors import Conflict, IntegrityError, InvalidInput, NotFound, Problem, RubricsError
from rubrics.fsutil import fsync_dir, fsync_file, sha256_bytes
from rubrics.log import GENESIS, LOG, SUBMISSION, LogEntry, chain, head_record, log_line
from rubrics.packdir import Pack
from rubrics.server.db import AuditEventRow, LogEntryRow, PackFileRow, PackRow, reader
from rubrics.store import Hold, PackWrite, Writer

LOG_REL = f"submissions/{LOG}"
HEAD_REL = "submissions/head.json"


@dataclass
class SqlWrite:
    """One transaction's additions to a pack: files as ``pack_files`` rows, entries as
    ``log_entries`` rows and the pack's new head."""

    session: Session
    row: PackRow
    entries: list[LogEntry]

    def put(self, rel: str, data: bytes) -> None:
        self.session.add(PackFileRow(pack=self.row.id, path=f"submissions/{rel}", data=data,
                                     sha256=sha256_bytes(data)))
        self.session.flush()  # an existing path fails here, as the folder's exclusive link

    def append(self, new: list[dict[str, Any]]) -> list[LogEntry]:
        added = chain(self.entries, new)
        self.session.add_all(entry_rows(self.row, added))
        self.row.head_entries = len(self.entries) + len(added)
        self.row.head_hash = added[-1].data["hash"] if added else self.row.head_hash
        self.session.flush()  # a second writer that slipped past the lock fails on (pack, seq)
        return added


class SqlStore:
    """Packs in the database at ``engine``, read through mirrors under ``mirrors``."""

    def __init__(self, engine: Engine, mirrors: Path | None = None) -> None:
        self.engine = engine
        self._reader_engine = reader(engine)
        self.mirrors = mirrors or Path(tempfile.mkdtemp(prefix="rubrics-mirrors-"))
        self._synced: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # ------------------------------------------------------------------ reading

    @contextmanager
    def reading(self, pack_id: str) -> Iterator[Pack]:
        """The pack as last committed, as a folder the domain code reads; no write of this
        process changes it meanwhile."""
        with self._lock(pack_id), Session(self._reader_engine) as session:
            row = pack_row(session, pack_id)
            folder = self._sync(session, row)
            session.rollback()  # only read: end the transaction before the work
            yield Pack.open(folder)

    @contextmanager
    def writing(self, pack_id: str, *, audit: list[AuditEventRow] | None = None
                ) -> Iterator[tuple[Pack, Hold]]:
        """The pack held for writing, and the :data:`Hold` that ``submit``/``decide`` take:
        one transaction holding the pack's row, committed when the block ends without an
        exception, rolled back (and the mirror dropped) otherwise. Audit events the block
        puts in ``audit`` are inserted in the same transaction, just before COMMIT (their
        ``pack`` set to this pack when unset): the write and its audit event are kept
        together or not at all."""
        with self._lock(pack_id), Session(self.engine) as session:
            try:
                with session.begin():
                    row = pack_row(session, pack_id, for_update=True)
                    folder = self._sync(session, row)

                    @contextmanager
                    def hold(_pack: Pack) -> Iterator[Writer]:
                        def writer(entries: list[LogEntry]) -> PackWrite:
                            return SqlWrite(session, row, entries)
                        yield writer

                    yield Pack.open(folder), hold
                    for event in audit or ():
                        if event.pack is None:
                            event.pack = row.id
                        session.add(event)
            finally:
                self._synced.pop(pack_id, None)  # our writes are in the rows, not the mirror

    def pack_ids(self) -> list[str]:
        return pack_ids(self.engine)

    # ------------------------------------------------------------------ mirror

    def _lock(self, pack_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(pack_id, threading.Lock())

    def _sync(self, session: Session, row: PackRow) -> Path:
        """Bring the pack's mirror up to the rows read in ``session``: files are only ever
        added, so only the missing ones are fetched; anything else there is removed."""
        folder = self.mirrors / row.folder
        if self._synced.get(row.pack_id) == row.head_hash and folder.is_dir():
            return folder
        materialise(session, row, folder, have=_files_in(folder))
        self._synced[row.pack_id] = row.head_hash
        return folder


def pack_row(session: Session, pack_id: str, *, for_update: bool = False) -> PackRow:
    """The row of pack ``pack_id`` (held for this transaction ``for_update``); NotFound if
    there is none."""
    query = select(PackRow).where(PackRow.pack_id == pack_id)
    row = session.scalars(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(f"no pack '{pack_id}'")
    return row


def entry_rows(row: PackRow, entries: list[LogEntry]) -> list[LogEntryRow]:
    """The ``log_entries`` rows of the pack of ``row`` keeping ``entries`` (each as its log
    line, the text it was hashed from)."""
    return [LogEntryRow(pack=row.id, seq=e.seq, kind=e.kind, data=log_line(e),
                        hash=e.data["hash"]) for e in entries]


def pack_ids(engine: Engine) -> list[str]:
    """Every pack's id, oldest first."""
    with Session(reader(engine)) as session:
        return list(session.scalars(select(PackRow.pack_id).order_by(PackRow.id)))


def _files_in(folder: Path) -> set[str]:
    """Every file under ``folder``, as its path relative to it (none if there is none)."""
    if not folder.is_dir():
        return set()
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def materialise(session: Session, row: PackRow, folder: Path, *,
                have: set[str] | None = None) -> None:
    """Write the pack of ``row`` into ``folder`` as the folder store keeps it: its files,
    the manifest, ``log.jsonl`` and ``head.json``. Paths in ``have`` are already there and
    are not fetched again (pack files never change once stored); others are removed."""
    have = have or set()
    stored = dict(session.execute(select(PackFileRow.path, PackFileRow.id)
                                  .where(PackFileRow.pack == row.id)).all())
    wanted = set(stored) | {"manifest.json"}
    entries = [line for line in session.scalars(
        select(LogEntryRow.data).where(LogEntryRow.pack == row.id).order_by(LogEntryRow.seq))]
    if entries:
        wanted |= {LOG_REL, HEAD_REL}
    for rel in have - wanted - {LOG_REL, HEAD_REL}:
        (folder / rel).unlink()
    missing = [stored[rel] for rel in stored if rel not in have]
    for start in range(0, len(missing), 200):
        for rel, data in session.execute(select(PackFileRow.path, PackFileRow.data).where(
                PackFileRow.id.in_(missing[start:start + 200]))):
            _write(folder, rel, data)
    _write(folder, "manifest.json", row.manifest)
    if entries:
        _write(folder, LOG_REL, "".join(line + "\n" for line in entries).encode("utf-8"))
        _write(folder, HEAD_REL, head_record(row.head_entries, row.head_hash))


def _write(folder: Path, rel: str, data: bytes) -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --------------------------------------------------------------------------- import, export


def import_pack(engine: Engine, folder: Path, *, actor: str | None = None) -> str:
    """Bring a pack folder in, with its submissions and log, after ``inspect`` finds no
    error in it; return its pack id. One transaction: the pack is in whole or not at all.
    A pack id or folder name already in the database is refused. With ``actor``, the
    import is in the audit log (same transaction)."""
    from rubrics.verify import inspect

    pack = Pack.open(folder)
    found = inspect(pack, files=True)
    if found.errors:
        raise IntegrityError(f"{folder}: not imported, it fails verification: {found.errors[0]}")
    entries = found.entries
    files = pack_file_paths(pack, entries)
    manifest = (folder / "manifest.json").read_bytes()
    row = PackRow(pack_id=pack.pack_id, folder=folder.name, role_id=str(pack.loop.role.id),
                  candidate=pack.candidate, manifest=manifest,
                  manifest_sha256=sha256_bytes(manifest),
                  head_entries=len(entries),
                  head_hash=entries[-1].data["hash"] if entries else GENESIS)
    try:
        with Session(engine) as session, session.begin():
            session.add(row)
            session.flush()
            for rel in files:
                data = (folder / rel).read_bytes()
                session.add(PackFileRow(pack=row.id, path=rel, data=data, sha256=sha256_bytes(data)))
            session.add_all(entry_rows(row, entries))
            if actor is not None:
                session.add(AuditEventRow(actor=actor, action="pack.import", pack=row.id,
                                          detail={"folder": str(folder),
                                                  "entries": len(entries)}))
            session.flush()
    except DuplicateRow:
        raise Conflict(f"{folder}: not imported: the database already has pack "
                       f"'{pack.pack_id}' or a pack in a folder named '{folder.name}'") from None
    return pack.pack_id


def pack_file_paths(pack: Pack, entries: list[LogEntry]) -> list[str]:
    """The files a pack consists of: those its manifest lists, its source snapshot, and
    each logged submission's original and normalised copy (not an interrupted submit's
    leftovers, a lock file or the log itself, which is kept as entries)."""
    paths = [str(f["path"]) for f in pack.manifest["files"]]
    paths += sorted(pack.source_files() - set(paths))
    for entry in entries:
        if entry.kind == SUBMISSION:
            paths += [f"submissions/{entry.data['original']['path']}",
                      f"submissions/{entry.data['normalised']['path']}"]
    return list(dict.fromkeys(p for p in paths if p not in ("manifest.json", LOG_REL, HEAD_REL)))


def export_pack(engine: Engine, pack_id: str, out: Path) -> Path:
    """Write the pack as a folder under ``out`` (staged, then renamed into place); an
    existing folder is never replaced."""
    with Session(reader(engine)) as session:
        row = pack_row(session, pack_id)
        target = out / row.folder
        if target.exists():
            raise Conflict(f"{target}: already exists; export into an empty folder")
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{row.folder}.", dir=out))
        try:
            materialise(session, row, staging)
            _fsync_tree(staging)
            os.rename(staging, target)
            fsync_dir(out)  # the rename itself survives a crash
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            fsync_file(path)
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)


@dataclass
class Exported:
    """One pack written by :func:`export_packs`: its folder (None when it was not written)
    and what ``rubrics verify`` finds in it, or why it was not written."""

    pack_id: str
    folder: Path | None
    problems: list[Problem]
    refused: str | None = None
    submissions: int = 0
    decisions: int = 0

    @property
    def ok(self) -> bool:
        return self.refused is None and not any(p.is_error for p in self.problems)


def export_packs(engine: Engine, out: Path, wanted: list[str] | None = None, *,
                 actor: str = "cli") -> list[Exported]:
    """Export the packs named (default: every pack) as folders under ``out`` and verify
    each folder as ``rubrics verify`` does; a pack that cannot be written (its folder
    exists, no such pack) is reported and the others are still exported. Each export is
    in the audit log."""
    from rubrics.log import DECISION
    from rubrics.verify import verify

    done: list[Exported] = []
    for pack_id in wanted if wanted is not None else pack_ids(engine):
        try:
            target = export_pack(engine, pack_id, out)
        except RubricsError as exc:
            done.append(Exported(pack_id, None, [], refused=_first_problem(exc)))
            continue
        problems, entries = verify(target)
        result = Exported(pack_id, target, problems,
                          submissions=sum(1 for e in entries if e.kind == SUBMISSION),
                          decisions=sum(1 for e in entries if e.kind == DECISION))
        with Session(engine) as session, session.begin():
            row = pack_row(session, pack_id)
            session.add(AuditEventRow(actor=actor, action="pack.export", pack=row.id, detail={
                "folder": str(target), "entries": len(entries), "verified": result.ok}))
        done.append(result)
    return done


@dataclass
class Imported:
    """One folder given to :func:`import_packs`: its pack id once imported, or the first
    problem that kept it out (``<folder>: not imported…``)."""

    folder: Path
    pack_id: str | None
    refused: str | None = None


def import_packs(engine: Engine, folders: list[Path], *, actor: str = "cli") -> list[Imported]:
    """Import each pack folder (verified first, one transaction each); one that fails is
    reported with its first problem and the others are still imported."""
    done: list[Imported] = []
    for folder in folders:
        try:
            done.append(Imported(folder, import_pack(engine, folder, actor=actor)))
        except RubricsError as exc:
            said = _first_problem(exc)
            if not said.startswith(f"{folder}: not imported"):
                said = f"{folder}: not imported: {said}"
            done.append(Imported(folder, None, refused=said))
    return done


def _first_problem(exc: RubricsError) -> str:
    if isinstance(exc, InvalidInput) and exc.problems:
        return str(exc.problems[0])
    return str(exc).split("\n", 1)[0]
