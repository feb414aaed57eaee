"""Roles and their interview loops, checked against their framework.

How big a loop may be (:func:`size_problems`). Past the first number no interview can
use it and ``rubrics validate`` warns; past the second it is refused as absurd (it would
take minutes to hours and gigabytes to render: a role of 10,000 criteria ran over 15
minutes and 5.7 GB making its PDFs), by ``validate`` and so by ``pack``:

=================================================  =========  ===========
size                                               warn over  refuse over
=================================================  =========  ===========
stages in the loop                                 16         50
focus criteria one stage rates                     5          8
lines on one scorecard (*)                         250        1,000
characters on one scorecard                        50,000     200,000
lines on all the scorecards of the loop            -          6,000
characters on all the scorecards of the loop       -          1,200,000
characters of one text of the role that a          2,000      20,000 (the
scorecard shows (criterion, example, question,                file format)
probe, what-good-looks-like, red flag)
=================================================  =========  ===========

(*) a line is a criterion, each of its examples and of the behaviours of its area one
level below and above (the scorecard shows them as anchors), each question, probe,
what-good-looks-like and red flag. The bundled role's largest scorecard has about 90
lines and 11,000 characters.

Measured on two busy CPUs, before stages were limited to 5 focus criteria: a loop at
every warning limit of the time (16 stages of 12 criteria, 244 lines and 48,600
characters a scorecard) packs as HTML in 2.3 s (50 MB) and as PDF in
7.5 minutes (220 MB at most, one document at a time); one just inside the refusal limits
(6 stages of 954-line scorecards, 5,724 lines and 1.14 million characters in all) in
2.1 s and 8.3 minutes (220 MB).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrics.errors import InvalidInput, Problem, Severity
from rubrics.model import MAX_FOCUS, Competency, Criterion, Framework, Role, Stage, Topic
from rubrics.validation import validate_model
from rubrics.yamlio import Document, read_document


@dataclass(frozen=True)
class Area:
    """Something the loop levels a candidate on: a framework topic or a role competency."""

    id: str
    title: str
    kind: str  # "topic" | "competency"
    criteria: tuple[Criterion, ...]

    def at_level(self, level: int) -> list[Criterion]:
        return [c for c in self.criteria if c.level == level]


@dataclass(frozen=True)
class CoverageRow:
    criterion: Criterion
    area: Area
    stages: tuple[str, ...]
    key: bool

    @property
    def gap(self) -> bool:
        return not self.stages


@dataclass
class InterviewLoop:
    """A role resolved against its framework: everything a pack or aggregate needs."""

    role: Role
    framework: Framework
    areas: dict[str, Area] = field(default_factory=dict)
    criteria: dict[str, tuple[Area, Criterion]] = field(default_factory=dict)
    _coverage: list[CoverageRow] | None = field(default=None, repr=False, compare=False)
    _positions: dict[str, int] | None = field(default=None, repr=False, compare=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """What others derive from the loop alone, kept with it (a thousand packs share one)."""

    @classmethod
    def build(cls, role: Role, framework: Framework) -> InterviewLoop:
        loop = cls(role=role, framework=framework)
        for topic in framework.topics:
            loop._add(_area_from_topic(topic))
        for comp in role.competencies:
            loop._add(_area_from_competency(comp))
        return loop

    def _add(self, area: Area) -> None:
        self.areas[area.id] = area
        for c in area.criteria:
            self.criteria[c.id] = (area, c)

    def expand(self, ref: str) -> list[str]:
        """Criterion ids a reference names: a criterion id, or every criterion of a competency."""
        if ref in self.criteria:
            return [ref]
        area = self.areas.get(ref)
        if area is not None and area.kind == "competency":
            return [c.id for c in area.criteria]
        return []

    def role_criteria(self) -> list[str]:
        """Every criterion the role cares about, in framework order."""
        wanted: set[str] = set()
        for resp in self.role.responsibilities:
            for ref in resp.evidenced_by:
                wanted.update(self.expand(ref))
        for stage in self.role.stages:
            wanted.update(cid for cid in stage.assesses if cid in self.criteria)
        wanted.update(k for k in self.role.key_ids if k in self.criteria)
        return [cid for cid in self.criteria if cid in wanted]

    def stages_assessing(self, criterion_id: str) -> list[Stage]:
        return [s for s in self.role.stages if criterion_id in s.assesses]

    def position(self, criterion_id: str) -> int:
        """Where a criterion comes in the loop's areas (framework topics, then competencies)."""
        if self._positions is None:
            self._positions = {cid: n for n, cid in enumerate(self.criteria)}
        return self._positions[criterion_id]

    def coverage(self) -> list[CoverageRow]:
        if self._coverage is None:
            self._coverage = self._build_coverage()
        return self._coverage

    def _build_coverage(self) -> list[CoverageRow]:
        key = set(self.role.key_ids)
        rows = []
        for cid in self.role_criteria():
            area, crit = self.criteria[cid]
            stages = tuple(s.id for s in self.stages_assessing(cid))
            rows.append(CoverageRow(crit, area, stages, cid in key))
        return rows

    def anchors(self, criterion_id: str) -> tuple[list[Criterion], list[Criterion]]:
        """Behaviours of the same area one level below and one level above."""
        area, crit = self.criteria[criterion_id]
        return area.at_level(crit.level - 1), area.at_level(crit.level + 1)

    def area_of(self, criterion_id: str) -> Area:
        return self.criteria[criterion_id][0]


