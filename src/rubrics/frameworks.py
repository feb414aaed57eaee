"""Loading frameworks: our native YAML, and the open progression-framework format.

The progression-framework format is a Markdown file whose YAML front matter has
``topics``; each topic has ``name``, ``title`` and ``content`` entries per
``level`` with ``criteria`` (strings) and ``exampleCriteria`` (a criterion with
``examples``). See docs/formats.md for how it maps onto :class:`Framework`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rubrics.errors import InvalidInput, Problem, Severity
from rubrics.ftformat import is_ft_job_family, load_ft_job_family
from rubrics.ids import disambiguate, slugify
from rubrics.model import Framework
from rubrics.validation import validate_model
from rubrics.yamlio import Document, Loc, read_document

FRAMEWORK_SUFFIXES = (".md", ".markdown", ".yaml", ".yml")
PROGRESSION_KEYS = {
    "path", "title", "sidebarTitle", "sidebarGroup", "yaml", "levels", "homepage", "topics",
}  # fmt: skip
GENERIC_BASE = "generic"
_SUBLEVELS = re.compile(
    r"sub-?levels?[^.]{0,40}?labell?ed\s+([A-Z])\s*(?:[–—-]|to)\s*([A-Z])", re.IGNORECASE
)


def is_progression_format(data: Any) -> bool:
    topics = data.get("topics") if isinstance(data, dict) else None
    return isinstance(topics, list) and any(
        isinstance(t, dict) and "content" in t for t in topics
    )


def load_framework(path: Path, *, base: Framework | None = None, track: str | None = None
                   ) -> tuple[Framework, list[Problem]]:
    """Load one framework file (of a framework with tracks, ``track``: docs/decisions/0011);
    return it with its warnings, or raise InvalidInput."""
    doc = read_document(path)
    if path.suffix.lower() in (".yaml", ".yml") and is_ft_job_family(doc.data):
        return load_ft_job_family(doc, path, track)
    if path.suffix.lower() in (".md", ".markdown") or is_progression_format(doc.data):
        if base is None and path.stem != GENERIC_BASE:
            base = _sibling_base(path)
        return _from_progression(doc, path, base)
    framework = validate_model(Framework, doc)
    return framework, doc.warnings


def _sibling_base(path: Path) -> Framework | None:
    for suffix in FRAMEWORK_SUFFIXES:
        candidate = path.with_name(GENERIC_BASE + suffix)
        if candidate.is_file():
            try:
                framework, _ = load_framework(candidate)
            except InvalidInput:
                return None  # reported when the base itself is validated
            return framework
    return None


def _title_from_name(name: str) -> str:
    words = re.sub(r"[-_]+", " ", name).strip()
    return words[:1].upper() + words[1:]


def _from_progression(
    doc: Document, path: Path, base: Framework | None
) -> tuple[Framework, list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = list(doc.warnings)
    data = doc.data
    if not isinstance(data, dict):
        raise InvalidInput([doc.problem((), "front matter must be a mapping of keys to values")])
    for key in data:
        if key not in PROGRESSION_KEYS:
            warnings.append(
                doc.problem((key,), f"unknown key '{key}' ignored", severity=Severity.WARNING)
            )

    topics_raw = data.get("topics")
    if not isinstance(topics_raw, list) or not topics_raw:
        raise InvalidInput([doc.problem(("topics",), "topics: must be a non-empty list")])

    topics: list[dict[str, Any]] = []
    seen_levels: set[int] = set()
    for ti, topic_raw in enumerate(topics_raw):
        tloc: Loc = ("topics", ti)
        if not isinstance(topic_raw, dict):
            problems.append(doc.problem(tloc, f"topics[{ti}]: must be a mapping"))
            continue
        topic = _topic(doc, tloc, topic_raw, base, problems, warnings, seen_levels)
        if topic is not None:
            topics.append(topic)

    declared = data.get("levels")
    present = max(seen_levels, default=0)
    count = present
    if declared is not None:
        if isinstance(declared, bool) or not isinstance(declared, int) or declared < 1:
            problems.append(doc.problem(("levels",), "levels: must be a positive whole number"))
        else:
            if declared != present:
                warnings.append(
                    doc.problem(
                        ("levels",),
                        f"levels: says {declared}, but criteria go up to level {present}; "
                        f"using {max(declared, present)}",
                        severity=Severity.WARNING,
                    )
                )
            count = max(declared, present)
    if problems:
        raise InvalidInput(problems)

    title = _text(data.get("title")) or _text(data.get("sidebarTitle"))
    framework_id = slugify(path.stem, max_words=12) or "framework"
    if not title:
        title = _title_from_name(path.stem)
    sub_levels: list[str] = []
    match = _SUBLEVELS.search(doc.body)
    if match:
        first, last = match.group(1).upper(), match.group(2).upper()
        if first <= last:
            sub_levels = [chr(c) for c in range(ord(first), ord(last) + 1)]
    raw = {
        "id": framework_id,
        "title": title,
        "description": _text(data.get("path")),
        "levels": [{"number": n} for n in range(1, count + 1)],
        "sub_levels": sub_levels,
        "topics": topics,
    }
    return validate_model(Framework, doc, raw), warnings


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _topic(
    doc: Document,
    tloc: Loc,
    raw: dict[str, Any],
    base: Framework | None,
    problems: list[Problem],
    warnings: list[Problem],
    seen_levels: set[int],
) -> dict[str, Any] | None:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(doc.problem((*tloc, "name"), f"{_dot(tloc)}.name: must be a non-empty text"))
        return None
    topic_id = slugify(name, max_words=12)
    base_topic = base.topic(topic_id) if base is not None else None
    title = _text(raw.get("title"))
    if not title:
        title = base_topic.title if base_topic is not None else _title_from_name(name.strip())
    for key in raw:
        if key not in ("name", "title", "content", "description"):
            warnings.append(
                doc.problem((*tloc, key), f"unknown key '{key}' ignored", severity=Severity.WARNING)
            )

    by_level: dict[int, list[tuple[str, list[str], Loc]]] = {}
    if base_topic is not None:
        for c in base_topic.criteria:
            by_level.setdefault(c.level, []).append((c.text, list(c.examples), tloc))
    content = raw.get("content")
    if content is None:
        content = []
    if not isinstance(content, list):
        problems.append(doc.problem((*tloc, "content"), f"{_dot(tloc)}.content: must be a list"))
        return None
    for ci, entry in enumerate(content):
        eloc: Loc = (*tloc, "content", ci)
        if not isinstance(entry, dict):
            problems.append(doc.problem(eloc, f"{_dot(eloc)}: must be a mapping"))
            continue
        level = entry.get("level")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 20:
            problems.append(
                doc.problem((*eloc, "level"), f"{_dot(eloc)}.level: must be a whole number 1-20")
            )
            continue
        seen_levels.add(level)
        items = by_level.setdefault(level, [])
        for key in entry:
            if key not in ("level", "criteria", "exampleCriteria"):
                warnings.append(
                    doc.problem(
                        (*eloc, key), f"unknown key '{key}' ignored", severity=Severity.WARNING
                    )
                )
        criteria = entry.get("criteria") or []
        if not isinstance(criteria, list):
            problems.append(doc.problem((*eloc, "criteria"), f"{_dot(eloc)}.criteria: must be a list"))
            criteria = []
        for k, text in enumerate(criteria):
            cloc: Loc = (*eloc, "criteria", k)
            if isinstance(text, int | float) and not isinstance(text, bool):
                text = str(text)
            if not isinstance(text, str) or not text.strip():
                problems.append(doc.problem(cloc, f"{_dot(cloc)}: must be a non-empty text"))
                continue
            items.append((text.strip(), [], cloc))
        examples = entry.get("exampleCriteria") or []
        if not isinstance(examples, list):
            problems.append(
                doc.problem((*eloc, "exampleCriteria"), f"{_dot(eloc)}.exampleCriteria: must be a list")
            )
            examples = []
        for k, ex in enumerate(examples):
            xloc: Loc = (*eloc, "exampleCriteria", k)
            text = ex.get("criteria") if isinstance(ex, dict) else None
            if not isinstance(text, str) or not text.strip():
                problems.append(
                    doc.problem(xloc, f"{_dot(xloc)}.criteria: must be a non-empty text")
                )
                continue
            ex_list = ex.get("examples") or []
            if not isinstance(ex_list, list) or not all(isinstance(e, str) for e in ex_list):
                problems.append(
                    doc.problem((*xloc, "examples"), f"{_dot(xloc)}.examples: must be a list of texts")
                )
                ex_list = []
            items.append((text.strip(), [e.strip() for e in ex_list if e.strip()], xloc))

    criteria_out: list[dict[str, Any]] = []
    for level in sorted(by_level):
        unique: dict[str, tuple[list[str], Loc]] = {}
        for text, examples, loc in by_level[level]:
            if text in unique:
                if examples:
                    unique[text] = (unique[text][0] + examples, unique[text][1])
                continue
            unique[text] = (examples, loc)
        texts = list(unique)
        ids, collided = disambiguate(topic_id, level, texts)
        for cid in sorted(collided):
            warnings.append(
                doc.problem(
                    tloc,
                    f"criteria at level {level} of '{topic_id}' share the id '{cid}'; "
                    "each got a hash suffix (reword their openings to keep ids readable)",
                    severity=Severity.WARNING,
                )
            )
        for cid, text in zip(ids, texts, strict=True):
            criteria_out.append(
                {"id": cid, "level": level, "text": text, "examples": unique[text][0]}
            )
    return {"id": topic_id, "title": title, "criteria": criteria_out}


def _dot(loc: Loc) -> str:
    from rubrics.validation import dotted

    return dotted(loc)


def framework_to_yaml(framework: Framework) -> str:
    """Our native format, as rubrics writes it."""
    data = framework.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
