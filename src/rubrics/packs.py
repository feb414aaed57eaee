"""Candidate packs: scorecards per stage, the candidate packet and the interview plan.

A pack is written into a temporary folder next to its final place and renamed
into place only when complete, so an interrupted run leaves no half pack. An
existing pack is never overwritten without ``force``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import secrets
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rubrics import __version__, pdfcache
from rubrics.csvtext import DELIMITERS, decode_csv, delimiter_name, sniff_delimiter, split_sep_line
from rubrics.errors import Conflict, InvalidInput, Problem, RubricsError, Severity, problem, shorten
from rubrics.frameworks import framework_to_yaml
from rubrics.fsutil import exchange, fsync_dir, sha256_bytes
from rubrics.identity import email_key, name_key
from rubrics.ids import derived_candidate_id, new_pack_id, slugify, text_hash
from rubrics.log import GENESIS_KIND, LogLineError, genesis, read_log, write_genesis
from rubrics.model import RATING_LABELS, Recommendation, Stage, unsafe_text
from rubrics.packdir import LOG_PATH, PACK_FORMAT, manifest_well_formed
from rubrics.packmatch import (
    OutFolder,
    compare,
    find_without_id,
    id_key,
    other_message,
    unsure_message,
    with_id,
)
from rubrics.pdfcache import Job
from rubrics.render import Templates
from rubrics.roles import InterviewLoop
from rubrics.submissions import MAX_CANDIDATE_ID
from rubrics.workspace import Workspace, bundled_root

FORMATS = ("html", "pdf")
MAX_NAME = 200
MAX_ID = MAX_CANDIDATE_ID
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)),
                              *(f"lpt{n}" for n in range(10))})
"""Names Windows keeps for devices, in any case and with any extension: no folder can have
them (``CON``, ``nul.txt``)."""


def candidate_problems(name: str, cid: str | None = None, email: str | None = None,
                       notes: str | None = None) -> list[tuple[str | None, str]]:
    """What is wrong with a candidate's details: (the field a character is wrong in, or
    None; the message) for each problem."""
    problems: list[tuple[str | None, str]] = []
    if not name.strip():
        problems.append((None, "candidate name is empty"))
    if len(name) > MAX_NAME:
        problems.append((None, f"candidate name is longer than {MAX_NAME} characters"))
    elif why := unsafe_text(name, single_line=True):
        problems.append(("name", f"candidate name {why}"))
    if cid is not None:
        if not cid.strip() or len(cid) > MAX_ID:
            problems.append((None, f"candidate id must be 1-{MAX_ID} printable characters"))
        elif why := unsafe_text(cid, single_line=True):
            problems.append(("id", f"candidate id {why}"))
    if email is not None and (why := unsafe_text(email, single_line=True)):
        problems.append(("email", f"candidate email {why}"))
    if notes is not None and (why := unsafe_text(notes, single_line=False)):
        problems.append(("notes", f"candidate notes {why}"))
    return problems


@dataclass(frozen=True)
class Candidate:
    name: str
    id: str | None = None
    email: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        problems = [message for _, message in candidate_problems(self.name, self.id,
                                                                 self.email, self.notes)]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def folder_name(self) -> str:
        """A safe folder name: ASCII letters, digits and hyphens, and never a name Windows
        keeps for a device (``con``, ``nul``, ``com1`` ... get a ``_`` added). The manifest
        keeps the name and id as typed."""
        base = slugify(self.id or self.name, max_words=8, max_chars=48)
        if not base:
            base = "candidate-" + text_hash(self.id or self.name, 8)
        if base.split(".")[0] in WINDOWS_RESERVED:
            base += "_"
        return base


@dataclass(frozen=True)
class PackOptions:
    out: Path
    formats: tuple[str, ...] = FORMATS
    anonymous: bool = False
    templates: Path | None = None
    force: bool = False


@dataclass
class PackResult:
    """A candidate's pack after a run: ``written`` anew, ``remade`` by --force under the
    pack id it had, ``replaced`` by --force under a new pack id (the role or framework
    changed), or ``kept`` as it was (nothing written)."""

    candidate: Candidate
    path: Path
    pack_id: str
    files: list[str] = field(default_factory=list)
    status: Literal["written", "remade", "replaced", "kept"] = "written"
    differs: tuple[str, ...] = ()
    """How a kept pack differs from what this run would make ("made from another version of
    the role", ...); empty when it is what this run would make."""
    locked: bool = False
    """Whether a kept pack holds submissions or a decision, so --force would refuse it
    (looked at only where it is said: for a pack that differs, or a single pack)."""
    old_pack_id: str | None = None
    """The pack id a ``replaced`` pack had."""
    changed: str = ""
    """What changed since the pack was made ("the role changed", ...): why a ``replaced``
    pack got a new pack id, or why --force would give a ``kept`` one a new one."""


@dataclass(frozen=True)
class RoleVersion:
    """The role a pack is made for and the versions (hashes) of its role and framework."""

    role_id: str
    role: str
    framework: str


@dataclass(frozen=True)
class Remake:
    """--force over a candidate's pack: the pack id it had, and why it gets a new one
    (empty when it keeps it)."""

    old_pack_id: str | None
    changed: str = ""


def pack_templates(workspace: Workspace, override: Path | None) -> Templates:
    return Templates.for_workspace(workspace.templates_dir, override,
                                   bundled_root() / "templates")


def build_pack(loop: InterviewLoop, role_source: bytes, candidate: Candidate,
               options: PackOptions, templates: Templates, *, pack_id: str | None = None,
               now: datetime | None = None, folder: str | None = None) -> PackResult:
    """Render and write one candidate's pack; return where it went.

    ``folder`` is where a batch found the candidate's pack (it lists ``--out`` and puts
    right what killed runs left once, for every row); without it the pack is looked up
    here. ``pack_id`` and ``now`` are for reproducible output (golden-file tests).
    """
    formats = tuple(dict.fromkeys(options.formats))
    for f in formats:
        if f not in FORMATS:
            raise InvalidInput([problem("--format", f"unknown format '{f}' (use html, pdf)")])
    if not formats:
        raise InvalidInput([problem("--format", "no format given (use html, pdf or both)")])
    leftovers: list[Path] = []
    if folder is None:
        listed = OutFolder.read(options.out)
        candidate, folder = resolve(candidate, listed, options)
        leftovers = listed.leftovers.get(folder, [])
    target = options.out / folder
    existing = keep_or_remake(target, pack_versions(loop, role_source), candidate, options,
                              leftovers)
    if isinstance(existing, PackResult):
        existing.locked = existing.locked or _holds_a_record(target / "submissions")
        return existing
    options.out.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC).replace(microsecond=0)
    keep_id = existing.old_pack_id if existing and not existing.changed else None
    pack_id = pack_id or keep_id or new_pack_id(folder, now)
    staging = options.out / f".{folder}.{secrets.token_hex(4)}.partial"
    staging.mkdir()
    try:
        files = _write_pack(staging, loop, role_source, candidate, options, templates,
                            pack_id, now, formats)
        _commit(staging, target, force=options.force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if existing is None:
        return PackResult(candidate, target, pack_id, files)
    return PackResult(candidate, target, pack_id, files,
                      status="replaced" if existing.changed else "remade",
                      old_pack_id=existing.old_pack_id, changed=existing.changed)


def resolve(candidate: Candidate, out: OutFolder, options: PackOptions,
            taken: AbstractSet[str] = frozenset()) -> tuple[Candidate, str]:
    """The candidate as packed and the folder of their pack in ``out``. A row with an id
    has the folder of its id. An anonymous row without one gets the id (and folder) of
    the pack made for them without an id, else a new random one (nothing in an anonymous
    pack may derive from the name); another row without one, the folder of its name
    unless their pack made without an id is elsewhere (the name in another word order).
    ``taken``: folders other rows of the batch have."""
    if candidate.id is not None:
        return candidate, candidate.folder_name
    if options.anonymous:
        cid = find_without_id(candidate, out, True, _manifest) or out.new_anonymous_id(taken)
        return with_id(candidate, cid), cid
    own = candidate.folder_name
    recorded = _manifest(out.path / own) if own in out.names else None
    if recorded and isinstance(recorded.get("candidate"), dict) \
            and compare(recorded["candidate"], candidate) == "same":
        return candidate, own
    return candidate, find_without_id(candidate, out, False, _manifest) or own


def keep_or_remake(target: Path, version: RoleVersion, candidate: Candidate,
                   options: PackOptions, leftovers: list[Path]) -> PackResult | Remake | None:
    """What to do with a candidate's folder (after putting right what a killed run left
    there, ``leftovers``): the pack in it, kept (without --force); or, to write one, None
    (a new pack) or how to remake the pack there (--force). Conflict when the folder holds
    another candidate's pack or one it cannot tell is theirs, their pack for another
    role, something that is not a pack, or (with --force) a pack with submissions."""
    _recover(target, leftovers)
    if not target.exists() and not target.is_symlink():
        return None
    manifest = _manifest(target)
    if manifest is None:
        raise _not_a_pack(target)
    recorded = manifest.get("candidate")
    if not manifest_well_formed(manifest) or not isinstance(recorded, dict) \
            or not isinstance(recorded.get("name"), str):
        if not options.force:
            raise Conflict(f"{target}: holds a pack whose manifest is damaged or does not say "
                           "whose it is (rubrics verify says more); --force replaces it with "
                           "a new pack")
        _check_replaceable(target)
        return Remake(None, "its manifest was damaged")
    verdict = compare(recorded, candidate)
    if verdict != "same":
        raise Conflict(other_message(target, recorded) if verdict == "other"
                       else unsure_message(target, recorded, candidate))
    role_id = manifest["role"].get("id")
    if role_id != version.role_id:
        raise Conflict(f"{target}: holds {shorten(recorded['name'])}'s pack for role "
                       f"'{shorten(str(role_id))}' (a folder holds one pack, even with "
                       f"--force); use another --out for role '{version.role_id}'")
    changed = _changed(manifest, version)
    if not options.force:
        differs = _differences(manifest, version, candidate, options)
        return PackResult(candidate, target, str(manifest["pack_id"]), status="kept",
                          differs=differs, changed=changed,
                          locked=bool(differs) and _holds_a_record(target / "submissions"))
    _check_replaceable(target)
    return Remake(str(manifest["pack_id"]), changed)


def _not_a_pack(target: Path) -> Conflict:
    return Conflict(f"{target}: exists and is not a rubrics pack (pack, even with --force, "
                    "replaces only packs); choose another --out, or give this candidate an id "
                    "of their own")


def _manifest(target: Path) -> dict[str, Any] | None:
    """The manifest of the rubrics pack in ``target``; None when it holds no rubrics pack."""
    path = target / "manifest.json"
    if target.is_symlink() or path.is_symlink():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) and found.get("format") == PACK_FORMAT else None


