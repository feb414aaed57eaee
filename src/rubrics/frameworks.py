"""Loading frameworks: our native YAML, and the open progression-framework format.

The progression-framework format is a Markdown file whose YAML front matter has
``topics``; each topic has ``name``, ``title`` and ``content`` entries per
``level`` with ``criteria`` (strings) and ``exampleCriteria`` (a criterion with
``examples``). A file inherits from a base framework next to it (``generic``, else
``base``), as the format's site does. See docs/formats.md for how it maps onto
:class:`Framework`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rubrics.errors import InvalidInput, Problem, Severity, display_path, shorten
from rubrics.ftformat import is_ft_job_family, load_ft_job_family
from rubrics.ids import criterion_id, disambiguate, slugify, topic_id
from rubrics.model import Framework
from rubrics.terminal import BIDI_CONTROLS
from rubrics.validation import validate_model
from rubrics.yamlio import Document, Loc, dotted, read_document

FRAMEWORK_SUFFIXES = (".md", ".markdown", ".yaml", ".yml")
PROGRESSION_KEYS = {
    "path", "title", "sidebarTitle", "sidebarGroup", "yaml", "levels", "homepage", "topics",
}  # fmt: skip
BASE_NAMES = ("generic", "base")
"""The base framework a file inherits from: the first of these next to it."""
STUB_HINT = "write its topics and levels, or move the file out of the frameworks folder"
_SUBLEVELS = re.compile(
    r"sub-?levels?[^.]{0,40}?labell?ed\s+([A-Z])\s*(?:[–—-]|to)\s*([A-Z])", re.IGNORECASE
)


@dataclass(frozen=True)
class _Written:
    """One criterion as a file wrote it, and where."""

    level: int
    text: str
    examples: tuple[str, ...]
    doc: Document
    loc: Loc

    def where(self) -> str:
        return _where(self.doc, self.loc)


def _where(doc: Document, loc: Loc) -> str:
    """``path:line`` of a value, as messages name another file's line."""
    line = doc.locate(loc)[0]
    return display_path(doc.path) + (f":{line}" if line else "")


@dataclass
class _Topic:
    """One topic as a file wrote it: criteria not yet inherited, ids not yet derived."""

    id: str
    name: str
    title: str
    loc: Loc
    levels: set[int] = field(default_factory=set)
    criteria: list[_Written] = field(default_factory=list)


@dataclass
class _Read:
    """A progression-framework file, read and checked, before inheritance."""

    doc: Document
    topics: list[_Topic]
    declared: int | None
    warnings: list[Problem]


def is_progression_format(data: Any) -> bool:
    topics = data.get("topics") if isinstance(data, dict) else None
    return isinstance(topics, list) and any(
        isinstance(t, dict) and "content" in t for t in topics
    )


def load_framework(path: Path, *, track: str | None = None) -> tuple[Framework, list[Problem]]:
    """Load one framework file (of a framework with tracks, ``track``: docs/decisions/0012);
    return it with its warnings, or raise InvalidInput."""
    doc = read_document(path)
    if path.suffix.lower() in (".yaml", ".yml") and is_ft_job_family(doc.data):
        return load_ft_job_family(doc, path, track)
    if path.suffix.lower() in (".md", ".markdown") or is_progression_format(doc.data):
        read = _read(doc)
        base, base_path, notes = (None, None, []) if path.stem in BASE_NAMES else _base_of(
            path, doc)
        framework = _build(read, path, base, base_path)  # (adds its warnings to read.warnings)
        return framework, [*read.warnings, *notes]
    framework = validate_model(Framework, doc)
    return framework, doc.warnings


# --------------------------------------------------------------------------- the base


def base_file(folder: Path) -> Path | None:
    """The base framework of the progression files in ``folder``: ``generic.*``, else
    ``base.*``; None when there is neither."""
    for stem in BASE_NAMES:
        for suffix in FRAMEWORK_SUFFIXES:
            if (folder / (stem + suffix)).is_file():
                return folder / (stem + suffix)
    return None


