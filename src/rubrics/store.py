"""Where a pack's writes go (ADR 15): the folder on disk for the CLI, a database for
``rubrics serve``.

The domain (``submit``, ``decide``) decides *what* to write while it holds the pack; a
:class:`Hold` is how it holds the pack (the folder's writer lock, or the server's
transaction), and the :class:`PackWrite` it hands out is how the writes land: each new
file exclusively, then the log entries, whose landing is the commit point. Both stores
read a pack as a folder: the server reads through a mirror of its database rows
(:mod:`rubrics.server.store`), so every rule is the CLI's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rubrics.errors import Conflict, InvalidInput
from rubrics.fsutil import atomic_write
from rubrics.log import SUBMISSION, LogEntry, append
from rubrics.packdir import Pack, writer_lock
from rubrics.yamlio import read_bytes


class PackWrite(Protocol):
    """One writer's additions to one pack, made while it holds the pack."""

    def put(self, rel: str, data: bytes) -> None:
        """Keep a new file at ``rel`` in the pack's submissions (an existing one is an error)."""

    def append(self, new: list[dict[str, Any]]) -> list[LogEntry]:
        """Chain and log ``new`` entries after those read under the lock: the commit point."""


Writer = Callable[[list[LogEntry]], PackWrite]
"""Given the log entries read while holding the pack, the write that adds to them."""

Hold = Callable[[Pack], AbstractContextManager[Writer]]
"""Hold a pack as its one writer, handing out its :data:`Writer` meanwhile."""


@dataclass
class FolderWrite:
    """A pack folder's writes: files by write-to-temp, fsync and exclusive link; the log
    rewritten atomically, then its head record (ADR 3)."""

    pack: Pack
    entries: list[LogEntry]

    def put(self, rel: str, data: bytes) -> None:
        atomic_write(self.pack.submissions_dir / rel, data, exclusive=True)

    def append(self, new: list[dict[str, Any]]) -> list[LogEntry]:
        return append(self.pack.submissions_dir, self.entries, new)


@contextmanager
def folder_hold(pack: Pack) -> Iterator[Writer]:
    """Hold a pack folder: its writer lock (checking it was not replaced meanwhile); each
    write first moves an interrupted submit's unlogged folders aside."""
    def writer(entries: list[LogEntry]) -> PackWrite:
        remove_orphans(pack, entries)  # an interrupted submit's folder would share our number
        return FolderWrite(pack, entries)

    with locked(pack):
        yield writer


@contextmanager
def locked(pack: Pack) -> Iterator[None]:
    """Hold the pack's writer lock, and make sure the pack is still the one opened (a
    ``pack --force`` may have replaced it while this waited for the lock, under the same
    pack id: so the whole manifest is compared, its time and file hashes too)."""
    with writer_lock(pack.path):
        try:
            now = json.loads(read_bytes(pack.path / "manifest.json").decode("utf-8"))
        except (OSError, ValueError, InvalidInput):
            now = None
        if not isinstance(now, dict) or now != pack.manifest:
            raise Conflict(f"{pack.path}: the pack was replaced while this waited for it "
                           "(pack --force); nothing was stored: run the command again")
        yield


def remove_orphans(pack: Pack, entries: list[LogEntry]) -> None:
    """Folders an interrupted submit wrote but never logged were never accepted: move them
    out of the way (into submissions/.interrupted/), never delete them."""
    logged = {e.folder for e in entries if e.kind == SUBMISSION}
    for child in pack.submissions_dir.iterdir():
        if child.is_dir() and child.name not in logged and not child.name.startswith("."):
            aside = pack.submissions_dir / ".interrupted"
            aside.mkdir(exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            child.rename(aside / f"{child.name}.{stamp}")
        elif child.is_file() and child.name.startswith(".") and child.name.endswith(".tmp"):
            child.unlink(missing_ok=True)