def _changed(manifest: dict[str, Any], version: RoleVersion) -> str:
    """What changed since a pack was made ("the role changed", ...); empty when nothing."""
    role = manifest["role"].get("version") != version.role
    framework = manifest["framework"].get("hash") != version.framework
    what = " and ".join(w for w, changed in (("the role", role), ("the framework", framework))
                        if changed)
    return f"{what} changed" if what else ""


def framework_snapshot(loop: InterviewLoop) -> bytes:
    """The framework as a pack snapshots it (native YAML), made once per loop: it is the
    dearest step of a small pack, and every pack of a batch needs it twice."""
    if "framework_yaml" not in loop.memo:
        loop.memo["framework_yaml"] = framework_to_yaml(loop.framework).encode("utf-8")
    snapshot: bytes = loop.memo["framework_yaml"]
    return snapshot


def pack_versions(loop: InterviewLoop, role_source: bytes) -> RoleVersion:
    """The role and the role and framework versions a pack made now records, as
    ``_write_pack`` does."""
    return RoleVersion(loop.role.id, sha256_bytes(role_source)[:12],
                       sha256_bytes(framework_snapshot(loop))[:12])


def _differences(manifest: dict[str, Any], version: RoleVersion, candidate: Candidate,
                 options: PackOptions) -> tuple[str, ...]:
    """How the pack a manifest describes differs from what this run would make."""
    recorded = manifest["candidate"]
    changed = _changed(manifest, version)
    made = {str(f["path"]).rsplit(".", 1)[-1] for f in manifest["files"]}
    found = [
        "made from another version of the role" if "role" in changed else "",
        "made from another version of the framework" if "framework" in changed else "",
        ("made with --anonymous" if recorded.get("anonymous") else "made without --anonymous")
        if bool(recorded.get("anonymous")) != options.anonymous else "",
        *(f"made without {f.upper()} files" for f in options.formats if f not in made),
        *_detail_differences(recorded, candidate),
    ]
    return tuple(f for f in found if f)


