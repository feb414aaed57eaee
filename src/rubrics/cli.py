"""The command line: a thin layer over library calls.

This is the only module that prints errors and picks exit codes, and the only
one that imports typer. Library modules are imported inside commands so that
``rubrics --help`` and ``rubrics --version`` answer fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from rubrics import __version__, terminal

if TYPE_CHECKING:
    from rubrics.errors import Problem
    from rubrics.packs import PackResult
    from rubrics.workspace import Workspace

app = typer.Typer(
    name="rubrics",
    help="Structured interview loops from an engineering progression framework: "
    "validate frameworks and roles, generate candidate packs, collect scores and "
    "recommend a level.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
frameworks_app = typer.Typer(help="List, show, export and import frameworks.",
                             no_args_is_help=True)
roles_app = typer.Typer(help="List and show roles and their interview loops.",
                        no_args_is_help=True)
app.add_typer(frameworks_app, name="frameworks")
app.add_typer(roles_app, name="roles")
db_app = typer.Typer(help="The database of rubrics serve.", no_args_is_help=True)
users_app = typer.Typer(help="Recruiters and panel members who sign in to rubrics serve.",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (frameworks/, roles/, templates/). Default: the one given "
        "before the command or in RUBRICS_WORKSPACE, else the bundled one.",
        file_okay=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TrackOpt = Annotated[str | None, typer.Option(
    "--track", help="Of a framework with tracks, the one to show (default: its first).")]
TemplatesOpt = Annotated[Path | None, typer.Option(
    "--templates", help="Folder of templates that override the built-in ones by name.",
    file_okay=False)]
ReportOutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Write to this file (default: standard output; required for pdf).",
    dir_okay=False)]
JobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", min=1,
                                             help="Worker processes for many packs.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rubrics {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", envvar="RUBRICS_WORKSPACE",
                     help="Workspace folder for every command that reads one (a command's "
                     "own --workspace wins). Default: the bundled one."),
    ] = None,
) -> None:
    """Structured interview loops from an engineering progression framework."""
    _given["workspace"] = workspace
    source = ctx.get_parameter_source("workspace")  # RUBRICS_WORKSPACE set for good is fine
    if ctx.invoked_subcommand == "init" and getattr(source, "name", "") == "COMMANDLINE":
        fail("init makes a new workspace from the bundled one and reads none: give only "
             "the new folder (rubrics init DIR)", 2)


_given: dict[str, Path | None] = {"workspace": None}
"""What was given before the subcommand (``rubrics --workspace WS validate``, as with
``git -C``), set afresh by each run; checked only when a command uses it."""


def _workspace_path(own: Path | None) -> Path | None:
    """The workspace a command uses: its own ``--workspace``, else the one given before the
    subcommand or in ``RUBRICS_WORKSPACE``, else none (the bundled one)."""
    if own is not None:
        return own
    given = _given["workspace"]
    if given is not None and given.exists() and not given.is_dir():
        fail(f"--workspace (or RUBRICS_WORKSPACE): '{given}' is a file, not a workspace "
             "folder", 2)
    return given


def _err(message: str) -> None:
    """One line to standard error, safe for a terminal (see ``_out``)."""
    typer.echo(terminal.line(message), err=True)


def _out(message: str) -> None:
    """One line to standard output. Every line we print passes through here or ``_err``:
    names, titles, keys and file names come from files, and a terminal escape or direction
    override in them is shown as a visible escape (``\\x1b``), never obeyed."""
    typer.echo(terminal.line(message))


def fail(message: str, code: int = 1) -> NoReturn:
    _err(f"error: {message}")
    raise typer.Exit(code)


MAX_SHOWN = 200


@contextmanager
def handled(after_problems: str = "") -> Iterator[None]:
    """Turn our errors into one line per problem and exit 1; never a traceback."""
    from rubrics.errors import InvalidInput, RubricsError

    try:
        yield
    except InvalidInput as exc:
        for p in exc.problems[:MAX_SHOWN]:
            _err(str(p))
        if len(exc.problems) > MAX_SHOWN:
            _err(f"... and {len(exc.problems) - MAX_SHOWN} more")
        n = len([p for p in exc.problems if p.is_error])
        _err(f"{n} problem{'s' if n != 1 else ''} found{after_problems}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        raise typer.Exit(1) from None
    except RubricsError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:  # disk full, permissions, ...: one line, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        fail(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        _err("interrupted")
        raise typer.Exit(130) from None


def _workspace(path: Path | None) -> Workspace:
    from rubrics.workspace import Workspace

    return Workspace.open(_workspace_path(path))


def _print_json(data: Any) -> None:
    typer.echo(terminal.json_dumps(data, indent=2, ensure_ascii=False, default=str))


def _console() -> Any:
    return terminal.console(highlight=False, soft_wrap=False)


def _cell(text: str) -> str:
    """A name, id or title as rich markup for one line of a table or heading."""
    from rich.markup import escape

    return escape(terminal.line(text))


# --------------------------------------------------------------------------- validate


@app.command(short_help="Check frameworks, roles and submissions.")
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Framework, role or submission files, or folders. "
                       "Default: the whole workspace."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Check frameworks, roles and submissions; print every problem as path:line:col."""
    from rubrics.errors import Severity
    from rubrics.validate import validate_paths

    with handled():
        ws = _workspace(workspace)
        problems: list[Problem] = validate_paths(list(paths or []), ws)
    errors = [p for p in problems if p.is_error or strict]
    for p in problems:
        if strict and p.severity is Severity.WARNING:
            _err(str(p).replace(": warning: ", ": ", 1))
        else:
            _err(str(p))
    if errors:
        _err(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found")
        raise typer.Exit(1)
    warnings = len(problems)
    suffix = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
    _out(f"ok: no problems found{suffix}")


# --------------------------------------------------------------------------- schema


@app.command(short_help="Print the JSON Schema of a file format.")
def schema(
    kind: Annotated[str, typer.Argument(help="framework, role or submission")],
) -> None:
    """Print the JSON Schema of a file format (for editor validation)."""
    from rubrics.schema import SCHEMA_KINDS, schema_json

    if kind not in SCHEMA_KINDS:
        fail(f"unknown schema '{kind}' (choose from {', '.join(SCHEMA_KINDS)})", 2)
    sys.stdout.write(schema_json(kind))


# --------------------------------------------------------------------------- frameworks


@frameworks_app.command("list")
def frameworks_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the frameworks of the workspace."""
    with handled():
        ws = _workspace(workspace)
        found = ws.frameworks()
    rows: list[dict[str, Any]] = [
        {
            "id": fw.id,
            "title": fw.title,
            "levels": len(fw.levels),
            "sub_levels": fw.sub_levels,
            "topics": [t.id for t in fw.topics],
            "criteria": sum(len(t.criteria) for t in fw.topics),
            "tracks": fw.tracks or [],
            "path": str(path),
        }
        for fw, path, _ in found.values()
    ]
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title=_cell(f"Frameworks in {ws.frameworks_dir}"))
    table.add_column("id", no_wrap=True)
    tracked = any(r["tracks"] for r in rows)
    for col in ("title", "levels", "topics", "criteria") + (("tracks",) if tracked else ()):
        table.add_column(col)
    for r in rows:
        table.add_row(_cell(r["id"]), _cell(r["title"]), str(r["levels"]),
                      _cell(", ".join(r["topics"])), str(r["criteria"]),
                      *([_cell(", ".join(r["tracks"]))] if tracked else []))
    _console().print(table)


@frameworks_app.command("show")
def frameworks_show(
    framework_id: Annotated[str, typer.Argument(metavar="ID", help="Framework id.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
    track: TrackOpt = None,
) -> None:
    """Show a framework level by level: per topic, what is new since the level below."""
    from rubrics.coverage import level_changes, print_level_changes

    with handled():
        fw = _workspace(workspace).framework_on_track(framework_id, track)
    if as_json:
        _print_json({**fw.model_dump(mode="json"), "level_changes": level_changes(fw)})
        return
    console = _console()
    subs = f", sub-levels {fw.sub_levels[0]}–{fw.sub_levels[-1]}" if fw.sub_levels else ""
    console.print(f"[bold]{_cell(fw.title)}[/bold]  ({_cell(fw.id)}: "
                  f"{_count(len(fw.levels), 'level', 'levels')}{_cell(subs)})")
    if fw.tracks:
        console.print(_cell(f"track {fw.track} (tracks: {', '.join(fw.tracks)}; choose with "
                            "--track)"))
        console.print(_cell("levels: " + " · ".join(f"{lv.number} {lv.name or ''}".strip()
                                                     for lv in fw.levels)))
    print_level_changes(console, fw)


@frameworks_app.command("export", short_help="Print a framework in the native YAML format.")
def frameworks_export(
    framework_id: Annotated[str, typer.Argument(metavar="ID", help="Framework id.")],
    workspace: WorkspaceOpt = None,
    track: TrackOpt = None,
) -> None:
    """Print a framework in rubrics' native YAML format (explicit criterion ids)."""
    from rubrics.frameworks import framework_to_yaml

    with handled():
        fw = _workspace(workspace).framework_on_track(framework_id, track)
    sys.stdout.write(terminal.lines(framework_to_yaml(fw)))  # (controls come escaped)


@frameworks_app.command("import", short_help="Import a framework from a spreadsheet matrix.")
def frameworks_import(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv or .xlsx: one row per "
                                         "behaviour, columns topic, level, criterion.")],
    framework_id: Annotated[str, typer.Option("--id", help="Id of the new framework.")],
    title: Annotated[str, typer.Option("--title", help="Title of the new framework.")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="Worksheet of an .xlsx "
                                              "(default: the first).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace frameworks/ID.*.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write frameworks/ID.yaml from a spreadsheet with topic, level and criterion columns."""
    from rubrics.errors import display_path
    from rubrics.spreadsheet import (
        SUFFIXES,
        check_names,
        import_notes,
        read_spreadsheet,
        write_framework,
    )

    if file.suffix.lower() not in SUFFIXES:
        fail(f"{file}: give a .csv or .xlsx file (save an .xls or .ods as .xlsx)", 2)
    if sheet is not None and file.suffix.lower() != ".xlsx":
        fail("--sheet is for .xlsx workbooks; a CSV has one sheet", 2)
    workspace = _workspace_path(workspace)  # before or after the subcommand, or the env
    if workspace is None:
        fail("give --workspace DIR (or set RUBRICS_WORKSPACE): the workspace to import "
             "into; `rubrics init DIR` starts one", 2)
    try:
        check_names(framework_id, title)
    except ValueError as exc:
        fail(str(exc), 2)
    with handled(", nothing written"):
        ws = _workspace(workspace)
        imported = read_spreadsheet(file, framework_id, title, sheet=sheet)
        written = write_framework(ws.frameworks_dir, imported.framework, force=force,
                                  source=file, data=imported.data)
    for warning in imported.warnings:
        _err(str(warning))
    with handled():
        notes = import_notes(ws, framework_id)
    fw = imported.framework
    counts = _count(len(fw.topics), "topic", "topics"), _count(len(fw.levels), "level", "levels")
    criteria = _count(sum(len(t.criteria) for t in fw.topics), "criterion", "criteria")
    _out(f"wrote {display_path(written.path)}: {', '.join(counts)}, {criteria}")
    for path in written.replaced:
        _out(f"replaced {display_path(path)}")
    for note in notes:
        _err(str(note))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --------------------------------------------------------------------------- roles


@roles_app.command("list")
def roles_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List the roles of the workspace."""
    with handled():
        ws = _workspace(workspace)
        found = ws.roles()
    rows: list[dict[str, Any]] = [
        {
            "id": role.id,
            "title": role.title,
            "framework": role.framework,
            "target_level": role.target_level,
            "band": [role.band.min, role.band.max],
            "stages": [s.id for s in role.stages],
            "path": str(path),
        }
        for role, path in found
    ]
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title=_cell(f"Roles in {ws.roles_dir}"), title_justify="left", box=None,
                  header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("title", ratio=1, overflow="fold")
    for col in ("framework", "target", "band", "stages"):
        table.add_column(col, no_wrap=True)
    for r in rows:
        table.add_row(_cell(r["id"]), _cell(r["title"]), _cell(r["framework"]),
                      str(r["target_level"]), f"{r['band'][0]}–{r['band'][1]}",
                      str(len(r["stages"])))
    _console().print(table)


@roles_app.command("show")
def roles_show(
    role_id: Annotated[str, typer.Argument(metavar="ID", help="Role id or role file.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a role, its interview loop and the coverage matrix."""
    from rubrics.coverage import coverage_summary

    with handled():
        loop, path = _workspace(workspace).loop(role_id)
    summary = coverage_summary(loop)
    if as_json:
        _print_json({"role": loop.role.model_dump(mode="json"), "path": str(path),
                     "coverage": summary})
        return
    from rubrics.coverage import print_role

    print_role(_console(), loop, summary)


# --------------------------------------------------------------------------- pack


@app.command(short_help="Make candidate packs: scorecards, packet, plan.")
def pack(
    role_id: Annotated[str, typer.Argument(metavar="ROLE", help="Role id or role file.")],
    candidate: Annotated[str | None, typer.Option("--candidate", help="Candidate's name.")] = None,
    candidate_id: Annotated[str | None, typer.Option("--candidate-id",
                                                     help="Candidate id (names the pack folder).")] = None,
    candidates: Annotated[Path | None, typer.Option(
        "--candidates", help="CSV with name, id and optional email, notes: one pack per row.",
        dir_okay=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the packs.",
                                      file_okay=False)] = Path("packs"),
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf.")] = "html,pdf",
    anonymous: Annotated[bool, typer.Option(
        "--anonymous", help="Scorecards show only the candidate id, never the name.")] = False,
    templates: TemplatesOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Remake existing packs (the same pack id for the same candidate and "
        "role version); never one with submissions.")] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1,
                                             help="Parallel workers for --candidates.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Generate a candidate pack: scorecards, candidate packet and interview plan."""
    from rubrics.packs import FORMATS, Candidate, PackOptions, build_pack, pack_templates

    fmt = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    if unknown := [f for f in fmt if f not in FORMATS] or ([] if fmt else [formats]):
        fail(f"--format: unknown format '{unknown[0]}' (choose from {', '.join(FORMATS)})", 2)
    options = PackOptions(out=out, formats=fmt, anonymous=anonymous, templates=templates,
                          force=force)
    if candidate is not None and candidates is not None:
        fail("give --candidate NAME or --candidates FILE.csv, not both", 2)
    if candidate is None and candidates is None:
        fail("give --candidate NAME (one pack) or --candidates FILE.csv (one per row)", 2)
    if candidates is not None:
        _pack_batch(workspace, role_id, candidates, options, jobs)
        return
    assert candidate is not None
    with handled():
        try:
            person = Candidate(name=candidate, id=candidate_id)
        except ValueError as exc:
            fail(f"--candidate: {exc}", 2)
        ws = _workspace(workspace)
        loop, _, role_source = ws.loop_with_source(role_id)
        result = build_pack(loop, role_source, person, options,
                            pack_templates(ws, templates))
    if result.status == "kept":
        _out(f"kept pack {result.pack_id} in {result.path}/: {_kept_note(result)}")
    elif result.status == "remade":
        _out(f"remade pack {result.pack_id} in {result.path}/ ({len(result.files)} files), "
             "under the same pack id: scorecards already sent still submit")
    elif result.status == "replaced":
        _out(f"remade pack {result.pack_id} in {result.path}/ ({len(result.files)} files) "
             f"{_new_id_note(result)}")
    else:
        _out(f"wrote pack {result.pack_id} to {result.path}/ ({len(result.files)} files)")


def _kept_note(result: PackResult) -> str:
    """Why a pack was kept as it was, and what --force would do to it (nothing, for a pack
    with submissions)."""
    if result.locked:
        force = ("it holds submitted scorecards or a decision, so --force will not replace "
                 "it either")
    elif not result.changed:
        force = "--force remakes it under the same pack id"
    else:
        force = "--force remakes it with a new pack id (scorecards already sent for it are then refused)"
    if not result.differs:
        return f"unchanged (made for this candidate from this version of the role); {force}"
    return f"{'; '.join(result.differs)}; {force}"


def _new_id_note(result: PackResult) -> str:
    """What a pack remade under a new pack id means for scorecards already sent."""
    old = f" ({result.old_pack_id})" if result.old_pack_id else ""
    return (f"with a new pack id ({result.changed}); scorecards sent for the old one{old} "
            "will be refused")


def _pack_batch(workspace: Path | None, role_id: str, csv_path: Path, options: Any,
                jobs: int | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rubrics.packs import build_batch

    console = _console_err()
    bar = Progress(TextColumn("packs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=True)
    task = bar.add_task("packs", total=None)

    def progress(done: int, total: int) -> None:
        if not console.is_terminal:  # a log file gets the result lines, not a bar's remains
            return
        if not bar.live.is_started:  # only once the CSV has been read and checked
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        with handled():
            outcome = build_batch(_workspace_path(workspace), role_id, csv_path, options,
                                  jobs=jobs,
                                  progress=progress)
    finally:
        if bar.live.is_started:
            bar.stop()
    for warning in outcome.warnings:
        _err(str(warning))
    for result in sorted([*outcome.written, *outcome.kept], key=lambda r: r.path.name):
        _out(_batch_line(result))
    for p in outcome.failed:
        _err(f"{p}")
    unchanged = sum(1 for r in outcome.kept if not r.differs)
    _out(f"{len(outcome.written)} pack{'s' if len(outcome.written) != 1 else ''} written, "
         f"{unchanged} unchanged, {len(outcome.kept) - unchanged} kept with differences, "
         f"{len(outcome.failed)} failed")
    if outcome.failed:
        raise typer.Exit(1)


def _batch_line(result: PackResult) -> str:
    """What became of one row's pack: written, remade, unchanged or kept (and why)."""
    name = result.candidate.name
    if result.status == "kept" and result.differs:
        return f"kept {result.path}/ ({name}): {_kept_note(result)}"
    if result.status == "kept":
        return f"unchanged {result.path}/ ({name})"
    if result.status == "remade":
        return f"remade {result.path}/ ({name}; same pack id)"
    if result.status == "replaced":
        return f"remade {result.path}/ ({name}) {_new_id_note(result)}"
    return f"wrote {result.path}/ ({name})"


def _console_err() -> Any:
    return terminal.console(stderr=True)


# --------------------------------------------------------------------------- submissions


@app.command(short_help="Check returned scorecards and keep them.")
def submit(
    pack_dir: Annotated[Path, typer.Argument(metavar="PACK_DIR", help="The candidate's pack folder.")],
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="Returned scorecards: YAML/JSON, the HTML form's file, filled PDF.")],
    amend: Annotated[bool, typer.Option(
        "--amend", help="Replace an interviewer's earlier submission for a stage (both are kept).")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required with --amend).")] = None,
) -> None:
    """Check returned scorecards and keep them in the pack (all or none)."""
    from rubrics.errors import display_path
    from rubrics.submit import submit as submit_files

    with handled("; nothing was stored (all files or none): fix the files above and "
                 "submit them again"):
        accepted = submit_files(pack_dir, list(files), amend=amend, reason=reason)
    for a in accepted:
        note = f" (amends {a.amends:04d})" if a.amends else ""
        _out(f"accepted {a.seq:04d}: {a.stage} by {a.interviewer}{note}")
        for remark in a.notes:
            _err(f"{display_path(a.folder)}: note: {remark}")


@app.command(short_help="Re-check a pack's files and submission log.")
def verify(
    pack_dir: Annotated[Path, typer.Argument(metavar="PACK_DIR", help="The candidate's pack folder.")],
) -> None:
    """Re-check a pack's files and its submission log; name anything altered or missing."""
    from rubrics.verify import verify as verify_pack

    with handled():
        problems, entries = verify_pack(pack_dir)
    for p in problems:
        _err(str(p))
    errors = [p for p in problems if p.is_error]
    if errors:
        _err(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found")
        raise typer.Exit(1)
    subs = sum(1 for e in entries if e.kind == "submission")
    decisions = sum(1 for e in entries if e.kind == "decision")
    checked = f"{subs} logged submission{'s' if subs != 1 else ''}"
    if decisions:
        checked += f" and {decisions} panel decision{'s' if decisions != 1 else ''}"
    _out(f"ok: pack files and {checked} verified")


@app.command(short_help="Level recommendation, or a pipeline table.")
def aggregate(
    pack_dirs: Annotated[list[Path], typer.Argument(metavar="PACK_DIR...", help="Pack folders.")],
    fmt: Annotated[str, typer.Option(
        "--format", help="text, json, html, pdf, or resolutions (a file of the report's flags "
        "for the debrief to fill in, for rubrics decide --resolutions).")] = "text",
    out: ReportOutOpt = None,
    templates: TemplatesOpt = None,
    jobs: JobsOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Combine submitted scores into a level recommendation; several packs: a pipeline table."""
    from rubrics import panel

    if fmt not in panel.FORMATS:
        fail(f"unknown format '{fmt}' (choose from {', '.join(panel.FORMATS)})", 2)
    if fmt == "pdf" and out is None:
        fail("--format pdf needs --out FILE", 2)
    with handled():
        if out is not None:
            panel.check_out(out)
        data, failures = panel.report(list(pack_dirs), fmt,
                                      lambda: _report_templates(templates, workspace), jobs)
        _emit(data, fmt, out)
    for line in failures:
        _err(f"error: {line} (left out of the table)")
    if failures:
        raise typer.Exit(1)


@app.command(short_help="How interviewers rate and agree, across candidates.")
def calibrate(
    pack_dirs: Annotated[list[Path], typer.Argument(
        metavar="PACK_DIR...", help="Pack folders, or folders of packs.")],
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="Only interviews on or after this date (YYYY-MM-DD).")] = None,
    role: Annotated[str | None, typer.Option(
        "--role", metavar="ID", help="Only packs of this role (needed when packs of several "
        "roles are given).")] = None,
    groups: Annotated[Path | None, typer.Option(
        "--groups", metavar="FILE.csv", help="Candidate id -> group: adds selection rates and "
        "the four-fifths rule (read only, never written into packs).", dir_okay=False)] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json, html or pdf.")] = "text",
    out: ReportOutOpt = None,
    templates: TemplatesOpt = None,
    jobs: JobsOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Calibration across candidates: interviewers, agreement per criterion, stages, drift."""
    import re
    from datetime import date

    from rubrics.calibration import calibrate as run
    from rubrics.calibration import check_out
    from rubrics.calibration.report import FORMATS, report_bytes

    if fmt not in FORMATS:
        fail(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})", 2)
    if fmt == "pdf" and out is None:
        fail("--format pdf needs --out FILE", 2)
    try:
        if since is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
            raise ValueError(since)
        day = date.fromisoformat(since) if since is not None else None
    except ValueError:
        fail(f"--since: '{since}' is not a date (YYYY-MM-DD)", 2)
    with handled():
        if out is not None:
            check_out(out, list(pack_dirs), groups)
        data = run(list(pack_dirs), since=day, role=role, groups=groups, jobs=jobs)
        _emit(report_bytes(data, fmt, lambda: _report_templates(templates, workspace)),
              fmt, out)
    for skipped in data["packs"]["skipped"]:
        _err(f"error: {skipped['path']}: {skipped['reason']} (skipped: not used in the "
             "calibration)")
    for warning in data["warnings"]:
        _err(f"warning: {warning}")
    if data["packs"]["skipped"]:
        raise typer.Exit(1)


def _emit(body: bytes, fmt: str, out: Path | None) -> None:
    """A report to standard output (made safe for a terminal), or atomically to ``out``."""
    from rubrics.fsutil import atomic_write

    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(_for_terminal(body, fmt))
        sys.stdout.buffer.flush()
    else:
        atomic_write(out, body)
        _out(f"wrote {out}")


def _for_terminal(data: bytes, fmt: str) -> bytes:
    """A report on its way to standard output, where a terminal may read it: text (and the
    resolutions file) with controls and direction overrides shown as escapes, JSON with them
    written as the ``\\uXXXX`` escapes that mean the same, so it parses to the same data.
    HTML is for a browser (its templates drop such characters already): it stays as it is."""
    if fmt in ("text", "resolutions"):
        return terminal.lines(data.decode("utf-8")).encode("utf-8")
    if fmt == "json":
        return terminal.json_text(data.decode("utf-8")).encode("utf-8")
    return data


def _report_templates(override: Path | None, workspace: Path | None) -> Any:
    from rubrics import panel

    workspace = _workspace_path(workspace)
    ws_templates = _workspace(workspace).templates_dir if workspace is not None else None
    return panel.default_templates(override, ws_templates)


# --------------------------------------------------------------------------- decide


@app.command(short_help="Record the hiring panel's decision on a pack.")
def decide(
    pack_dir: Annotated[Path, typer.Argument(metavar="PACK_DIR", help="The candidate's pack folder.")],
    decision: Annotated[str, typer.Option("--decision", help="hire or no_hire.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the panel decided so.")],
    by: Annotated[str, typer.Option("--by", help="Who decided (the panel, its chair).")],
    level: Annotated[int | None, typer.Option(
        "--level", help="The level to hire at (default: the recommended level).")] = None,
    resolve: Annotated[list[str] | None, typer.Option(
        "--resolve", metavar="FLAG_ID=TEXT",
        help="How the panel resolved a flag of the report; once per flag.")] = None,
    resolutions: Annotated[Path | None, typer.Option(
        "--resolutions", help="YAML file mapping flag ids to how the panel resolved them.",
        dir_okay=False)] = None,
    force_unresolved: Annotated[str | None, typer.Option(
        "--force-unresolved", metavar="WHY",
        help="Decide although flags are left open, saying why (the record lists them).")] = None,
) -> None:
    """Record what the hiring panel decided, in the pack's log beside the recommendation."""
    from rubrics.debrief import PanelDecision, gather_resolutions
    from rubrics.debrief import decide as record_decision

    with handled("; nothing was recorded"):
        pairs = gather_resolutions(resolve or [], resolutions)
        said = PanelDecision(decision=decision, reason=reason, by=by, level=level,
                             resolutions=tuple(pairs), force_unresolved=force_unresolved)
        recorded = record_decision(pack_dir, said)
    at = f" at level {recorded.level}" if recorded.level is not None else ""
    _out(f"recorded decision {recorded.seq:04d}: {recorded.decision.replace('_', ' ')}{at}")
    if recorded.supersedes is not None:
        _out(f"  supersedes decision {recorded.supersedes:04d} (both stay in the log)")
    if recorded.override:
        _out(f"  override of the recommendation: {recorded.override}")
    for flag_id in recorded.left_open:
        _out(f"  left open: {flag_id}")


# --------------------------------------------------------------------------- serve

DatabaseOpt = Annotated[str | None, typer.Option(
    "--database-url", envvar="RUBRICS_DATABASE_URL",
    help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: the SQLite file "
    "rubrics.sqlite3 in the workspace.")]
SERVE_EXTRA = "rubrics serve needs its extra: pip install 'rubrics[serve]'"


def _server() -> Any:
    """The server's database module, or a one-line refusal when the extra is missing."""
    try:
        from rubrics.server import db
    except ImportError as exc:
        fail(f"{SERVE_EXTRA} ({exc.name} is missing)")
    return db


def _database_url(given: str | None, workspace: Path | None) -> str:
    db = _server()
    with handled():
        url: str = db.database_url(given, _workspace_path(workspace))
    return url


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None, workspace: WorkspaceOpt = None) -> None:
    """Make or migrate the database to this version of rubrics."""
    url = _database_url(database_url, workspace)
    db = _server()
    with handled():
        before, after = db.upgrade(url)
    if before == after:
        _out(f"database {db.shown(url)} is up to date (migration {after})")
    else:
        _out(f"database {db.shown(url)} migrated from {before or 'nothing'} to {after}")


def _engine(database_url: str | None, workspace: Path | None) -> Any:
    """A migrated database's engine (refused, naming the command to run, otherwise)."""
    url = _database_url(database_url, workspace)
    db = _server()
    with handled():
        engine = db.connect(url)
        db.require_current(engine)
    return engine


@db_app.command("setting")
def db_setting(
    key: Annotated[str, typer.Argument(metavar="KEY", help="show_others: may an interviewer "
                                       "who has submitted see the others' scorecards?")],
    value: Annotated[str | None, typer.Argument(
        metavar="[VALUE]", help="never, after_own (the default) or always; none: print it.")
    ] = None,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print or set a team setting of rubrics serve (every server process reads it)."""
    engine = _engine(database_url, workspace)
    from rubrics.server.links import get_setting, set_setting

    with handled():
        if value is not None:
            set_setting(engine, key, value, by="cli")
        _out(f"{key} = {get_setting(engine, key)}")


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    role: Annotated[str, typer.Option("--role", help="recruiter or panel.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input "
        "(else asked for at a terminal; none: API tokens only).")] = False,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a recruiter or panel member who signs in to rubrics serve."""
    engine = _engine(database_url, workspace)
    from rubrics.server.accounts import add_user

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input holds no password", 2)
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with handled("; no user was added"):
        user = add_user(engine, email, role, password)
    how = "" if password else " (no password: signs in with API tokens only)"
    _out(f"added {user.role} {user.email}{how}")


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    revoke_all: Annotated[bool, typer.Option(
        "--revoke-all", help="Revoke every API token of the user instead (a leaked "
        "token); none is made.")] = False,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print a new API token for a user's scripts (only its hash is kept), or revoke them."""
    engine = _engine(database_url, workspace)
    from rubrics.server.accounts import new_token, revoke_tokens

    if revoke_all:
        with handled():
            count = revoke_tokens(engine, email)
        _out(f"revoked {count} API token{'s' if count != 1 else ''} of {email.strip().lower()}")
        return
    with handled():
        token = new_token(engine, email)
    typer.echo(token)
    _err("keep it now: it is not shown again (a new one can be made at any time)")


@users_app.command("disable")
def users_disable(
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Disable a user: no more sign-in, every API token revoked, every session ended."""
    engine = _engine(database_url, workspace)
    from rubrics.server.accounts import disable_user

    with handled():
        count = disable_user(engine, email)
    _out(f"disabled {email.strip().lower()}: {count} API token{'s' if count != 1 else ''} "
         "revoked, its sessions ended")


@users_app.command("list")
def users_list(
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """List the users: email, role, whether disabled, and their usable API tokens."""
    engine = _engine(database_url, workspace)
    from rubrics.server.accounts import list_users

    with handled():
        found = list_users(engine)
    if not found:
        _out("no users (add one with rubrics users add)")
        return
    width = max(len(a.email) for a in found)
    _out(f"{'EMAIL':<{width}}  {'ROLE':<9}  {'DISABLED':<8}  TOKENS")
    for account in found:
        _out(f"{account.email:<{width}}  {account.role:<9}  "
             f"{'yes' if account.disabled else 'no':<8}  {account.tokens}")


serve_app = typer.Typer(help="Run the shared server for a hiring team; export and import "
                        "its packs as folders.", invoke_without_command=True)
app.add_typer(serve_app, name="serve", short_help="Run the shared server for a hiring team.")
_serve_given: dict[str, Any] = {"database_url": None, "workspace": None}
"""``--database-url``/``--workspace`` given to ``serve`` before its subcommand."""


@serve_app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    forwarded_allow_ips: Annotated[str, typer.Option(
        "--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS", metavar="IPS",
        help="Comma-separated addresses of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (never '*' if clients can reach the server "
        "directly).")] = "127.0.0.1",
) -> None:
    """Run rubrics serve: the web application and its API on a migrated database."""
    _serve_given.update(database_url=database_url, workspace=workspace)
    if ctx.invoked_subcommand is not None:
        return
    url = _database_url(database_url, workspace)
    _server()
    from rubrics.server.app import create_app

    with handled():
        application = create_app(url, _workspace_path(workspace))
    import uvicorn

    uvicorn.run(application, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips)


def _serve_engine(database_url: str | None, workspace: Path | None) -> Any:
    """The engine of a serve subcommand: its own options, else those given to serve."""
    return _engine(database_url or _serve_given["database_url"],
                   workspace or _serve_given["workspace"])


@serve_app.command("export")
def serve_export(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to write the pack "
                                              "folders into (made if missing).")],
    pack: Annotated[list[str] | None, typer.Option(
        "--pack", metavar="ID", help="Only this pack (repeat for several). Default: every pack.")
    ] = None,
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write the server's packs as pack folders (never over an existing one) and verify each."""
    engine = _serve_engine(database_url, workspace)
    from rubrics.server.store import export_packs

    try:
        with handled():
            done = export_packs(engine, directory, pack or None)
    finally:
        engine.dispose()
    for item in done:
        if item.refused is not None:
            _err(f"error: {item.pack_id}: not exported: {item.refused}")
            continue
        for p in item.problems:
            _err(str(p))
        errors = sum(1 for p in item.problems if p.is_error)
        if errors:
            _err(f"error: {item.pack_id}: exported to {item.folder}, but verify found "
                 f"{errors} problem{'s' if errors != 1 else ''}")
            continue
        logged = f"{item.submissions} submission{'s' if item.submissions != 1 else ''}"
        if item.decisions:
            logged += f", {item.decisions} decision{'s' if item.decisions != 1 else ''}"
        _out(f"exported {item.pack_id} to {item.folder} (verified: {logged})")
    if not done:
        _out("no packs to export")
    if any(not item.ok for item in done):
        raise typer.Exit(1)


@serve_app.command("import")
def serve_import(
    pack_dirs: Annotated[list[Path], typer.Argument(metavar="PACK_DIR...", help="Pack folders.")],
    database_url: DatabaseOpt = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Bring pack folders in, with their submissions and log, each verified first."""
    engine = _serve_engine(database_url, workspace)
    from rubrics.server.store import import_packs

    try:
        with handled():
            done = import_packs(engine, list(pack_dirs))
    finally:
        engine.dispose()
    for item in done:
        if item.refused is not None:
            _err(f"error: {item.refused}")
        else:
            _out(f"imported {item.pack_id} from {item.folder}")
    if any(item.refused is not None for item in done):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- init


@app.command(short_help="Start a new workspace from the bundled one.")
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="New workspace folder.")],
) -> None:
    """Start a new workspace for your company from the bundled one."""
    from rubrics.workspace import init_workspace

    with handled():
        written = init_workspace(directory)
    _out(f"created workspace {directory} ({len(written)} files)")
    _out(f"next: edit {directory}/roles/, then: rubrics validate --workspace {directory}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
