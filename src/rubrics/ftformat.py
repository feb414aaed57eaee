"""Loading a Financial Times job family (the FT's open engineering-progression YAML).

A job family has ``name``, ``summary``, ``levels`` (each an ``id`` and ``name``),
``themes`` (``id``, ``name``, ``summary``) and ``competencies`` (a UUID ``id``, the
``level`` and ``theme`` ids, a ``summary`` and a ``proficiency``). Themes become topics,
competencies criteria that keep their UUIDs as ids. Levels that belong to the individual
contributor or people manager track (docs/decisions/0012-framework-tracks.md) make one
framework per track, its levels numbered 1..N in file order. See docs/formats.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrics.errors import InvalidInput, Problem, Severity, shorten
from rubrics.ids import slugify
from rubrics.model import ID_PATTERN, Framework
from rubrics.validation import validate_model
from rubrics.yamlio import Document, Loc, dotted

INDIVIDUAL_CONTRIBUTOR = "individual-contributor"
PEOPLE_MANAGER = "people-manager"
TRACK_MARKS = {
    INDIVIDUAL_CONTRIBUTOR: ("-ic", "(individual contributor)"),
    PEOPLE_MANAGER: ("-pm", "(people manager)"),
}
"""How a level says its track: its id ends with the first, or its name holds the second
(case ignored in both)."""
TOP_KEYS = ("name", "summary", "levels", "themes", "competencies")
FT_IGNORED = {
    "": {"googleSheetId"},  # where the FT keeps the spreadsheet the file is made from
    "competencies": {"proficiency"},  # Awareness ... Expert: not a behaviour to observe
}
"""Keys the FT writes that rubrics has no use for: ignored without a warning."""
ITEM_KEYS = {
    "levels": ("id", "name"),
    "themes": ("id", "name", "summary"),
    "competencies": ("id", "level", "theme", "summary"),
}
MAX_LEVELS = 20
_ITEM_START = re.compile(r"^\d+[.)]\s")


def is_ft_job_family(data: Any) -> bool:
    """Whether parsed YAML is meant as an FT job family: it has ``themes`` and
    ``competencies`` (whatever their values: the loader says what is wrong with them) and
    no ``topics``."""
    return isinstance(data, dict) and "themes" in data and "competencies" in data and (
        "topics" not in data)


@dataclass(frozen=True)
class Entry:
    """One well-formed entry of a job family's list: where it is, its id, its keys."""

    index: int
    id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class FtLevel:
    """A level of the job family, with the track it is on (None: shared)."""

    id: str
    name: str
    track: str | None


def load_ft_job_family(doc: Document, path: Path, track: str | None
                       ) -> tuple[Framework, list[Problem]]:
    """The framework of one track of a job family (the first track when ``track`` is not
    one of them: the role check then says which to choose); or raise InvalidInput."""
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    warnings = list(doc.warnings) + _unknown_keys(doc, (), data, TOP_KEYS)
    levels = _levels(doc, _entries(doc, "levels", problems, warnings), problems)
    themes = {e.id: e for e in _entries(doc, "themes", problems, warnings)}
    competencies = _entries(doc, "competencies", problems, warnings)
    _check_competencies(doc, competencies, {
        "level": _known(doc, "levels", [lv.id for lv in levels]),
        "theme": _known(doc, "themes", list(themes))}, problems)
    if problems:
        raise InvalidInput(problems + warnings)
    tracks = [t for t in TRACK_MARKS if any(lv.track == t for lv in levels)]
    chosen = (track if track in tracks else tracks[0]) if tracks else None
    numbers = {lv.id: n for n, lv in enumerate(
        (lv for lv in levels if lv.track in (None, chosen)), start=1)}
    if len(numbers) > MAX_LEVELS:
        raise InvalidInput([doc.problem(("levels",), f"levels: {len(numbers)} levels in one "
                                        f"track; at most {MAX_LEVELS} are read")])
    raw = {
        "id": slugify(path.stem, max_words=12) or "framework",
        "title": _text(data.get("name")) or path.stem,
        "description": readable(data.get("summary")) or None,
        "levels": [{"number": numbers[lv.id], "name": lv.name} for lv in levels
                   if lv.id in numbers],
        "topics": [_topic(theme, competencies, numbers) for theme in themes.values()],
        "track": chosen,
        "tracks": tracks or None,
    }
    return validate_model(Framework, doc, raw), warnings


def _levels(doc: Document, entries: list[Entry], problems: list[Problem]) -> list[FtLevel]:
    out = []
    for entry in entries:
        name = _text(entry.data.get("name")) or entry.id
        out.append(FtLevel(entry.id, name, _track_of(doc, entry, name, problems)))
    return out


def _track_of(doc: Document, entry: Entry, name: str, problems: list[Problem]) -> str | None:
    by_id = [t for t, (suffix, _) in TRACK_MARKS.items() if entry.id.lower().endswith(suffix)]
    by_name = [t for t, (_, mark) in TRACK_MARKS.items() if mark in name.lower()]
    if len(by_name) > 1:
        problems.append(doc.problem(("levels", entry.index, "name"), (
            f"levels[{entry.index}].name: names both tracks ({TRACK_MARKS[by_name[0]][1]} "
            f"and {TRACK_MARKS[by_name[1]][1]}); a level is on one track or shared")))
        return None
    if by_id and by_name and by_id != by_name:
        problems.append(doc.problem(("levels", entry.index, "name"),
                                    f"levels[{entry.index}].name: says track '{by_name[0]}', "
                                    f"but its id says '{by_id[0]}'"))
        return None
    found = by_id or by_name
    return found[0] if found else None


