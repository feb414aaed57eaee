"""Where a pack's writes go (ADR 15): the folder on disk today, a database for ``rubrics serve``.

The domain (``submit``, ``decide``) decides *what* to write, under the pack's writer lock
or transaction; a :class:`PackWrite` is *how* it lands: each new file exclusively, then
the log entries, whose landing is the commit point. So far only the writing half is
behind this interface; reading (``verify.inspect``, ``read_record``) still goes to the
folder (see docs/serve-progress.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rubrics.fsutil import atomic_write
from rubrics.log import LogEntry, append
from rubrics.packdir import Pack


class PackWrite(Protocol):
    """One writer's additions to one pack, made while it holds the pack."""

    def put(self, rel: str, data: bytes) -> None:
        """Keep a new file at ``rel`` in the pack's submissions (an existing one is an error)."""

    def append(self, new: list[dict[str, Any]]) -> list[LogEntry]:
        """Chain and log ``new`` entries after those read under the lock: the commit point."""


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