def _base_of(path: Path, doc: Document) -> tuple[_Read | None, Path | None, list[Problem]]:
    """The base next to ``path``: read, its file, and why nothing is inherited from it when
    it does not load."""
    found = base_file(path.parent)
    if found is None:
        return None, None, []
    read, notes = _load_base(found, doc)
    return read, found, notes


def _load_base(path: Path, child: Document) -> tuple[_Read | None, list[Problem]]:
    """A base in any framework format, as :func:`load_framework` reads it (a job family
    with tracks: its first track); or a warning naming its first problem."""
    try:
        doc = read_document(path)
        if path.suffix.lower() in (".yaml", ".yml") and is_ft_job_family(doc.data):
            return _native(doc, load_ft_job_family(doc, path, None)[0], ft=True), []
        if path.suffix.lower() in (".md", ".markdown") or is_progression_format(doc.data):
            read = _read(doc)
            _build(read, path, None)  # a base that would not load is no base
            return read, []
        return _native(doc, validate_model(Framework, doc)), []
    except InvalidInput as exc:
        errors = [p for p in exc.problems if p.severity == Severity.ERROR] or exc.problems
        more = f" (and {_count(len(errors) - 1, 'more problem')})" if len(errors) > 1 else ""
        note = (f"topics: the base framework {display_path(path)} does not load, so nothing "
                f"is inherited from it: {errors[0]}{more}")
        return None, [child.problem(("topics",), note, Severity.WARNING)]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _native(doc: Document, framework: Framework, *, ft: bool = False) -> _Read:
    """A native framework (or an FT job family's, ``ft``) as a base: its topics and
    criteria, located in its file."""
    if ft:
        themes = {e.get("id"): ("themes", i) for i, e in enumerate(doc.data["themes"])
                  if isinstance(e, dict)}
        found = {str(e.get("id")).lower(): ("competencies", i)
                 for i, e in enumerate(doc.data["competencies"]) if isinstance(e, dict)}
    topics = []
    for ti, t in enumerate(framework.topics):
        tloc: Loc = themes.get(t.id, ("themes",)) if ft else ("topics", ti)
        criteria = [_Written(c.level, c.text, tuple(c.examples), doc,
                             found.get(c.id, ("competencies",)) if ft
                             else ("topics", ti, "criteria", ci))
                    for ci, c in enumerate(t.criteria)]
        topics.append(_Topic(t.id, t.id, t.title, tloc, set(t.levels), criteria))
    return _Read(doc, topics, len(framework.levels), [])


# --------------------------------------------------------------------------- reading


def _read(doc: Document) -> _Read:
    """Check a progression file's front matter; raise InvalidInput with every problem."""
    data = doc.data
    if not isinstance(data, dict):
        raise InvalidInput([doc.problem((), "front matter must be a mapping of keys to values")])
    warnings = list(doc.warnings) + _unknown_keys(doc, (), data, PROGRESSION_KEYS)
    topics_raw = data.get("topics")
    if not isinstance(topics_raw, list) or not topics_raw:
        if data.get("levels") == 0:
            raise InvalidInput([doc.problem(("levels",), "levels: 0 and no topics: a blank "
                                            f"stub, not a framework; hint: {STUB_HINT}")])
        raise InvalidInput([doc.problem(("topics",), "topics: must be a non-empty list")])
    problems: list[Problem] = []
    topics: list[_Topic] = []
    for ti, raw in enumerate(topics_raw):
        topic = _read_topic(doc, ("topics", ti), raw, problems, warnings)
        if topic is not None:
            topics.append(topic)
    problems += _duplicate_topics(doc, topics)
    declared, problem = _levels(doc, data.get("levels"), any(t.criteria for t in topics))
    if problem is not None:
        problems.append(problem)
    if problems:
        raise InvalidInput(problems)
    return _Read(doc, topics, declared, warnings)


