"""Workspaces: a folder with frameworks/, roles/ and templates/.

The bundled workspace ships inside the package (``rubrics/_bundled``) for an
installed rubrics; a source checkout uses the repository root, which is one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rubrics.errors import Conflict, InvalidInput, NotFound, Problem, WrongUsage
from rubrics.frameworks import FRAMEWORK_SUFFIXES, load_framework
from rubrics.model import Framework, Role
from rubrics.roles import InterviewLoop, check_role, read_role

ROLE_SUFFIXES = (".yaml", ".yml", ".json")
SUBFOLDERS = ("frameworks", "roles", "templates")


def bundled_root() -> Path:
    """The workspace that ships with rubrics."""
    packaged = Path(str(resources.files("rubrics"))) / "_bundled"
    if (packaged / "roles").is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "roles").is_dir() and (checkout / "frameworks").is_dir():
        return checkout
    raise NotFound("the bundled workspace is missing from this installation of rubrics")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: Path | None) -> Workspace:
        if root is None:
            return cls(bundled_root())
        if not root.is_dir():
            raise NotFound(f"{root}: workspace folder not found")
        if not any((root / sub).is_dir() for sub in ("frameworks", "roles")):
            raise NotFound(f"{root}: not a workspace (no frameworks/ or roles/ folder)")
        return cls(root)

    @property
    def frameworks_dir(self) -> Path:
        return self.root / "frameworks"

    @property
    def roles_dir(self) -> Path:
        return self.root / "roles"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def framework_files(self) -> list[Path]:
        return _files(self.frameworks_dir, FRAMEWORK_SUFFIXES)

    def role_files(self) -> list[Path]:
        return _files(self.roles_dir, ROLE_SUFFIXES)

    def frameworks(self) -> dict[str, tuple[Framework, Path, list[Problem]]]:
        """Every loadable framework by id (invalid ones are skipped; validate reports them)."""
        out: dict[str, tuple[Framework, Path, list[Problem]]] = {}
        for path in self.framework_files():
            try:
                framework, warnings = load_framework(path)
            except InvalidInput:
                continue
            out.setdefault(framework.id, (framework, path, warnings))
        return out

    def framework(self, framework_id: str, track: str | None = None) -> Framework:
        """A framework by id; of one with tracks, ``track`` (else its first track)."""
        for path in self.framework_files():
            if path.stem == framework_id:
                return load_framework(path, track=track)[0]
        found = self.frameworks()
        if framework_id in found:
            framework, path, _ = found[framework_id]
            return framework if track is None else load_framework(path, track=track)[0]
        known = ", ".join(sorted(found)) or "none"
        raise NotFound(f"framework '{framework_id}' not found in {self.frameworks_dir} "
                       f"(known: {known})")

    def other_tracks(self, framework: Framework) -> dict[str, str]:
        """The criteria of the framework's other tracks (id: track), as a role on one track
        that names another's is told."""
        out: dict[str, str] = {}
        for track in framework.tracks or []:
            if track != framework.track:
                other = self.framework(framework.id, track)
                out.update({cid: track for cid in other.criteria()
                            if cid not in framework.criteria()})
        return out

    def framework_on_track(self, framework_id: str, track: str | None) -> Framework:
        """:meth:`framework`, refusing (WrongUsage) a ``track`` the framework does not have."""
        framework = self.framework(framework_id, track)
        if track is not None and not framework.tracks:
            raise WrongUsage(f"--track: framework '{framework.id}' has no tracks")
        if track is not None and track != framework.track:
            raise WrongUsage(f"--track: framework '{framework.id}' has no track '{track}' "
                             f"(known: {', '.join(framework.tracks or [])})")
        return framework

    def role_path(self, role_id: str) -> Path:
        direct = Path(role_id)
        if direct.suffix in ROLE_SUFFIXES and direct.is_file():
            return direct
        for path in self.role_files():
            if path.stem == role_id:
                return path
        for path in self.role_files():
            try:
                role, _ = read_role(path)
            except InvalidInput:
                continue
            if role.id == role_id:
                return path
        known = ", ".join(p.stem for p in self.role_files()) or "none"
        raise NotFound(f"role '{role_id}' not found in {self.roles_dir} (known: {known})")

    def loop(self, role_id: str) -> tuple[InterviewLoop, Path]:
        """Load a role and its framework, refusing a role that does not validate."""
        loop, path, _ = self.loop_with_source(role_id)
        return loop, path

    def loop_with_source(self, role_id: str) -> tuple[InterviewLoop, Path, bytes]:
        """:meth:`loop`, and the role file's bytes it was built from (a pack's snapshot
        must be exactly the role it was made from, even if the file changes meanwhile)."""
        path = self.role_path(role_id)
        role, doc = read_role(path)
        framework = self.framework(role.framework, role.track)
        errors = [p for p in check_role(role, framework, doc,
                                        other_tracks=self.other_tracks(framework)) if p.is_error]
        if errors:
            raise InvalidInput(errors)
        return InterviewLoop.build(role, framework), path, doc.raw

    def roles(self) -> list[tuple[Role, Path]]:
        out = []
        for path in self.role_files():
            try:
                role, _ = read_role(path)
            except InvalidInput:
                continue
            out.append((role, path))
        return out


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _templates_readme(folder: Path, builtin: Path) -> None:
    """An empty templates/ with a note: copies of the built-in templates would pin a new
    workspace to today's, so later fixes to them would never reach it."""
    folder.mkdir()
    names = sorted(p.name for p in builtin.iterdir() if p.is_file()) if builtin.is_dir() else []
    (folder / "README.md").write_text(
        "# Templates\n\nA file here overrides the built-in template of the same name "
        "(the others stay built in, and improve as rubrics does). To change one, copy it from "
        f"{builtin}\nand edit the copy. Built-in templates: {', '.join(names)}.\n\n"
        "scorecard.js (the scorecard file's script) and scorecard-served.js (the scorecard "
        "served by rubrics serve) both include scorecard-collect.js, scorecard-fill.js and "
        "scorecard-bar.js: a copy of one of those changes both.\n",
        encoding="utf-8")


def init_workspace(target: Path) -> list[Path]:
    """Start a new workspace at ``target`` from the bundled one; never overwrite."""
    source = bundled_root()
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"{target}: folder exists and is not empty; choose a new folder")
    staging = target.with_name(f".{target.name}.rubrics-init")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    written = []
    try:
        for sub in ("frameworks", "roles"):
            src = source / sub
            if src.is_dir():
                shutil.copytree(src, staging / sub)
        _templates_readme(staging / "templates", source / "templates")
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                written.append(target / path.relative_to(staging))
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written
