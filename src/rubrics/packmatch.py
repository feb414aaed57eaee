"""Which pack in ``--out`` is a candidate's: the identity rules of ADR 13.

A row with an id is the candidate of the pack with that id (case folded) when the names or
the emails agree as ``identity.py`` folds them (case, accents, spacing, word order). A row
without an id is matched by name only: a shared email (an agency's mailbox) never makes two
names one person, and the same name with another email than the pack records cannot be
told apart from a namesake, so that row fails instead of taking the pack.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rubrics.errors import Conflict, shorten
from rubrics.identity import email_key, name_key
from rubrics.ids import derived_candidate_id

if TYPE_CHECKING:
    from rubrics.packs import Candidate

Verdict = Literal["same", "unsure", "other"]
ANONYMOUS_ID = re.compile(r"c-[0-9a-f]{8}")
"""The id an anonymous candidate given none is given (and names their folder)."""


def id_key(cid: object) -> str:
    """A candidate id with case folded (``GRACE`` and ``grace`` are one id)."""
    return email_key(str(cid)) or ""


def compare(recorded: dict[str, Any], candidate: Candidate) -> Verdict:
    """Whether a pack's manifest records this candidate (``same``), someone else
    (``other``), or someone it cannot tell from them (``unsure``: one name with two
    emails, or one id with another name and another email)."""
    names_agree = name_key(str(recorded.get("name"))) == name_key(candidate.name)
    mine, theirs = email_key(candidate.email), email_key(_str(recorded.get("email")))
    if candidate.id is not None:
        if id_key(recorded.get("id")) != id_key(candidate.id):
            return "other"
        if names_agree or (mine and mine == theirs):
            return "same"
        return "unsure" if mine and theirs else "other"
    if not names_agree:
        return "other"
    return "unsure" if mine and theirs and mine != theirs else "same"


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def unsure_message(target: Path, recorded: dict[str, Any], candidate: Candidate) -> str:
    """Why a row cannot be given the pack in ``target``, and how to go on."""
    email = f" <{shorten(str(recorded.get('email')), 80)}>" if recorded.get("email") else ""
    cid = f" (id '{shorten(str(recorded.get('id')))}')" if candidate.id else ""
    differs = "another name and email" if candidate.id else "another email"
    return (f"{target}: holds the pack of '{shorten(str(recorded.get('name')))}'{email}{cid}, "
            f"and this row gives {differs} ({candidate.email}): it cannot tell whether they "
            "are one person. If they are, give the email the pack records; if not, give this "
            "candidate an id of their own, or use another --out")


def other_message(target: Path, recorded: dict[str, Any]) -> str:
    cid = f" (id '{shorten(recorded['id'])}')" if isinstance(recorded.get("id"), str) else ""
    return (f"{target}: holds the pack of another candidate, "
            f"'{shorten(str(recorded.get('name')))}'{cid}; give this candidate an id of "
            "their own")


@dataclass
class OutFolder:
    """What ``--out`` holds, listed once: its folder names, and the leftovers of runs that
    were killed (``.<folder>.<token>.partial`` or ``.replaced``) by the folder they were for."""

    path: Path
    names: set[str] = field(default_factory=set)
    leftovers: dict[str, list[Path]] = field(default_factory=dict)
    _pools: dict[bool, dict[str, list[tuple[str, dict[str, Any]]]]] = field(
        default_factory=dict)

    @classmethod
    def read(cls, out: Path) -> OutFolder:
        found = cls(out)
        try:
            entries = list(os.scandir(out))
        except OSError:  # no --out yet
            return found
        for entry in entries:
            name = entry.name
            parts = name[1:].rsplit(".", 2)
            if name.startswith(".") and len(parts) == 3 and parts[2] in ("partial", "replaced"):
                found.leftovers.setdefault(parts[0], []).append(Path(entry.path))
            elif not name.startswith("."):
                found.names.add(name)
        return found

    def pool(self, anonymous: bool, manifest: Callable[[Path], dict[str, Any] | None]
             ) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """The packs made without an id (anonymous or not), by the name key of the name
        they record: read once, on first need."""
        if anonymous not in self._pools:
            pool: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for name in sorted(self.names):
                recorded = _recorded(manifest(self.path / name))
                if recorded is not None and _made_without_id(name, recorded, anonymous):
                    pool.setdefault(name_key(recorded["name"]), []).append((name, recorded))
            self._pools[anonymous] = pool
        return self._pools[anonymous]

    def new_anonymous_id(self, taken: AbstractSet[str]) -> str:
        while True:
            cid = "c-" + secrets.token_hex(4)
            if cid not in self.names and cid not in taken:
                return cid


def _recorded(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    recorded = manifest.get("candidate") if manifest else None
    if (isinstance(recorded, dict) and isinstance(recorded.get("id"), str)
            and isinstance(recorded.get("name"), str) and manifest is not None
            and isinstance(manifest.get("pack_id"), str)):
        return {**recorded, "pack_id": manifest["pack_id"]}
    return None


def _made_without_id(folder: str, recorded: dict[str, Any], anonymous: bool) -> bool:
    """Whether a pack was made for a candidate given no id: anonymous, in the folder of
    the random id it was given; else, with the id made from its pack id."""
    if recorded.get("anonymous") is not anonymous:
        return False
    if anonymous:
        return recorded["id"] == folder and ANONYMOUS_ID.fullmatch(folder) is not None
    return bool(recorded["id"] == derived_candidate_id(recorded["pack_id"]))


def find_without_id(candidate: Candidate, out: OutFolder, anonymous: bool,
                    manifest: Callable[[Path], dict[str, Any] | None]) -> str | None:
    """The folder of the pack made without an id whose candidate this row's (given no id)
    is; None when there is none. Conflict when the packs of that name cannot tell which
    (another email than the one recorded, or several packs that fit)."""
    fits = [(folder, recorded, compare(recorded, candidate))
            for folder, recorded in out.pool(anonymous, manifest).get(name_key(candidate.name), [])]
    same = [(f, r) for f, r, verdict in fits if verdict == "same"]
    mine = email_key(candidate.email)
    best = [(f, r) for f, r in same if mine and email_key(_str(r.get("email"))) == mine] or same
    if len(best) == 1:
        return best[0][0]
    if len(best) > 1:
        folders = ", ".join(f"{f}/" for f, _ in best)
        raise Conflict(f"{out.path}: the packs {folders} were all made for "
                       f"'{shorten(candidate.name)}' without an id; give this row the id of "
                       "the one that is theirs (the folder's name)")
    unsure = [(f, r) for f, r, verdict in fits if verdict == "unsure"]
    if unsure:
        raise Conflict(unsure_message(out.path / unsure[0][0], unsure[0][1], candidate))
    return None


def with_id(candidate: Candidate, cid: str) -> Candidate:
    return dataclasses.replace(candidate, id=cid)