def _area_from_topic(topic: Topic) -> Area:
    return Area(topic.id, topic.title, "topic", tuple(topic.criteria))


def _area_from_competency(comp: Competency) -> Area:
    return Area(comp.id, comp.title, "competency", tuple(comp.criteria))


def read_role(path: Path) -> tuple[Role, Document]:
    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise InvalidInput([doc.problem((), "a role file must be a mapping of keys to values")])
    return validate_model(Role, doc), doc


def track_problem(role: Role, framework: Framework, doc: Document) -> Problem | None:
    """Why the role's ``track`` does not fit its framework's tracks, or None
    (docs/decisions/0012-framework-tracks.md)."""
    tracks, fid = framework.tracks or [], framework.id
    if role.track is None and tracks:
        return doc.problem(("framework",), f"track: required for framework '{fid}', which "
                           f"has tracks: {', '.join(tracks)}")
    if role.track is None or role.track == framework.track:
        return None
    if not tracks:
        return doc.problem(("track",), f"track: framework '{fid}' has no tracks; remove "
                           f"'track: {role.track}'")
    if role.track not in tracks:
        return doc.problem(("track",), f"track: unknown track '{role.track}' of framework "
                           f"'{fid}' (known: {', '.join(tracks)})")
    return doc.problem(("track",), f"track: this copy of framework '{fid}' holds only "
                       f"track '{framework.track}'")


