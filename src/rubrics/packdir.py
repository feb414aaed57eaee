"""A candidate pack on disk, opened for submissions, verification and aggregation."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrics.errors import Conflict, IntegrityError, InvalidInput, NotFound, problem
from rubrics.frameworks import load_framework
from rubrics.fsutil import sha256_file
from rubrics.roles import InterviewLoop, check_role, read_role
from rubrics.yamlio import read_bytes

PACK_FORMAT = "rubrics-pack/1"
LOG_PATH = "submissions/log.jsonl"


@dataclass
class Pack:
    """A candidate pack folder: its manifest and the interview loop it was made from."""

    path: Path
    manifest: dict[str, Any]
    loop: InterviewLoop
    hashes: dict[str, str] = field(default_factory=dict)
    """SHA-256 of the snapshot files, taken when the pack was opened."""
    _plain_folders: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def open(cls, path: Path) -> Pack:
        manifest_path = path / "manifest.json"
        if path.exists() and not path.is_dir():
            raise NotFound(f"{path}: not a pack folder (it is a file)")
        if not path.is_dir():
            raise NotFound(f"{path}: pack folder not found")
        if not manifest_path.exists() and not manifest_path.is_symlink():
            raise NotFound(f"{path}: not a pack (no manifest.json)")
        if manifest_path.is_symlink() or not manifest_path.is_file():
            raise IntegrityError(f"{manifest_path}: is a link or not a file: a pack is closed")
        try:
            manifest = json.loads(read_bytes(manifest_path).decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput([problem(manifest_path, f"manifest is not valid JSON: {exc}")]) from None
        except RecursionError:
            raise InvalidInput([problem(manifest_path, "manifest is not valid JSON: nested too "
                                        "deeply")]) from None
        if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
            raise InvalidInput([problem(manifest_path, "not a rubrics pack manifest "
                                        f"(format is not {PACK_FORMAT})")])
        if not manifest_well_formed(manifest):
            raise InvalidInput([problem(manifest_path, "manifest is damaged: it lacks the role, "
                                        "framework, pack id, candidate or file list of a "
                                        "rubrics pack, or one has the wrong type")])
        role_rel, framework_rel = manifest["role"]["file"], manifest["framework"]["file"]
        role_file, framework_file = inside(path, role_rel), inside(path, framework_rel)
        if role_file is None or framework_file is None:
            raise IntegrityError(f"{manifest_path}: the role or framework snapshot it names "
                                 "leaves the pack (a link, an absolute path or ..)")
        loop, role_hash, framework_hash = _load_loop(role_file, framework_file)
        return cls(path, manifest, loop, {role_rel: role_hash, framework_rel: framework_hash})

    def inside(self, rel: str) -> Path | None:
        """The path ``rel`` names inside the pack, or None when it would leave the pack
        (folders found to be no link are not checked again for this opening of the pack)."""
        return inside(self.path, rel, self._plain_folders)

    @property
    def pack_id(self) -> str:
        return str(self.manifest["pack_id"])

    @property
    def anchored(self) -> bool:
        """Whether the pack was made with its log (a genesis entry): packs made before
        that have no log until the first submission."""
        return self.manifest.get("log") == LOG_PATH

    @property
    def submissions_dir(self) -> Path:
        return self.path / "submissions"

    @property
    def candidate(self) -> dict[str, Any]:
        found = self.manifest.get("candidate", {})
        return dict(found) if isinstance(found, dict) else {}

    def source_files(self) -> set[str]:
        """The role and framework snapshot that submissions are checked and aggregated against."""
        return {str(self.manifest["role"]["file"]), str(self.manifest["framework"]["file"])}

    def stage_fields(self) -> dict[str, dict[str, list[str]]]:
        return {s.id: {"criteria": list(s.assesses), "red_flags": list(s.red_flags)}
                for s in self.loop.role.stages}


def inside(root: Path, rel: str, plain_folders: set[str] | None = None) -> Path | None:
    """The path ``rel`` names inside ``root``, or None when it would leave it: an absolute
    path, a ``..``, or a symbolic link anywhere on the way (a pack is closed). Folders in
    ``plain_folders`` are known to be no link; those found so are added to it."""
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        return None
    known = plain_folders if plain_folders is not None else set()
    path = str(root)
    for n, part in enumerate(parts):  # os.path on strings: a pack's files go by the thousand
        path = os.path.join(path, part)
        folder = n < len(parts) - 1
        if folder and path in known:
            continue
        if os.path.islink(path):
            return None
        if folder:
            known.add(path)
    return root.joinpath(*parts)


def manifest_well_formed(manifest: dict[str, Any]) -> bool:
    """Has the fields, of the types, that every reader of a manifest relies on."""
    def texts(item: Any, *keys: str) -> bool:
        return isinstance(item, dict) and all(isinstance(item.get(k), str) for k in keys)

    candidate = manifest.get("candidate", {})
    return (isinstance(manifest.get("pack_id"), str)
            and texts(manifest.get("role"), "file") and texts(manifest.get("framework"), "file")
            and isinstance(manifest.get("files"), list)
            and all(texts(f, "path", "sha256") for f in manifest["files"])
            and isinstance(candidate, dict)
            and all(v is None or isinstance(v, str | bool) for v in candidate.values()))


_LOOPS: dict[tuple[str, str], InterviewLoop] = {}


def _load_loop(role_file: Path, framework_file: Path) -> tuple[InterviewLoop, str, str]:
    """The loop of a pack's snapshot (cached by content: a thousand packs share one role),
    and the SHA-256 of the two files."""
    for f in (role_file, framework_file):
        if not f.is_file():
            raise IntegrityError(f"{f}: missing from the pack (it snapshots its role and "
                                 "framework)")
    key = (sha256_file(role_file), sha256_file(framework_file))
    if key not in _LOOPS:
        role, doc = read_role(role_file)
        framework, _ = load_framework(framework_file)
        errors = [p for p in check_role(role, framework, doc) if p.is_error]
        if errors:
            raise InvalidInput(errors)
        if len(_LOOPS) >= 64:
            _LOOPS.pop(next(iter(_LOOPS)))
        _LOOPS[key] = InterviewLoop.build(role, framework)
    return _LOOPS[key], key[0], key[1]


LOCK_TIMEOUT = 60.0


@contextmanager
def writer_lock(pack_path: Path) -> Iterator[None]:
    """Hold a pack folder's writer lock: one submit, decision or ``pack --force`` at a time."""
    from filelock import FileLock, Timeout

    folder = pack_path / "submissions"
    if folder.is_symlink():
        raise IntegrityError(f"{folder}: is a link: a pack's submissions stay inside it")
    folder.mkdir(exist_ok=True)
    try:
        with FileLock(str(folder / ".lock"), timeout=LOCK_TIMEOUT):
            yield
    except Timeout:
        raise Conflict(f"{pack_path}: another submit, decision or pack --force has held the "
                       f"pack lock for over {LOCK_TIMEOUT:.0f} s") from None