def _levels(doc: Document, declared: Any, has_criteria: bool) -> tuple[int | None, Problem | None]:
    if declared is None:
        return None, None
    if isinstance(declared, int) and not isinstance(declared, bool) and declared >= 1:
        return declared, None
    if declared == 0 and not isinstance(declared, bool) and not has_criteria:
        return None, doc.problem(("levels",), "levels: 0 and no criteria: a blank stub, not a "
                                 f"framework; hint: {STUB_HINT}")
    return None, doc.problem(("levels",), "levels: must be a positive whole number (got "
                             f"{shorten(repr(declared))}); hint: set it to how many levels "
                             "the framework has")


def _duplicate_topics(doc: Document, topics: list[_Topic]) -> list[Problem]:
    first: dict[str, _Topic] = {}
    problems = []
    for topic in topics:
        if topic.id in first:
            problems.append(doc.problem((*topic.loc, "name"), (
                f"{dotted(topic.loc)}.name: gives the topic id '{topic.id}', as "
                f"{dotted(first[topic.id].loc)} does; rename one of them")))
        first.setdefault(topic.id, topic)
    return problems


def _unknown_keys(doc: Document, loc: Loc, raw: dict[Any, Any], known: set[str]) -> list[Problem]:
    return [doc.problem((*loc, key), f"unknown key '{key}' ignored", severity=Severity.WARNING)
            for key in raw if key not in known]