def check_role(role: Role, framework: Framework, doc: Document, *,
               other_tracks: dict[str, str] | None = None) -> list[Problem]:
    """Every problem of a role against its framework, errors and warnings; a criterion id
    found in ``other_tracks`` (id: the other track of the framework it is on) is named
    as on that track."""
    problems: list[Problem] = []
    track = track_problem(role, framework, doc)
    if track is not None:
        return [track]  # checked against another track, every criterion would be noise
    loop = InterviewLoop.build(role, framework)
    sizes = size_problems(role, loop, doc)
    if any(p.is_error for p in sizes):
        return sizes  # too big to check further: some checks would take minutes on it
    problems.extend(sizes)
    known = list(loop.criteria)

    def unknown(ref: str, loc: tuple[str | int, ...], what: str) -> None:
        if other_tracks and ref in other_tracks:
            problems.append(doc.problem(loc, f"{what}: criterion '{ref}' is on the "
                                        f"{other_tracks[ref]} track, not {framework.track}"))
            return
        hint = difflib.get_close_matches(ref, known + list(loop.areas), n=1, cutoff=0.6)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        problems.append(doc.problem(loc, f"{what}: unknown criterion '{ref}'{extra}"))

    # Competency ids must not clash with framework topics or criteria.
    for ci, comp in enumerate(role.competencies):
        if framework.topic(comp.id) is not None:
            problems.append(
                doc.problem(
                    ("competencies", ci, "id"),
                    f"competencies[{ci}].id: '{comp.id}' is already a topic of framework "
                    f"'{framework.id}'",
                )
            )
        for k, crit in enumerate(comp.criteria):
            loc = ("competencies", ci, "criteria", k)
            if crit.id in framework.criteria():
                problems.append(
                    doc.problem(
                        (*loc, "id"),
                        f"competencies[{ci}].criteria[{k}].id: '{crit.id}' is already a "
                        "framework criterion",
                    )
                )
            _check_level(framework, crit.level, doc, (*loc, "level"), problems,
                         f"competencies[{ci}].criteria[{k}].level")
    _duplicates(
        [c.id for comp in role.competencies for c in comp.criteria], doc, ("competencies",),
        "competency criterion id", problems,
    )
    _duplicates([c.id for c in role.competencies], doc, ("competencies",), "competency id",
                problems)

    for field_name, value in (("target_level", role.target_level), ):
        _check_level(framework, value, doc, (field_name,), problems, field_name)
    _check_level(framework, role.band.min, doc, ("band", "min"), problems, "band.min")
    _check_level(framework, role.band.max, doc, ("band", "max"), problems, "band.max")

    _duplicates([r.id for r in role.responsibilities], doc, ("responsibilities",),
                "responsibility id", problems)
    for ri, resp in enumerate(role.responsibilities):
        for k, ref in enumerate(resp.evidenced_by):
            if not loop.expand(ref):
                unknown(ref, ("responsibilities", ri, "evidenced_by", k),
                        f"responsibilities[{ri}].evidenced_by[{k}]")

    for k, ref in enumerate(role.key_ids):
        if ref not in loop.criteria:
            unknown(ref, ("key_criteria", k), f"key_criteria[{k}]")

    _duplicates(role.key_ids, doc, ("key_criteria",), "key criterion", problems)
    for k, key in enumerate(role.key_criteria):
        if key.must_pass and key.id in loop.criteria:
            level = loop.criteria[key.id][1].level
            if level > role.target_level:
                problems.append(doc.problem(
                    ("key_criteria", k),
                    f"key_criteria[{k}]: must-pass criterion '{key.id}' is at level {level}, "
                    f"above the target level {role.target_level}: no hire at the target level "
                    "could be recommended without it; mark it must_pass: false unless that is "
                    "meant", Severity.WARNING))
    if role.aggregation.level_pass_fraction is not None:
        problems.append(doc.problem(
            ("aggregation", "level_pass_fraction"),
            "aggregation.level_pass_fraction: no longer used: since rule 2 a level passes when "
            "its ratings average at least demonstrated_at (docs/aggregation.md); remove it",
            Severity.WARNING))

    for topic_id in role.topic_weights:
        if topic_id not in loop.areas:
            problems.append(
                doc.problem(
                    ("topic_weights", topic_id),
                    f"topic_weights.{topic_id}: no topic or competency '{topic_id}' "
                    f"(known: {', '.join(loop.areas)})",
                )
            )
    if role.topic_weights and sum(role.topic_weights.values()) <= 0:
        problems.append(doc.problem(("topic_weights",), "topic_weights: weights add up to 0"))

    seen_stage: dict[str, int] = {}
    for si, stage in enumerate(role.stages):
        sloc = ("stages", si)
        if stage.id in seen_stage:
            problems.append(
                doc.problem((*sloc, "id"), f"stages[{si}].id: duplicate stage id '{stage.id}' "
                            f"(also stages[{seen_stage[stage.id]}])")
            )
        seen_stage.setdefault(stage.id, si)
        problems.extend(_focus_problems(stage, si, doc, loop, unknown))
        for qi, q in enumerate(stage.questions):
            for ai, anchor in enumerate(q.what_good_looks_like):
                _check_level(framework, anchor.level, doc,
                             (*sloc, "questions", qi, "what_good_looks_like", ai, "level"),
                             problems,
                             f"stages[{si}].questions[{qi}].what_good_looks_like[{ai}].level")

    weighted = {a for a, w in role.topic_weights.items() if w > 0}
    _check_observable(role, loop, doc, weighted, problems)
    for row in loop.coverage():
        cid = row.criterion.id
        if row.gap:
            problems.append(
                doc.problem(_referenced_at(role, loop, cid),
                            f"criterion '{cid}' is part of the role but no stage assesses it")
            )
        elif row.key and len(row.stages) < 2:
            problems.append(
                doc.problem(
                    ("key_criteria", role.key_ids.index(cid)),
                    f"key criterion '{cid}' is assessed by only one stage "
                    f"({row.stages[0]}); key criteria need two",
                    Severity.WARNING,
                )
            )
        if row.area.id not in weighted:
            problems.append(
                doc.problem(
                    ("topic_weights",),
                    f"'{row.area.id}' has assessed criteria but no weight in topic_weights",
                    Severity.WARNING,
                )
            )
    return _unique(problems)


