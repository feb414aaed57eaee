"""``rubrics validate``: check frameworks, roles and submissions, reporting every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rubrics.errors import InvalidInput, NotFound, Problem, display_path, problem
from rubrics.frameworks import FRAMEWORK_SUFFIXES, is_progression_format, load_framework
from rubrics.ftformat import is_ft_job_family
from rubrics.model import Role
from rubrics.roles import check_role
from rubrics.validation import validate_model
from rubrics.workspace import ROLE_SUFFIXES, Workspace
from rubrics.yamlio import read_document


def validate_paths(paths: list[Path], workspace: Workspace) -> list[Problem]:
    """Every problem found in ``paths`` (default: the whole workspace), in file order."""
    files: list[Path] = []
    problems: list[Problem] = []
    if not paths:
        files = workspace.framework_files() + workspace.role_files()
    for path in paths:
        if path.is_dir() and (path / "manifest.json").is_file():
            problems.append(problem(path, "is a candidate pack: check it with "
                                    f"`rubrics verify {path}`"))
            continue
        if path.is_dir():
            inside = _files_in(path)
            if not inside:
                problems.append(problem(path, "no framework, role or submission files in folder"))
            files.extend(inside)
        else:
            files.append(path)
    for path in files:
        found = validate_file(path, workspace)
        problems.extend(sorted(found, key=lambda p: (p.line or 0, p.column or 0)))
    problems.extend(duplicate_framework_ids(files))
    shown: dict[str, Problem] = {}  # a role reports its broken framework's problems too
    for p in problems:
        shown.setdefault(str(p), p)
    return list(shown.values())


def duplicate_framework_ids(files: list[Path]) -> list[Problem]:
    """A problem for each framework file in a frameworks/ folder that defines an id an
    earlier file of that folder already defines: a role would get one or the other."""
    first: dict[tuple[Path, str], Path] = {}
    problems: list[Problem] = []
    for path in files:
        if path.parent.name != "frameworks" or path.suffix.lower() not in FRAMEWORK_SUFFIXES:
            continue
        try:
            framework_id = load_framework(path)[0].id
        except InvalidInput:
            continue  # reported with the file itself
        earlier = first.setdefault((path.parent.resolve(), framework_id), path)
        if earlier != path:
            problems.append(problem(path, f"defines the framework '{framework_id}', which "
                                    f"{display_path(earlier)} already defines: give each "
                                    "framework its own id (or remove one file)"))
    return problems


def _files_in(folder: Path) -> list[Path]:
    suffixes = set(FRAMEWORK_SUFFIXES) | set(ROLE_SUFFIXES)
    subs = [folder / s for s in ("frameworks", "roles")]
    roots = [s for s in subs if s.is_dir()] or [folder]
    return sorted(
        p for root in roots for p in root.iterdir() if p.is_file() and p.suffix.lower() in suffixes
    )


def kind_of(path: Path, data: Any) -> str:
    """'framework', 'role' or 'submission', from the folder first, then the content."""
    parent = path.parent.name
    if parent == "frameworks" or path.suffix.lower() in (".md", ".markdown"):
        return "framework"
    if parent == "roles":
        return "role"
    if isinstance(data, dict):
        if "stages" in data and "framework" in data:
            return "role"
        if "topics" in data and ("levels" in data or is_progression_format(data)):
            return "framework"
        if is_ft_job_family(data):
            return "framework"
        if "ratings" in data or "pack_id" in data:
            return "submission"
    return "unknown"


def validate_file(path: Path, workspace: Workspace) -> list[Problem]:
    if path.suffix.lower() == ".pdf":
        from rubrics.submissions import validate_submission_file

        return validate_submission_file(path)  # (a device, pipe or folder is one line too)
    try:
        doc = read_document(path)
    except InvalidInput as exc:
        return exc.problems
    kind = kind_of(path, doc.data)
    try:
        if kind == "framework":
            _, warnings = load_framework(path)
            return warnings
        if kind == "role":  # from the document read above: a big role is parsed once
            if not isinstance(doc.data, dict):
                return [doc.problem((), "a role file must be a mapping of keys to values")]
            role = validate_model(Role, doc)
            ws = _workspace_of(path, workspace)
            try:
                framework = ws.framework(role.framework, role.track)
            except NotFound as exc:
                return [*doc.warnings, doc.problem(("framework",), f"framework: {exc}")]
            return [*doc.warnings, *check_role(role, framework, doc,
                                               other_tracks=ws.other_tracks(framework))]
        if kind == "submission":
            from rubrics.submissions import validate_submission_file

            return validate_submission_file(path)
    except InvalidInput as exc:
        return exc.problems
    return [problem(path, "not a framework, role or submission file (cannot tell which it is)")]


def _workspace_of(path: Path, default: Workspace) -> Workspace:
    parent = path.resolve().parent
    if parent.name == "roles" and (parent.parent / "frameworks").is_dir():
        return Workspace(parent.parent)
    return default