def _read_topic(doc: Document, tloc: Loc, raw: Any, problems: list[Problem],
                warnings: list[Problem]) -> _Topic | None:
    if not isinstance(raw, dict):
        problems.append(doc.problem(tloc, f"{dotted(tloc)}: must be a mapping"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(doc.problem((*tloc, "name"), f"{dotted(tloc)}.name: must be a non-empty text"))
        return None
    warnings += _unknown_keys(doc, tloc, raw, {"name", "title", "content", "description"})
    topic = _Topic(topic_id(name), name.strip(), _text(raw.get("title")), tloc)
    content = raw.get("content")
    if content is None:
        return topic
    if not isinstance(content, list):
        problems.append(doc.problem((*tloc, "content"), f"{dotted(tloc)}.content: must be a list"))
        return None
    for ci, entry in enumerate(content):
        _read_entry(doc, (*tloc, "content", ci), entry, topic, problems, warnings)
    return topic


def _read_entry(doc: Document, eloc: Loc, entry: Any, topic: _Topic, problems: list[Problem],
                warnings: list[Problem]) -> None:
    if not isinstance(entry, dict):
        problems.append(doc.problem(eloc, f"{dotted(eloc)}: must be a mapping"))
        return
    level = entry.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 20:
        problems.append(
            doc.problem((*eloc, "level"), f"{dotted(eloc)}.level: must be a whole number 1-20")
        )
        return
    topic.levels.add(level)
    warnings += _unknown_keys(doc, eloc, entry, {"level", "criteria", "exampleCriteria"})
    for k, text in enumerate(_list(doc, entry, (*eloc, "criteria"), problems, warnings)):
        cloc: Loc = (*eloc, "criteria", k)
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = str(text)
        if _blank(text):
            warnings.append(_placeholder(doc, cloc))
        elif not isinstance(text, str):
            problems.append(doc.problem(cloc, f"{dotted(cloc)}: must be a text"))
        else:
            topic.criteria.append(_Written(level, text.strip(), (), doc, cloc))
    for k, ex in enumerate(_list(doc, entry, (*eloc, "exampleCriteria"), problems, warnings)):
        written = _read_example(doc, (*eloc, "exampleCriteria", k), level, ex, problems, warnings)
        if written is not None:
            topic.criteria.append(written)


def _list(doc: Document, entry: dict[str, Any], loc: Loc, problems: list[Problem],
          warnings: list[Problem]) -> list[Any]:
    """The list at ``loc``; an empty value (``""``, ``0``, ``false``) is a placeholder
    (warned), any other value that is not a list an error."""
    value = entry.get(str(loc[-1]))
    if value is None or isinstance(value, list):
        return value or []
    if not value or (isinstance(value, str) and not value.strip()):
        warnings.append(_placeholder(doc, loc))
    else:
        problems.append(doc.problem(loc, f"{dotted(loc)}: must be a list"))
    return []


def _blank(text: Any) -> bool:
    """``- ""`` or a bare ``-``: a criterion not yet written."""
    return text is None or (isinstance(text, str) and not text.strip())


def _placeholder(doc: Document, loc: Loc) -> Problem:
    return doc.problem(loc, f"{dotted(loc)}: empty criterion skipped (a placeholder for a "
                       "level not yet written?)", Severity.WARNING)


def _read_example(doc: Document, xloc: Loc, level: int, ex: Any, problems: list[Problem],
                  warnings: list[Problem]) -> _Written | None:
    if not isinstance(ex, dict):
        problems.append(doc.problem(xloc, f"{dotted(xloc)}: must be a mapping with criteria "
                                    "and examples"))
        return None
    text, examples = ex.get("criteria"), ex.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        problems.append(doc.problem((*xloc, "examples"),
                                    f"{dotted(xloc)}.examples: must be a list of texts"))
        examples = []
    if _blank(text) and not examples:
        warnings.append(_placeholder(doc, (*xloc, "criteria")))
        return None
    if not isinstance(text, str) or not text.strip():
        problems.append(doc.problem(xloc, f"{dotted(xloc)}.criteria: must be a non-empty text"))
        return None
    kept = tuple(e.strip() for e in examples if e.strip())
    return _Written(level, text.strip(), kept, doc, xloc)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _title_from_name(name: str) -> str:
    words = re.sub(r"[-_]+", " ", name).strip()
    return words[:1].upper() + words[1:]


# --------------------------------------------------------------------------- building


def _build(read: _Read, path: Path, base: _Read | None, base_path: Path | None = None
           ) -> Framework:
    """The framework a file describes, with what it inherits from ``base`` (read from
    ``base_path``; None with a path: that base does not load)."""
    doc = read.doc
    base_topics = {t.id: t for t in base.topics} if base is not None else {}
    own_top = max((lv for t in read.topics for lv in t.levels), default=0)
    count = _level_count(read, base_topics, own_top)
    topics: list[dict[str, Any]] = []
    present = own_top
    for topic in read.topics:
        base_topic = base_topics.get(topic.id)
        inherited = [c for c in (base_topic.criteria if base_topic else []) if c.level <= count]
        present = max([present, *(c.level for c in inherited)])
        if not topic.criteria and not inherited:
            read.warnings.append(_empty_topic(doc, topic, base, base_topic, base_path))
        criteria = _criteria(topic, [*topic.criteria, *inherited], read.warnings)
        title = _title(doc, topic, base, base_topic, read.warnings)
        topics.append({"id": topic.id, "title": title, "criteria": criteria})
    if count == 0:
        raise InvalidInput([doc.problem(("topics",), "topics: no criteria and no levels: a "
                                        f"blank stub, not a framework; hint: {STUB_HINT}")])
    if read.declared is not None and read.declared != present:
        read.warnings.append(doc.problem(("levels",), (
            f"levels: says {read.declared}, but criteria go up to level {present}; "
            f"using {count}"), Severity.WARNING))
    raw = {
        "id": slugify(path.stem, max_words=12) or "framework",
        "title": _text(doc.data.get("title")) or _text(doc.data.get("sidebarTitle"))
        or _title_from_name(path.stem),
        "description": _text(doc.data.get("path")),
        "levels": [{"number": n} for n in range(1, count + 1)],
        "sub_levels": _sub_levels(doc.body),
        "topics": topics,
    }
    return validate_model(Framework, doc, raw)


def _level_count(read: _Read, base_topics: dict[str, _Topic], own_top: int) -> int:
    """The file's ``levels``, or else the highest level it inherits; raised to the highest
    level of its own criteria (a file's own criteria are never dropped)."""
    if read.declared is not None:
        return max(read.declared, own_top)
    inheritable = [c.level for t in read.topics if t.id in base_topics
                   for c in base_topics[t.id].criteria]
    return max([own_top, *inheritable])


def _empty_topic(doc: Document, topic: _Topic, base: _Read | None,
                 base_topic: _Topic | None, base_path: Path | None) -> Problem:
    if base is None and base_path is not None:
        why = f"and its base {display_path(base_path)} does not load"
    elif base is None:
        why = "and no base framework (generic.md or base.md) is next to the file"
    elif base_topic is None:
        why = f"and its base {display_path(base.doc.path)} has no topic of that name"
    else:
        why = f"and its base {display_path(base.doc.path)} gives none at these levels"
    return doc.problem(topic.loc, f"{dotted(topic.loc)}: topic '{topic.name}' has no "
                       f"criteria, {why}", Severity.WARNING)


def _title(doc: Document, topic: _Topic, base: _Read | None, base_topic: _Topic | None,
           warnings: list[Problem]) -> str:
    """The base's title wins, as on the format's site; else the file's, else the name's."""
    if base is None or base_topic is None or not base_topic.title:
        return topic.title or _title_from_name(topic.name)
    if topic.title and topic.title != base_topic.title:
        where = _where(base.doc, (*base_topic.loc, "title"))
        warnings.append(doc.problem((*topic.loc, "title"), (
            f"{dotted(topic.loc)}.title: shown as the base's '{shorten(base_topic.title)}' "
            f"({where}), as the format's site shows it"), Severity.WARNING))
    return base_topic.title


def _criteria(topic: _Topic, written: list[_Written], warnings: list[Problem]
              ) -> list[dict[str, Any]]:
    """Criteria with ids, one per distinct text and level, in level order (each level's own
    criteria before the inherited ones, as the format's site lists them)."""
    by_level: dict[int, dict[str, _Written]] = {}
    for item in written:
        same = by_level.setdefault(item.level, {})
        if item.text in same:
            first = same[item.text]
            same[item.text] = _Written(first.level, first.text, first.examples + item.examples,
                                       first.doc, first.loc)
        else:
            same[item.text] = item
    out: list[dict[str, Any]] = []
    for level in sorted(by_level):
        items = list(by_level[level].values())
        ids, collided = disambiguate(topic.id, level, [c.text for c in items])
        for cid in sorted(collided):
            warnings.append(_collision(cid, [c for c in items
                                             if criterion_id(topic.id, level, c.text) == cid]))
        for cid, item in zip(ids, items, strict=True):
            out.append({"id": cid, "level": level, "text": item.text,
                        "examples": list(item.examples)})
    return out


def _collision(cid: str, items: list[_Written]) -> Problem:
    first, others = items[0], items[1:]
    return first.doc.problem(first.loc, (
        f"{dotted(first.loc)}: shares the id '{cid}' with {', '.join(o.where() for o in others)}; "
        "each got a hash suffix (reword one opening to keep ids readable)"), Severity.WARNING)


def _sub_levels(body: str) -> list[str]:
    match = _SUBLEVELS.search(body)
    if not match:
        return []
    first, last = match.group(1).upper(), match.group(2).upper()
    return [chr(c) for c in range(ord(first), ord(last) + 1)] if first <= last else []


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes a text holding a direction control (which PyYAML
    would write as it is), so that the control can be written as an escape."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if BIDI_CONTROLS.intersection(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def framework_to_yaml(framework: Framework) -> str:
    """Our native format, as rubrics writes it: readable Unicode, with direction controls
    (which would reorder the lines a terminal or editor shows) as ``\\u202E`` escapes;
    PyYAML already escapes the other control characters."""
    data = framework.model_dump(mode="json", exclude_none=True)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04X}", text)  # (only in "-quoted texts)