def _focus_key(doc: Document, si: int) -> str:
    """The key a stage's focus criteria are under in the file: ``focus``, or ``assesses`` in
    roles written before focus criteria."""
    stages = doc.data.get("stages") if isinstance(doc.data, dict) else None
    stage = stages[si] if isinstance(stages, list) and si < len(stages) else None
    return "assesses" if isinstance(stage, dict) and "assesses" in stage else "focus"


def _focus_problems(stage: Stage, si: int, doc: Document, loop: InterviewLoop,
                    unknown: Any) -> list[Problem]:
    """A stage's focus criteria: known, listed once, few enough to rate well, each asked
    about by a question, and every question asking about one of them."""
    key = _focus_key(doc, si)
    floc: tuple[str | int, ...] = ("stages", si, key)
    problems: list[Problem] = []
    if key == "assesses":
        problems.append(doc.problem(floc, f"stages[{si}].assesses: renamed 'focus' (the "
                                    "criteria this stage rates); rename the key",
                                    Severity.WARNING))
    n = len(stage.focus)
    if not n:
        problems.append(doc.problem(("stages", si), f"stages[{si}]: stage '{stage.id}' "
                                    "assesses nothing (no focus criteria)"))
    elif n > MAX_FOCUS[0]:  # (over MAX_FOCUS[1] is refused by size_problems)
        problems.append(doc.problem(
            floc, f"stages[{si}].{key}: {n} focus criteria, more than {MAX_FOCUS[0]}: raters "
            f"are more accurate with fewer; keep {MAX_FOCUS[0]} or fewer and let another stage "
            "assess the rest", Severity.WARNING))
    seen: set[str] = set()
    for k, ref in enumerate(stage.assesses):
        if ref not in loop.criteria:
            unknown(ref, (*floc, k), f"stages[{si}].{key}[{k}]")
        if ref in seen:
            problems.append(doc.problem((*floc, k),
                                        f"stages[{si}].{key}[{k}]: '{ref}' is listed twice"))
        seen.add(ref)
    problems.extend(_question_links(stage, si, doc))
    return problems