def _detail_differences(recorded: dict[str, Any], candidate: Candidate) -> list[str]:
    """How the name, email and notes the pack records differ from the row's (a name
    spaced otherwise, or an email in other case, is the same)."""
    def spaced(text: object) -> str:
        return " ".join(unicodedata.normalize("NFC", str(text)).split())

    found = []
    if spaced(recorded.get("name")) != spaced(candidate.name):
        found.append(f"the pack records the name '{shorten(str(recorded.get('name')))}'")
    email = recorded.get("email")
    if candidate.email is not None and email_key(email) != email_key(candidate.email):
        found.append(f"the pack records the email '{shorten(str(email))}'" if email
                     else "the pack records no email")
    notes = recorded.get("notes")
    if candidate.notes is not None and notes != candidate.notes:
        found.append("the pack records other notes" if notes else "the pack records no notes")
    return found


def _check_replaceable(target: Path) -> None:
    """--force replaces a rubrics pack without submissions, and nothing else."""
    if not target.exists():
        return
    if _manifest(target) is None:
        raise _not_a_pack(target)
    if _holds_a_record(target / "submissions"):
        raise Conflict(f"{target}: pack has submitted scorecards or a recorded decision; "
                       "--force would lose them. Move the pack away first if you really "
                       "mean to replace it")


def _holds_a_record(submitted: Path) -> bool:
    """Whether a pack's submissions folder holds anything --force must not lose: a logged
    entry past the genesis, a submission folder, or scorecards an interrupted submit set
    aside (anything unreadable counts, to be safe)."""
    if submitted.is_symlink() or (submitted.exists() and not submitted.is_dir()):
        return True
    if not submitted.is_dir():
        return False
    try:
        entries = read_log(submitted)
    except (LogLineError, OSError):
        return True
    if any(e.kind != GENESIS_KIND for e in entries):
        return True
    for child in submitted.iterdir():
        if child.is_dir() and (not child.name.startswith(".") or
                               (child.name == ".interrupted" and any(child.iterdir()))):
            return True
    return False