def _entries(doc: Document, key: str, problems: list[Problem], warnings: list[Problem]
             ) -> list[Entry]:
    """The well-formed entries of the list ``key``, in file order; every malformed or
    repeated one reported."""
    items = doc.data.get(key)
    if not isinstance(items, list) or not items:
        problems.append(doc.problem((key,), f"{key}: must be a non-empty list"))
        return []
    out: list[Entry] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        loc: Loc = (key, i)
        if not isinstance(item, dict):
            problems.append(doc.problem(loc, f"{dotted(loc)}: must be a mapping"))
            continue
        warnings.extend(_unknown_keys(doc, loc, item, ITEM_KEYS[key]))
        item_id = _id(doc, loc, item.get("id"), problems)
        if item_id is None:
            continue
        if item_id in first:
            line = doc.locate((key, first[item_id], "id"))[0]
            problems.append(doc.problem((*loc, "id"), f"{dotted(loc)}.id: duplicate id "
                                        f"'{item_id}' (first at line {line})"))
            continue
        first[item_id] = i
        out.append(Entry(i, item_id, item))
    return out


def _id(doc: Document, loc: Loc, value: Any, problems: list[Problem]) -> str | None:
    """An entry's id, or None with a problem. A competency's id (a UUID, which is
    case-insensitive) is lower-cased; a theme's must already be an id (roles name it)."""
    where = f"{dotted(loc)}.id"
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(doc.problem(loc, f"{where}: required field is missing"))
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    if loc[0] == "levels" and text:
        return text
    if loc[0] == "competencies":
        text = text.lower()
    if not re.fullmatch(ID_PATTERN, text) or len(text) > 120:
        problems.append(doc.problem((*loc, "id"), f"{where}: must be an id: lower-case "
                                    f"letters, digits, '.', '_' or '-' (got {shorten(repr(value))})"))
        return None
    return text


def _known(doc: Document, key: str, ids: list[str]) -> set[str] | None:
    """The ids of the list ``key``, or None when one of its entries was malformed (then
    what a competency refers to cannot be told from a mistake)."""
    return set(ids) if len(ids) == len(doc.data.get(key) or []) else None


def _check_competencies(doc: Document, competencies: list[Entry],
                        known_ids: dict[str, set[str] | None], problems: list[Problem]
                        ) -> None:
    for entry in competencies:
        loc: Loc = ("competencies", entry.index)
        for field, known in known_ids.items():
            value = entry.data.get(field)
            if value is None:
                problems.append(doc.problem(loc, f"{dotted(loc)}.{field}: required field is "
                                            "missing"))
            elif known is not None and str(value) not in known:
                problems.append(doc.problem((*loc, field), f"{dotted(loc)}.{field}: unknown "
                                            f"{field} {shorten(repr(value))} (known: "
                                            f"{', '.join(sorted(known))})"))
        if "summary" not in entry.data:
            problems.append(doc.problem(loc, f"{dotted(loc)}.summary: required field is "
                                        "missing"))
        elif not readable(entry.data["summary"]):
            problems.append(doc.problem((*loc, "summary"), f"{dotted(loc)}.summary: must be a "
                                        "non-empty text"))


def _topic(theme: Entry, competencies: list[Entry], numbers: dict[str, int]
           ) -> dict[str, Any]:
    criteria = [{"id": c.id, "level": numbers[str(c.data["level"])],
                 "text": readable(c.data["summary"])}
                for c in competencies
                if str(c.data["theme"]) == theme.id and str(c.data["level"]) in numbers]
    return {"id": theme.id, "title": _text(theme.data.get("name")) or theme.id,
            "description": readable(theme.data.get("summary")) or None,
            "criteria": sorted(criteria, key=lambda c: c["level"])}


def readable(text: Any) -> str:
    """A summary as one paragraph a line: the lines of a wrapped paragraph joined by a
    space, each numbered item ("1. ...") and each paragraph after a blank line starting a
    new line."""
    if not isinstance(text, str):
        return ""
    paragraphs: list[list[str]] = []
    fresh = True
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            fresh = True
            continue
        if fresh or _ITEM_START.match(line):
            paragraphs.append([])
        paragraphs[-1].append(line)
        fresh = False
    return "\n".join(" ".join(p) for p in paragraphs)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _unknown_keys(doc: Document, loc: Loc, item: dict[str, Any], known: tuple[str, ...]
                  ) -> list[Problem]:
    ignored = FT_IGNORED.get(str(loc[0]) if loc else "", set())
    where = f"{dotted(loc)}." if loc else ""
    return [doc.problem((*loc, key), f"{where}{key}: unknown key ignored",
                        severity=Severity.WARNING)
            for key in item if key not in known and key not in ignored]