def _question_links(stage: Stage, si: int, doc: Document) -> list[Problem]:
    """Each question names the focus criteria it assesses; each focus criterion has one."""
    problems: list[Problem] = []
    focus = set(stage.assesses)
    asked: set[str] = set()
    for qi, q in enumerate(stage.questions):
        qloc: tuple[str | int, ...] = ("stages", si, "questions", qi)
        if not q.assesses:
            problems.append(doc.problem(qloc, f"stages[{si}].questions[{qi}]: assesses no "
                                        "focus criterion; add `assesses: [criterion ids]`",
                                        Severity.WARNING))
        for k, ref in enumerate(q.assesses):
            if ref not in focus:
                problems.append(doc.problem(
                    (*qloc, "assesses", k), f"stages[{si}].questions[{qi}].assesses[{k}]: "
                    f"'{ref}' is not a focus criterion of stage '{stage.id}'"))
            asked.add(ref)
    if stage.questions:
        for k, ref in enumerate(stage.assesses):
            if ref not in asked:
                problems.append(doc.problem(
                    ("stages", si, _focus_key(doc, si), k),
                    f"stages[{si}]: no question assesses focus criterion '{ref}'",
                    Severity.WARNING))
    return problems


MAX_STAGES = (16, 50)
MAX_SCORECARD_LINES = (250, 1_000)
MAX_SCORECARD_CHARS = (50_000, 200_000)
MAX_LOOP_LINES = 6_000
MAX_LOOP_CHARS = 1_200_000
MAX_TEXT_CHARS = 2_000
MAX_PACKET_CHARS = 100_000
"""(warn over, refuse over) for each size of a loop; see the module's docstring."""


def size_problems(role: Role, loop: InterviewLoop, doc: Document) -> list[Problem]:
    """Sizes no interview loop can use (warnings) and sizes too absurd to render (errors).

    Cheap on any role the format admits (counted per area and level, never per pair of
    criteria), and short: the worst size of each stage, then of the loop, one line each.
    """
    n_stages = len(role.stages)
    stages_loc: tuple[str | int, ...] = ("stages",)
    if n_stages > MAX_STAGES[1]:
        return [doc.problem(stages_loc, f"stages: {n_stages:,} stages, more than "
                            f"{MAX_STAGES[1]:,}: rubrics makes no loop that long")]
    problems: list[Problem] = []
    per_level = _anchor_sizes(loop)
    loop_lines = loop_chars = 0
    for si, stage in enumerate(role.stages):
        n = len(stage.focus)
        if n > MAX_FOCUS[1]:
            key = _focus_key(doc, si)
            problems.append(doc.problem(
                ("stages", si, key), f"stages[{si}].{key}: {n:,} focus criteria, more than "
                f"{MAX_FOCUS[1]}: no interviewer rates that many well in one interview; keep "
                f"{MAX_FOCUS[0]} or fewer and let another stage assess the rest"))
            continue
        lines, chars = _scorecard_size(loop, stage, per_level)
        loop_lines += lines
        loop_chars += chars
        card = f"stages[{si}]: the scorecard of stage '{stage.id}' would have"
        if lines > MAX_SCORECARD_LINES[1] or chars > MAX_SCORECARD_CHARS[1]:
            size = (f"{lines:,} lines, more than {MAX_SCORECARD_LINES[1]:,}"
                    if lines > MAX_SCORECARD_LINES[1] else
                    f"{chars:,} characters, more than {MAX_SCORECARD_CHARS[1]:,}")
            problems.append(doc.problem(("stages", si), f"{card} {size}: rubrics makes no "
                                        "scorecard that long; split the stage or its areas"))
        elif lines > MAX_SCORECARD_LINES[0] or chars > MAX_SCORECARD_CHARS[0]:
            size = (f"{lines:,} lines, more than {MAX_SCORECARD_LINES[0]:,}"
                    if lines > MAX_SCORECARD_LINES[0] else
                    f"{chars:,} characters, more than {MAX_SCORECARD_CHARS[0]:,}")
            problems.append(doc.problem(("stages", si), f"{card} {size}: too long to use in "
                                        "an interview (each criterion shows the behaviours "
                                        "of its area one level below and above: are the "
                                        "areas too big?)", Severity.WARNING))
    if any(p.is_error for p in problems):  # the stages first; the loop's size follows
        return [p for p in problems if p.is_error]
    packet = _packet_chars(role)
    if packet > MAX_PACKET_CHARS:
        return [doc.problem(("candidate_summary",), f"the candidate packet would have "
                            f"{packet:,} characters (candidate_summary, preparation, "
                            f"adjustments, each stage's candidate_description), more than "
                            f"{MAX_PACKET_CHARS:,}: rubrics makes no packet that long")]
    if loop_lines > MAX_LOOP_LINES or loop_chars > MAX_LOOP_CHARS:
        size = (f"{loop_lines:,} lines, more than {MAX_LOOP_LINES:,}"
                if loop_lines > MAX_LOOP_LINES else
                f"{loop_chars:,} characters, more than {MAX_LOOP_CHARS:,}")
        problems.append(doc.problem(stages_loc, f"stages: the loop's scorecards would have "
                                    f"{size}: rubrics makes no loop that big"))
    elif n_stages > MAX_STAGES[0]:
        problems.append(doc.problem(stages_loc, f"stages: {n_stages:,} stages, more than "
                                    f"{MAX_STAGES[0]:,}: no candidate sits that many "
                                    "interviews", Severity.WARNING))
    if any(p.is_error for p in problems):  # what refuses the role, and nothing else
        return [p for p in problems if p.is_error]
    for loc, text in _role_texts(role):
        if len(text) > MAX_TEXT_CHARS:
            when = ("during an interview" if loc[0] == "competencies" or loc[2:3] in (
                ("questions",), ("red_flags",)) else "at a glance")
            problems.append(doc.problem(loc, f"{_dotted(loc)}: {len(text):,} characters, more "
                                        f"than {MAX_TEXT_CHARS:,}: too long to read {when}; "
                                        "shorten it", Severity.WARNING))
    return problems