def _recover(target: Path, leftovers: list[Path]) -> None:
    """Finish or clean what a killed ``pack`` left for this target (``leftovers``: the
    ``.<target>.<token>.replaced`` and ``.partial`` folders, listed once per run): a pack
    set aside by --force whose replacement never arrived is put back; unfinished staging
    folders and replaced packs whose replacement did arrive are removed."""
    replaced = sorted((p for p in leftovers if p.name.endswith(".replaced")), key=_mtime)
    if replaced and not target.exists():
        replaced.pop().rename(target)  # the newest set-aside pack is the one that was there
        fsync_dir(target.parent)
    for leftover in [*replaced, *(p for p in leftovers if p.name.endswith(".partial"))]:
        if leftover.is_dir() and not leftover.is_symlink() and _older_than(leftover, 60):
            shutil.rmtree(leftover, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # gone meanwhile: another run put it right
        return 0.0


def _older_than(path: Path, seconds: float) -> bool:
    """Left by a run that is over (a concurrent pack for the same candidate is younger)."""
    import time

    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _commit(staging: Path, target: Path, *, force: bool) -> None:
    if target.exists() and not force:
        raise Conflict(f"{target}: another run made this pack while this one was rendering; "
                       "run again to check whose it is")
    if target.exists():
        _replace(staging, target)
    else:
        try:
            staging.rename(target)  # refuses to replace a non-empty folder made meanwhile
        except OSError:
            raise Conflict(f"{target}: another run made this pack while this one was "
                           "rendering; run again to check whose it is") from None
    fsync_dir(target.parent)


def _replace(staging: Path, target: Path) -> None:
    """--force: swap the new pack in for the old one, under the old pack's writer lock, so
    that a submit or decision in flight finishes first (and then stops the swap)."""
    from rubrics.packdir import writer_lock

    with writer_lock(target):
        _check_replaceable(target)  # again, under the lock: a submit may have landed
        if exchange(staging, target):  # one atomic step: the old pack now sits in staging
            shutil.rmtree(staging, ignore_errors=True)
            return
        old = target.with_name(f".{target.name}.{secrets.token_hex(4)}.replaced")
        target.rename(old)  # a crash right here is put right by the next run (_recover)
        staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_pack(folder: Path, loop: InterviewLoop, role_source: bytes, candidate: Candidate,
                options: PackOptions, templates: Templates, pack_id: str, now: datetime,
                formats: tuple[str, ...]) -> list[str]:
    role, framework = loop.role, loop.framework
    framework_yaml = framework_snapshot(loop)
    written: dict[str, bytes] = {
        "source/role.yaml": role_source,
        "source/framework.yaml": framework_yaml,
    }
    shown_name = None if options.anonymous else candidate.name
    candidate_id = candidate.id or derived_candidate_id(pack_id)
    base_context = {
        "pack_id": pack_id,
        "role": role,
        "framework": framework,
        "candidate_name": candidate.name,
        "candidate_label": shown_name or f"Candidate {candidate_id}",
        "candidate_id": candidate_id,
        "anonymous": options.anonymous,
        "created": now,
        "version": __version__,
    }
    placeholders = {
        **base_context,
        "pack_id": pdfcache.PACK,
        "candidate_name": pdfcache.NAME,
        "candidate_label": (f"Candidate {pdfcache.CID}" if options.anonymous
                            else pdfcache.NAME),
        "candidate_id": pdfcache.CID,
    }
    jobs: list[Job] = []
    allowed = templates.folders
    font = _form_font(templates)

    for stage in role.stages:
        ctx = {**base_context, **scorecard_context(loop, stage)}
        written[f"scorecards/{stage.id}.yaml"] = templates.render(
            "submission.yaml.j2", **ctx).encode("utf-8")
        if "html" in formats:
            html = templates.render_page("scorecard.html.j2", css="scorecard.css",
                                         js="scorecard.js", for_pdf=False, form_font=None,
                                         **ctx)
            written[f"scorecards/{stage.id}.html"] = html.encode("utf-8")
        if "pdf" in formats:
            pdf_ctx: dict[str, Any] = {"for_pdf": True, "form_font": font}
            jobs.append(Job(
                f"scorecards/{stage.id}.pdf",
                templates.render_page("scorecard.html.j2", css="scorecard.css", **pdf_ctx,
                                      **ctx),
                templates.render_page("scorecard.html.j2", css="scorecard.css", **pdf_ctx,
                                      **{**placeholders, **scorecard_context(loop, stage)}),
                templates.folder_of("scorecard.html.j2"), forms=True,
                keywords=f"rubrics-pack={pdfcache.PACK}; rubrics-stage={stage.id}"))

    from rubrics.coverage import coverage_summary, framework_levels

    coverage = coverage_summary(loop)
    pages: dict[str, dict[str, Any]] = {
        "candidate-packet": {"candidate_name": candidate.name},
        "interview-plan": {"coverage": coverage, "candidate": candidate,
                           "framework_levels": framework_levels(loop)},
    }
    stand_in = Candidate.__new__(Candidate)  # the placeholders, which no check would pass
    for key, value in (("name", pdfcache.NAME), ("id", pdfcache.CID),
                       ("email", candidate.email), ("notes", candidate.notes)):
        object.__setattr__(stand_in, key, value)
    # The plan with the placeholders, to lay out once per role. The packet, which the
    # candidate reads, is rendered whole (no placeholder render): stamped, its greeting
    # sat 2 pt off the line of the word before it.
    stand_ins: dict[str, dict[str, Any]] = {
        "interview-plan": {**pages["interview-plan"], "candidate": stand_in},
    }
    for page, extra in pages.items():
        ctx = {**base_context, **extra}
        html = templates.render_page(f"{page}.html.j2", css="document.css", for_pdf=False,
                                     **ctx)
        if "html" in formats:
            written[f"{page}.html"] = html.encode("utf-8")
        if "pdf" in formats:
            jobs.append(Job(
                f"{page}.pdf",
                templates.render_page(f"{page}.html.j2", css="document.css", for_pdf=True,
                                      **ctx),
                templates.render_page(f"{page}.html.j2", css="document.css", for_pdf=True,
                                      **{**placeholders, **stand_ins[page]})
                if page in stand_ins else "",
                templates.folder_of(f"{page}.html.j2"), variant="pdf/ua-1"))
    if jobs:
        pdfcache.render_pdfs(jobs, name=candidate.name, cid=candidate_id, pack=pack_id,
                             allowed=allowed)
        for job in jobs:
            written[job.name] = job.pdf

    for rel, data in written.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    manifest = {
        "format": PACK_FORMAT,
        "pack_id": pack_id,
        "created_at": now.isoformat(),
        "tool": {"name": "rubrics", "version": __version__},
        "role": {"id": role.id, "title": role.title,
                 "version": sha256_bytes(role_source)[:12], "file": "source/role.yaml"},
        "framework": {"id": framework.id, "title": framework.title,
                      "hash": sha256_bytes(framework_yaml)[:12],
                      "file": "source/framework.yaml",
                      **({"track": framework.track} if framework.track else {})},
        "candidate": {"name": candidate.name, "id": candidate_id, "email": candidate.email,
                      "notes": candidate.notes, "anonymous": options.anonymous},
        "stages": [{"id": s.id, "title": s.title, "criteria": list(s.assesses)}
                   for s in role.stages],
        "files": [{"path": rel, "sha256": sha256_bytes(data), "bytes": len(data)}
                  for rel, data in sorted(written.items())],
        "log": LOG_PATH,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    (folder / "manifest.json").write_bytes(manifest_bytes)
    # the log is made with the pack: removing it, or editing the manifest, shows from now on
    write_genesis(folder / "submissions", genesis(pack_id, sha256_bytes(manifest_bytes),
                                                  now.isoformat()))
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    return ["manifest.json", *sorted(written)]


def _form_font(templates: Templates) -> str | None:
    for folder in templates.folders:
        font = folder / "fonts" / "form-sans.ttf"
        if font.is_file():
            return font.resolve().as_uri()
    return None


def scorecard_context(loop: InterviewLoop, stage: Stage) -> dict[str, Any]:
    """What a scorecard template needs about one stage: its focus criteria with their four
    anchored rating points, and its questions with the criteria each one assesses."""
    criteria = []
    shown: dict[tuple[str, int], int] = {}  # (area, level) -> the criterion that showed it
    for n, cid in enumerate(stage.assesses, 1):
        area, crit = loop.criteria[cid]
        own = stage.anchors(cid)
        criteria.append({
            "n": n,
            "id": cid,
            "text": crit.text,
            "level": crit.level,
            "level_label": loop.framework.level(crit.level).label,
            "area": area.title,
            "area_kind": area.kind,
            "key": cid in loop.role.key_ids,
            "must_pass": cid in loop.role.must_pass_ids,
            "examples": list(crit.examples),
            "points": rating_points(own or derived_anchors(loop, cid)),
            "anchors_derived": not own,
            "levels": _framework_levels(loop, cid, n, shown),
        })
    numbers = {c["id"]: c["n"] for c in criteria}
    questions = [{"text": q.text, "probes": list(q.probes),
                  "what_good_looks_like": list(q.what_good_looks_like),
                  "assesses": [numbers[a] for a in q.assesses if a in numbers]}
                 for q in stage.questions]
    return {
        "stage": stage,
        "criteria": criteria,
        "questions": questions,
        "rating_labels": RATING_LABELS,
        "recommendations": [(r.value, r.label) for r in Recommendation],
        "loop_stages": loop.role.stages,
    }


def rating_points(anchors: dict[int, str]) -> list[dict[str, Any]]:
    """The four rating points of a criterion: value, the scale's label, and its anchor."""
    return [{"value": v, "label": RATING_LABELS[v], "anchor": anchors[v]} for v in RATING_LABELS]


def derived_anchors(loop: InterviewLoop, cid: str) -> dict[int, str]:
    """Rating anchors for a criterion the role gives none for, from the framework: the
    criterion's own behaviour is a 3, its area's level below bounds a 1 and the level above
    marks a 4."""
    crit = loop.criteria[cid][1]
    below, above = loop.anchors(cid)
    low = (f"Not shown, or only what level {crit.level - 1} expects" if below else
           "Not shown, or evidence against it")
    high = (f"Shown unprompted and in depth, with some of what level {crit.level + 1} expects"
            if above else "Shown unprompted, in depth, and in more than one situation")
    return {1: low, 2: "Partly shown: some of the behaviour, or only when prompted",
            3: "Shown as described, unprompted, with a concrete example", 4: high}


def _framework_levels(loop: InterviewLoop, cid: str, n: int,
                      shown: dict[tuple[str, int], int]) -> list[dict[str, Any]]:
    """The area's behaviours one level below and above a criterion, each block shown once
    per scorecard: a block an earlier criterion showed is a reference to it."""
    area, crit = loop.criteria[cid]
    below, above = loop.anchors(cid)
    blocks = []
    for side, level, items in (("below", crit.level - 1, below), ("above", crit.level + 1, above)):
        if not items:
            continue
        first = shown.setdefault((area.id, level), n)
        blocks.append({"side": side, "level": level, "area": area.title,
                       "behaviours": [c.text for c in items] if first == n else [],
                       "see": first if first != n else None})
    return blocks


# --------------------------------------------------------------------------- batches


def read_candidates_csv(path: Path) -> Iterator[tuple[int, Candidate | Problem]]:
    """Rows of a candidates CSV (name, id, optional email/notes), each with its line number;
    a warning (a Problem) for each column it does not read comes first.

    The csv module splits the rows (``newline=""``): a line break inside quotes stays in
    the field, so notes keep theirs, and U+2028 and the like never split a row. A name, id
    or email with a line break or a control or invisible character is refused, on the
    line and column (the CSV column's number) where that field is. Columns are separated
    by commas, semicolons or tabs, whichever the header row uses; a row split otherwise
    (more fields than the header, or too few to reach its name and id) is refused.
    """
    text = _csv_text(path)
    delimiter, skip = _delimiter(text)
    _check_quotes_closed(path, text, delimiter, skip)
    reader = _reader(text, delimiter, skip)
    try:
        header: list[str] = next(reader, [])
    except csv.Error as exc:
        raise InvalidInput([problem(path, f"not a readable CSV: {exc}", 1 + skip)]) from None
    keys = [column_key(h) for h in header]
    if "name" not in keys:
        raise InvalidInput([problem(path, _no_name_column(header), 1 + skip)])
    for warning in _unknown_columns(path, header, 1 + skip):
        yield 1 + skip, warning
    rows = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput([problem(path, f"not a readable CSV: {exc}",
                                        reader.line_num)]) from None
        if not row:  # a blank line
            continue
        rows += 1
        if (misfit := _misfit_row(header, keys, row, delimiter)) is not None:
            yield start, problem(path, misfit, start)
            continue
        yield from _candidate_row(path, start, keys, row)
    if rows == 0:
        raise InvalidInput([problem(path, "no candidates: the CSV has a header row but no "
                                    "rows", 1)])


def _candidate_row(path: Path, start: int, keys: list[str], row: list[str]
                   ) -> Iterator[tuple[int, Candidate | Problem]]:
    """The candidate of one row starting on line ``start``, or its problems, each on the
    line and CSV column where its field is."""
    clean: dict[str, str] = {}
    where: dict[str, tuple[int, int]] = {}  # field -> (line, CSV column) it starts on
    line = start
    for column, (key, value) in enumerate(zip(keys, row, strict=False), 1):
        if key and key not in clean:
            clean[key] = value.strip()
            where[key] = (line, column)
        line += value.count("\n")
    details = (clean.get("name", ""), clean.get("id") or None, clean.get("email") or None,
               clean.get("notes") or None)
    found = candidate_problems(*details)
    if not found:
        yield start, Candidate(*details)
    for field_name, message in found:
        if field_name is None:
            yield start, problem(path, message, start)
        else:
            at, column = where[field_name]
            yield at, problem(path, message, at, column)


CANDIDATE_COLUMNS = ("name", "id", "email", "notes")
COLUMN_SPELLINGS = {"full name": "name", "candidate name": "name", "candidate id": "id",
                    "e-mail": "email", "e mail": "email", "email address": "email",
                    "e-mail address": "email", "note": "notes"}
"""Other headers read as a candidates CSV's columns, compared after folding case, spaces
and '_' (``column_key``): ``Full name``, ``Candidate ID``, ``E-Mail``, ``Email address``."""


def column_key(header: str) -> str:
    """The column a candidates CSV header names: ``E-Mail`` and ``email`` are 'email'."""
    folded = " ".join(header.strip().lower().replace("_", " ").split())
    return COLUMN_SPELLINGS.get(folded, folded)


def _unknown_columns(path: Path, header: list[str], line: int) -> list[Problem]:
    """A warning for each column of a candidates CSV that rubrics does not read, so a
    misspelt 'emial' is not silently left out of every pack."""
    known = ", ".join(CANDIDATE_COLUMNS)
    return [problem(path, f"column '{shorten(h.strip(), 30)}' is not one rubrics reads and is "
                    f"ignored (the columns are {known})", line, n, severity=Severity.WARNING)
            for n, h in enumerate(header, 1)
            if h.strip() and column_key(h) not in CANDIDATE_COLUMNS]


def _misfit_row(header: list[str], keys: list[str], row: list[str],
                delimiter: str) -> str | None:
    """Why a row's fields do not line up with the header's columns (more fields that hold
    something, or too few to reach its name and id), with a hint when a field holds
    another delimiter; None when they line up."""
    needed = max(n for n, k in enumerate(keys, 1) if k in ("name", "id"))
    if len(row) >= needed and not any(c.strip() for c in row[len(keys):]):
        return None
    columns = ", ".join(shorten(h.strip(), 20) for h in header)
    what = (f"{len(row)} field{'s' if len(row) != 1 else ''} where the header has "
            f"{len(header)} ({columns}), separated by {delimiter_name(delimiter)}")
    for other in (d for d in DELIMITERS if d != delimiter):
        if len(row) < len(header) and any(other in c for c in row):
            return (f"{what}; this row holds {delimiter_name(other)}: separate it by "
                    f"{delimiter_name(delimiter)} too")
    return what


SAVE_AS_UTF8 = ('save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8 (Comma '
                'delimited)) and run again')


def _csv_text(path: Path) -> str:
    """The text of a candidates CSV (see rubrics.csvtext), without Excel's ``sep=`` line."""
    from rubrics.yamlio import read_bytes

    raw = read_bytes(path)  # a regular file of at most 8 MB, never a device or pipe
    return decode_csv(str(path), raw, SAVE_AS_UTF8)[0]


def _delimiter(text: str) -> tuple[str, int]:
    """The delimiter and how many lines come before the header: Excel's ``sep=`` line names
    it (and is one line, kept so that line numbers stay the file's), else of the delimiters
    that give the header a 'name' column, the one it uses most."""
    body, named = split_sep_line(text)
    header = body.split("\n", 1)[0]

    def gives_a_name(delimiter: str) -> bool:
        return "name" in (column_key(h) for h in next(csv.reader([header], delimiter=delimiter), []))

    return (named, 1) if named else (sniff_delimiter(header, gives_a_name), 0)


def _reader(text: str, delimiter: str, skip: int, *, strict: bool = False) -> Any:
    """A csv reader past the ``skip`` lines before the header (Excel's ``sep=`` line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    for _ in range(skip):
        next(reader, None)
    return reader


def _no_name_column(header: list[str]) -> str:
    """Why a header row will not do, naming the columns it has and those expected."""
    found = ", ".join(f"'{shorten(h.strip(), 30)}'" for h in header[:12] if h.strip())
    more = f" and {len(header) - 12} more" if len(header) > 12 else ""
    has = f"its columns are {found}{more}" if found else "it is empty"
    return (f"the header row has no 'name' column: {has}; expected 'name' and 'id', "
            "optionally 'email' and 'notes', separated by commas, semicolons or tabs")


def _check_quotes_closed(path: Path, text: str, delimiter: str, skip: int) -> None:
    """Refuse a quoted field that is never closed: read leniently it would swallow every
    row after it into one note, and those candidates would silently get no pack."""
    reader = _reader(text, delimiter, skip, strict=True)
    start = 1 + skip
    while True:
        try:
            if next(reader, None) is None:
                return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InvalidInput([problem(path, "a quoted field is never closed (a '\"' "
                                            "missing?)", start)]) from None
            return  # other strict-mode complaints are read leniently, as before
        start = reader.line_num + 1


@dataclass
class BatchOutcome:
    written: list[PackResult] = field(default_factory=list)
    """Packs written anew or remade (--force), in folder order."""
    kept: list[PackResult] = field(default_factory=list)
    """Packs that were there already and were kept as they were, in folder order."""
    failed: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """What the user should know of the CSV (a column rubrics does not read, ...)."""


@functools.cache
def _worker_setup(workspace_root: Path | None, role_id: str, templates: Path | None
                  ) -> tuple[InterviewLoop, bytes, Templates]:
    """Role, framework and compiled templates, loaded once per worker process."""
    ws = Workspace.open(workspace_root)
    loop, _, role_source = ws.loop_with_source(role_id)
    return loop, role_source, pack_templates(ws, templates)


def _warm(workspace_root: Path | None, role_id: str, options: PackOptions
          ) -> dict[str, pdfcache.Cached]:
    """Render the role's PDFs once, with placeholders, before the workers start: every
    worker then stamps its candidates into them (ADR 0010). A pack for a stand-in, written
    to a temporary folder and removed, is what fills the cache."""
    import tempfile

    loop, role_source, templates = _worker_setup(workspace_root, role_id, options.templates)
    with tempfile.TemporaryDirectory(prefix="rubrics-warm-") as tmp:
        build_pack(loop, role_source, Candidate("Stand-in", "stand-in"),
                   PackOptions(out=Path(tmp), formats=("pdf",), anonymous=options.anonymous,
                               templates=options.templates), templates)
    return pdfcache.cache_items()


def _batch_worker(args: tuple[Path | None, str, Candidate, str, PackOptions, int]
                  ) -> PackResult:
    workspace_root, role_id, candidate, folder, options, _line = args
    loop, role_source, templates = _worker_setup(workspace_root, role_id, options.templates)
    return build_pack(loop, role_source, candidate, options, templates, folder=folder)


def build_batch(workspace_root: Path | None, role_id: str, csv_path: Path,
                options: PackOptions, *, jobs: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> BatchOutcome:
    """One pack per CSV row, in parallel; a bad row fails alone, with its line number.

    Run again (after adding rows, say), it keeps the packs already made for their
    candidates and writes only the new ones; with ``force`` it remakes them, under the
    same pack id when the role and framework are unchanged.
    """
    outcome = BatchOutcome()
    loop, _, role_source = Workspace.open(workspace_root).loop_with_source(role_id)  # fail fast
    to_write = _rows_to_write(list(read_candidates_csv(csv_path)), csv_path,
                              pack_versions(loop, role_source), options, outcome)
    tasks = [(workspace_root, role_id, candidate, folder, options, line)
             for candidate, folder, line in to_write]
    total = len(tasks)
    done = 0
    if progress:
        progress(done, total)
    workers = max(1, min(jobs or os.cpu_count() or 1, total or 1))
    warmed = _warm(workspace_root, role_id, options) if tasks and "pdf" in options.formats else {}
    with ProcessPoolExecutor(max_workers=workers, initializer=pdfcache.cache_load,
                             initargs=(warmed,)) as pool:
        futures = {pool.submit(_batch_worker, t): t for t in tasks}
        for future in as_completed(futures):
            line = futures[future][5]
            try:
                result = future.result()
                (outcome.kept if result.status == "kept" else outcome.written).append(result)
            except RubricsError as exc:
                outcome.failed.append(problem(csv_path, str(exc).replace("\n", "; "), line))
            except OSError as exc:
                outcome.failed.append(problem(csv_path, f"cannot write the pack: {exc}", line))
            done += 1
            if progress:
                progress(done, total)
    outcome.written.sort(key=lambda r: r.path.name)
    outcome.kept.sort(key=lambda r: r.path.name)
    outcome.failed.sort(key=lambda p: p.line or 0)
    return outcome


def _rows_to_write(rows: list[tuple[int, Candidate | Problem]], csv_path: Path,
                   version: RoleVersion, options: PackOptions,
                   outcome: BatchOutcome) -> list[tuple[Candidate, str, int]]:
    """The rows whose packs are to be written, each with its folder and line; the others
    go into ``outcome``: a bad row, a repeated one (the same id, or the same name without
    an id, or the same pack as an earlier row) or a taken folder as a failure, a pack
    already made for the row's candidate as kept. ``--out`` is listed once, and no two
    rows ever get one folder."""
    to_write = []
    out = OutFolder.read(options.out)
    people: dict[str, tuple[int, Candidate]] = {}  # id or name key -> the first row's
    folders: dict[str, tuple[int, Candidate]] = {}
    for line, item in rows:
        if isinstance(item, Problem):
            (outcome.warnings if item.severity is Severity.WARNING else outcome.failed).append(item)
            continue
        key = f"id:{id_key(item.id)}" if item.id is not None else f"name:{name_key(item.name)}"
        if key in people:
            outcome.failed.append(problem(csv_path, _repeated(item, *people[key]), line))
            continue
        people[key] = (line, item)
        try:
            person, folder = resolve(item, out, options, set(folders))
            if folder in folders:
                first_line, _ = folders[folder]
                outcome.failed.append(problem(
                    csv_path, f"candidate '{shorten(item.name)}' has the same pack folder, "
                    f"{options.out / folder}/, as line {first_line}; give each an id of "
                    "their own", line))
                continue
            folders[folder] = (line, item)
            found = keep_or_remake(options.out / folder, version, person, options,
                                   out.leftovers.get(folder, []))
        except RubricsError as exc:
            outcome.failed.append(problem(csv_path, str(exc), line))
            continue
        if isinstance(found, PackResult):
            outcome.kept.append(found)
            continue
        to_write.append((person, folder, line))
    return to_write


def _repeated(item: Candidate, first_line: int, first: Candidate) -> str:
    """Why a row repeats an earlier one (``first``, on ``first_line``)."""
    if item.id is not None:
        return (f"duplicate id '{shorten(item.id)}' as line {first_line}; give each an id of "
                "its own")
    spelt = "" if first.name == item.name else f" ('{shorten(first.name)}')"
    return (f"candidate '{shorten(item.name)}' has the same name as line {first_line}{spelt} "
            "and neither has an id; remove the repeated row, or give each an id of its own")