def _anchor_sizes(loop: InterviewLoop) -> dict[tuple[str, int], tuple[int, int]]:
    """(area id, level) -> (criteria, characters of their texts): what a scorecard shows as
    the anchors one level below or above, counted once per area and level."""
    sizes: dict[tuple[str, int], tuple[int, int]] = {}
    for area in loop.areas.values():
        for c in area.criteria:
            n, chars = sizes.get((area.id, c.level), (0, 0))
            sizes[area.id, c.level] = (n + 1, chars + len(c.text))
    return sizes


def _scorecard_size(loop: InterviewLoop, stage: Stage,
                    per_level: dict[tuple[str, int], tuple[int, int]]) -> tuple[int, int]:
    """(lines, characters) of a stage's scorecard: criteria with their examples and anchors,
    questions with their probes and what-good-looks-like, red flags."""
    lines = chars = 0
    for cid in stage.assesses:
        found = loop.criteria.get(cid)
        if found is None:
            continue  # an unknown id: reported by check_role
        area, crit = found
        lines += 1 + len(crit.examples)
        chars += len(crit.text) + sum(len(e) for e in crit.examples)
        for level in (crit.level - 1, crit.level + 1):
            n, c = per_level.get((area.id, level), (0, 0))
            lines += n
            chars += c
    for q in stage.questions:
        lines += 1 + len(q.probes) + len(q.what_good_looks_like)
        chars += (len(q.text) + sum(len(p) for p in q.probes)
                  + sum(len(a.text) for a in q.what_good_looks_like))
    lines += len(stage.red_flags)
    chars += sum(len(f) for f in stage.red_flags)
    return lines, chars


def _packet_chars(role: Role) -> int:
    """Characters of the role's text the candidate packet prints."""
    return (len(role.candidate_summary) + sum(len(p) for p in role.preparation)
            + len(role.adjustments) + sum(len(s.candidate_description) + len(s.title)
                                          for s in role.stages))


def _role_texts(role: Role) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Where each text of the role that a scorecard, the plan or the packet shows is."""
    for key in ("summary", "candidate_summary", "adjustments"):
        yield (key,), getattr(role, key)
    for k, item in enumerate(role.preparation):
        yield ("preparation", k), item
    for k, resp in enumerate(role.responsibilities):
        yield ("responsibilities", k, "text"), resp.text
    for si, stage in enumerate(role.stages):
        yield ("stages", si, "candidate_description"), stage.candidate_description
        yield ("stages", si, "interviewer_profile"), stage.interviewer_profile
    for ci, comp in enumerate(role.competencies):
        if comp.description:
            yield ("competencies", ci, "description"), comp.description
        for k, crit in enumerate(comp.criteria):
            loc: tuple[str | int, ...] = ("competencies", ci, "criteria", k)
            yield (*loc, "text"), crit.text
            for e, example in enumerate(crit.examples):
                yield (*loc, "examples", e), example
    for si, stage in enumerate(role.stages):
        for qi, q in enumerate(stage.questions):
            qloc: tuple[str | int, ...] = ("stages", si, "questions", qi)
            yield (*qloc, "text"), q.text
            for k, probe in enumerate(q.probes):
                yield (*qloc, "probes", k), probe
            for k, anchor in enumerate(q.what_good_looks_like):
                yield (*qloc, "what_good_looks_like", k, "text"), anchor.text
        for k, flag in enumerate(stage.red_flags):
            yield ("stages", si, "red_flags", k), flag


def _dotted(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else (f".{part}" if i else part)
                   for i, part in enumerate(loc))


def _check_observable(role: Role, loop: InterviewLoop, doc: Document, weighted: set[str],
                      problems: list[Problem]) -> None:
    """A weighted topic that fewer stages assess than the rule needs independent observations
    can never be recommended on: say so when the role is written, not at the debrief."""
    need = role.aggregation.min_topic_observations
    for area_id in sorted(weighted):
        area = loop.areas.get(area_id)
        if area is None:
            continue
        ids = {c.id for c in area.criteria}
        stages = [s.id for s in role.stages if ids.intersection(s.assesses)]
        if len(stages) < need:
            where = ", ".join(stages) or "none"
            problems.append(doc.problem(
                ("topic_weights", area_id),
                f"topic_weights.{area_id}: '{area_id}' is weighted but assessed by "
                f"{len(stages)} stage{'s' if len(stages) != 1 else ''} ({where}); the rule needs "
                f"{need} independent observations (aggregation.min_topic_observations), so it "
                "would always report insufficient_evidence", Severity.WARNING))


def _referenced_at(role: Role, loop: InterviewLoop, cid: str) -> tuple[str | int, ...]:
    """Where the role first asks for a criterion (for locating a coverage gap)."""
    for ri, resp in enumerate(role.responsibilities):
        for k, ref in enumerate(resp.evidenced_by):
            if cid in loop.expand(ref):
                return ("responsibilities", ri, "evidenced_by", k)
    if cid in role.key_ids:
        return ("key_criteria", role.key_ids.index(cid))
    return ("responsibilities",)


def _check_level(framework: Framework, value: int, doc: Document, loc: tuple[str | int, ...],
                 problems: list[Problem], label: str) -> None:
    if not framework.min_level <= value <= framework.max_level:
        problems.append(
            doc.problem(loc, f"{label}: level {value} is outside framework '{framework.id}' "
                        f"(levels {framework.min_level}-{framework.max_level})")
        )


def _duplicates(ids: Iterable[str], doc: Document, loc: tuple[str | int, ...], what: str,
                problems: list[Problem]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            problems.append(doc.problem(loc, f"duplicate {what} '{i}'"))
        seen.add(i)


def _unique(problems: list[Problem]) -> list[Problem]:
    out: list[Problem] = []
    for p in problems:
        if p not in out:
            out.append(p)
    return out
