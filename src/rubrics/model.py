"""The hiring domain: frameworks, roles, interview loops.

These pydantic models are the single source of truth for our native file
formats (and their JSON Schema). Our own formats forbid unknown keys so that a
typo in a role file is an error, not a silently ignored field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from rubrics.errors import shorten

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
Identifier = Annotated[
    str,
    StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=120),
]
"""Lower-case letters, digits, '.', '_' and '-': readable and safe in file names."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
LevelNumber = Annotated[int, Field(ge=1, le=20)]



class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --------------------------------------------------------------------------- framework


class Level(Strict):
    """One level of a framework (1..N), optionally named ("Senior")."""

    number: LevelNumber
    name: str | None = None
    summary: str | None = None

    @property
    def label(self) -> str:
        return f"Level {self.number}" + (f" ({self.name})" if self.name else "")


class Criterion(Strict):
    """One observable behaviour expected at one level of one topic."""

    id: Identifier = Field(description="Stable id: survives reordering and new criteria.")
    level: LevelNumber
    text: Text
    examples: list[Text] = Field(default_factory=list)


class Topic(Strict):
    """A dimension of the framework (communication, impact, mastery, ...)."""

    id: Identifier
    title: Text
    description: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)

    def at_level(self, level: int) -> list[Criterion]:
        return [c for c in self.criteria if c.level == level]

    @property
    def levels(self) -> list[int]:
        return sorted({c.level for c in self.criteria})


class Framework(Strict):
    """A progression framework: topics x levels x behaviour criteria."""

    id: Identifier
    title: Text
    description: str | None = None
    levels: list[Level] = Field(min_length=1)
    sub_levels: list[Annotated[str, StringConstraints(min_length=1, max_length=8)]] = Field(
        default_factory=list,
        description="Optional steps within a level, e.g. A-E: how many behaviours of the "
        "next level are shown.",
    )
    topics: list[Topic]
    track: Identifier | None = Field(
        default=None,
        description="For a framework with parallel tracks (individual contributor, people "
        "manager): the track these levels and criteria are.",
    )
    tracks: list[Identifier] | None = Field(
        default=None, description="Every track of the framework this one was chosen from."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        if (self.track is None) != (self.tracks is None) or (
                self.track is not None and self.track not in (self.tracks or [])):
            raise ValueError("track must be one of tracks, and tracks given with track")
        numbers = [lv.number for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("levels must be numbered 1, 2, 3, ... in order")
        seen: set[str] = set()
        for topic in self.topics:
            if topic.id in seen:
                raise ValueError(f"duplicate topic id '{topic.id}'")
            seen.add(topic.id)
        crit_ids: set[str] = set()
        for topic in self.topics:
            for c in topic.criteria:
                if c.id in crit_ids:
                    raise ValueError(f"duplicate criterion id '{c.id}'")
                crit_ids.add(c.id)
                if c.level > len(numbers):
                    raise ValueError(
                        f"criterion '{c.id}' is at level {c.level}, "
                        f"but the framework has {len(numbers)} levels"
                    )
        return self

    @property
    def min_level(self) -> int:
        return self.levels[0].number

    @property
    def max_level(self) -> int:
        return self.levels[-1].number

    def level(self, number: int) -> Level:
        return self.levels[number - 1]

    def criteria(self) -> dict[str, tuple[Topic, Criterion]]:
        return {c.id: (t, c) for t in self.topics for c in t.criteria}

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


# --------------------------------------------------------------------------- role


class StageKind(StrEnum):
    SYSTEM_DESIGN = "system_design"
    CODING = "coding"
    BEHAVIOURAL = "behavioural"
    TECHNICAL_DEEP_DIVE = "technical_deep_dive"
    LEADERSHIP = "leadership"
    STAKEHOLDER = "stakeholder"
    SCREEN = "screen"
    OTHER = "other"


class ResponsibilityKind(StrEnum):
    RESPONSIBILITY = "responsibility"
    MEASURED_ON = "measured_on"
    REQUIREMENT = "requirement"
    PREFERRED = "preferred"


class Competency(Strict):
    """A role-specific competency with its own level-anchored criteria.

    It is scored and aggregated exactly like a framework topic.
    """

    id: Identifier
    title: Text
    description: str | None = None
    criteria: list[Criterion] = Field(min_length=1)


class Responsibility(Strict):
    """A line of the job description and the criteria that evidence it."""

    id: Identifier
    kind: ResponsibilityKind = ResponsibilityKind.RESPONSIBILITY
    text: Text
    evidenced_by: list[Identifier] = Field(
        min_length=1,
        description="Framework criterion ids, competency ids or competency criterion ids.",
    )


class LevelAnchor(Strict):
    """What a good answer looks like at one level."""

    level: LevelNumber
    text: Text


class Question(Strict):
    text: Text
    assesses: list[Identifier] = Field(
        default_factory=list,
        description="The stage's focus criteria this question is asked to assess.")
    probes: list[Text] = Field(default_factory=list)
    what_good_looks_like: list[LevelAnchor] = Field(default_factory=list)


RATING_POINTS = (1, 2, 3, 4)
MAX_FOCUS = (5, 8)
"""Focus criteria a stage may rate: (warn over, refuse over). Raters are more accurate
with fewer dimensions (Gaugler & Thornton 1989: 3 against 6 and 9)."""


class FocusCriterion(Strict):
    """A criterion a stage rates, with what each rating point looks like in this stage."""

    id: Identifier
    anchors: dict[Annotated[int, Field(ge=1, le=4)], Text] = Field(
        default_factory=dict,
        description="What a 1, 2, 3 and 4 look like for this criterion in this stage: short, "
        "behavioural, observable. Without them the scorecard derives the points from the "
        "framework's levels.")

    @field_validator("anchors")
    @classmethod
    def _all_four_points(cls, value: dict[int, str]) -> dict[int, str]:
        missing = [str(n) for n in RATING_POINTS if n not in value]
        if value and missing:
            raise ValueError(f"give all four rating points 1, 2, 3 and 4 (missing: "
                             f"{', '.join(missing)})")
        return dict(sorted(value.items()))


FocusEntry = Annotated[
    FocusCriterion,
    BeforeValidator(lambda value: {"id": value} if isinstance(value, str) else value),
    WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": ID_PATTERN, "maxLength": 120,
             "description": "A criterion id (rating points derived from the framework)."},
            {"type": "object", "additionalProperties": False, "required": ["id"],
             "properties": {
                 "id": {"type": "string", "pattern": ID_PATTERN, "maxLength": 120},
                 "anchors": {"type": "object", "additionalProperties": False,
                             "required": ["1", "2", "3", "4"],
                             "properties": {str(n): {"type": "string", "minLength": 1}
                                            for n in RATING_POINTS},
                             "description": "What a 1, 2, 3 and 4 look like in this stage."}}},
        ]
    }),
]
"""A focus criterion written as its id, or as ``{id: ..., anchors: {1: ..., 4: ...}}``."""


class Stage(Strict):
    """One interview of the loop."""

    id: Identifier
    title: Text
    kind: StageKind
    duration_minutes: Annotated[int, Field(ge=5, le=480)]
    interviewer_profile: Text
    candidate_description: Text = Field(
        description="What this stage explores, in words for the candidate (shown in the "
        "candidate packet)."
    )
    focus: list[FocusEntry] = Field(
        default_factory=list,
        description=f"The criteria this stage rates (framework or role competency), at most "
        f"{MAX_FOCUS[0]}; each may carry its own rating anchors.")
    questions: list[Question] = Field(default_factory=list)
    red_flags: list[Text] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _assesses_is_focus(cls, data: Any) -> Any:
        """Roles written before focus criteria named them ``assesses``: still read."""
        if isinstance(data, dict) and "assesses" in data and "focus" not in data:
            data = {("focus" if k == "assesses" else k): v for k, v in data.items()}
        return data

    @property
    def assesses(self) -> tuple[str, ...]:
        """The ids of the criteria this stage rates, in order."""
        return tuple(f.id for f in self.focus)

    def anchors(self, criterion_id: str) -> dict[int, str]:
        """The role's own rating anchors for a focus criterion ({} when it gives none)."""
        return next((dict(f.anchors) for f in self.focus if f.id == criterion_id), {})


class LevelBand(Strict):
    min: LevelNumber
    max: LevelNumber

    @model_validator(mode="after")
    def _ordered(self) -> LevelBand:
        if self.min > self.max:
            raise ValueError(f"band min ({self.min}) is above band max ({self.max})")
        return self


class AggregationRule(Strict):
    """The thresholds of the mechanical rule (docs/aggregation.md)."""

    demonstrated_at: float = Field(
        default=2.5,
        ge=1,
        le=4,
        description="A criterion counts as shown, and a level as passed, when its ratings "
        "average at least this.",
    )
    level_pass_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Not used since rule 2 (a level passes when its ratings average at least "
        "demonstrated_at); accepted so that older role files still load.",
        json_schema_extra={"deprecated": True},
    )
    disagreement_spread: int = Field(
        default=2,
        ge=1,
        le=3,
        description="Interviewers this far apart on a criterion, or on their mean rating of "
        "a topic, are flagged.",
    )
    min_topic_observations: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Independent observations each weighted topic needs before the rule "
        "recommends a hire or a no-hire (else: insufficient_evidence).",
    )
    min_key_ratings: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Ratings each key criterion needs before the rule recommends a hire or a "
        "no-hire (else: insufficient_evidence).",
    )
    high_confidence_raters: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Independent observations (separate interviews) each key criterion and "
        "each weighted topic needs for high confidence.",
    )


class KeyCriterion(Strict):
    """A key criterion: assessed by two stages and, unless ``must_pass`` is false, one a
    hire must show."""

    id: Identifier
    must_pass: bool = Field(
        default=True,
        description="A key criterion not shown rules out a hire; false makes it key for "
        "coverage and confidence only.",
    )


def _key_entry(value: Any) -> Any:
    return {"id": value} if isinstance(value, str) else value


KeyEntry = Annotated[
    KeyCriterion,
    BeforeValidator(_key_entry),
    WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": ID_PATTERN, "maxLength": 120,
             "description": "A criterion id (must pass)."},
            {"type": "object", "additionalProperties": False, "required": ["id"],
             "properties": {"id": {"type": "string", "pattern": ID_PATTERN, "maxLength": 120},
                            "must_pass": {"type": "boolean", "default": True}}},
        ]
    }),
]
"""A key criterion written as its id, or as ``{id: ..., must_pass: false}``."""


class Role(Strict):
    """A role mapped onto a framework, with its interview loop."""

    id: Identifier
    title: Text
    framework: Identifier
    track: Identifier | None = Field(
        default=None,
        description="The framework's track the role is on (e.g. individual-contributor or "
        "people-manager), when the framework has parallel tracks; required then.",
    )
    summary: Text
    candidate_summary: Text = Field(description="The role in words for candidates.")
    target_level: LevelNumber
    band: LevelBand
    competencies: list[Competency] = Field(default_factory=list)
    responsibilities: list[Responsibility] = Field(min_length=1)
    key_criteria: list[KeyEntry] = Field(
        default_factory=list,
        description="The most important criteria: each is assessed by two stages and "
        "(unless must_pass is false) must be shown for a hire.",
    )
    topic_weights: dict[Identifier, Annotated[float, Field(ge=0, le=100)]] = Field(
        description="Weight of each framework topic and role competency in the overall level."
    )
    stages: list[Stage] = Field(min_length=1)
    aggregation: AggregationRule = Field(default_factory=AggregationRule)
    preparation: list[Text] = Field(
        default_factory=list, description="How candidates can prepare (candidate packet)."
    )
    adjustments: Text = Field(
        default="Tell your recruiter about any adjustments you need; we will arrange them.",
        description="How candidates ask for adjustments (candidate packet).",
    )

    @model_validator(mode="after")
    def _band_holds_target(self) -> Role:
        if not self.band.min <= self.target_level <= self.band.max:
            raise ValueError(
                f"target_level {self.target_level} is outside the band "
                f"{self.band.min}-{self.band.max}"
            )
        return self

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    @property
    def key_ids(self) -> list[str]:
        return [k.id for k in self.key_criteria]

    @property
    def must_pass_ids(self) -> list[str]:
        return [k.id for k in self.key_criteria if k.must_pass]

    def competency_criteria(self) -> dict[str, tuple[Competency, Criterion]]:
        return {c.id: (comp, c) for comp in self.competencies for c in comp.criteria}


# --------------------------------------------------------------------------- submission

SUBMISSION_FORMAT = "rubrics-submission/1"
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

Rating = Annotated[int, Field(strict=True, ge=1, le=4)]
"""1 no or contrary evidence, 2 partial, 3 demonstrated, 4 strong."""

RATING_LABELS = {
    1: "No or contrary evidence",
    2: "Partial evidence",
    3: "Demonstrated",
    4: "Strong evidence",
}


class Recommendation(StrEnum):
    STRONG_NO = "strong_no"
    NO = "no"
    YES = "yes"
    STRONG_YES = "strong_yes"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Submission(Strict):
    """What one interviewer returns for one stage: the one format YAML, JSON, the HTML
    form's export and the filled PDF all become."""

    format: Literal["rubrics-submission/1"] = Field(
        default="rubrics-submission/1", description="Format marker and version."
    )
    pack_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    stage: Identifier
    interviewer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=200)]
    interviewer_email: str | None = Field(
        default=None,
        description="The interviewer's email: when given, it identifies the interviewer "
        "across stages and spellings of their name.",
    )
    candidate_id: str | None = None
    ratings: dict[str, Rating | None] = Field(
        description="Every criterion id of the stage: 1-4, or null for not assessed."
    )
    evidence: dict[str, Annotated[str, StringConstraints(max_length=20_000)]] = Field(
        default_factory=dict, description="What the candidate said or did, per criterion."
    )
    red_flags: list[Annotated[str, StringConstraints(max_length=2_000)]] = Field(
        default_factory=list, description="Red flags observed (empty if none)."
    )
    notes: Annotated[str, StringConstraints(max_length=50_000)] = ""
    recommendation: Recommendation
    interviewed_on: date | None = Field(default=None,
                                        description="Date of the interview, YYYY-MM-DD.")

    @field_validator("interviewer")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        why = unsafe_text(value, single_line=True)
        if why:
            raise ValueError(why)
        mixed = mixed_script_word(value)
        if mixed:
            raise ValueError(f"'{mixed}' mixes letters of different scripts (a look-alike "
                             "character?); type the name again")
        return value

    @field_validator("notes", "red_flags", "evidence")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        texts = (value.values() if isinstance(value, dict) else
                 value if isinstance(value, list) else [value])
        for text in texts:
            why = unsafe_text(text, single_line=False)
            if why:
                raise ValueError(why)
        return value

    @field_validator("interviewer_email", mode="before")
    @classmethod
    def _email_or_none(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("write the email as text, e.g. mei.chen@example.com")
        value = value.strip()
        if not value:
            return None
        if len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
            raise ValueError(f"not an email address: {shorten(repr(value))} "
                             "(e.g. mei.chen@example.com)")
        why = unsafe_text(value, single_line=True)
        if why:
            raise ValueError(why)
        return value

    @field_validator("interviewed_on", mode="before")
    @classmethod
    def _empty_date_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return iso_date(value.strip()) if isinstance(value, str) else value


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def iso_date(text: str) -> str:
    """A typed date as YYYY-MM-DD: ISO as it is; 2026/11/20; and 20/11/2026, 20.11.2026 or
    11/20/2026 when only one reading is a date. 03/04/2026 (3 April or 4 March?) is refused,
    never guessed: the interview date is part of the record."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    if found := re.fullmatch(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})", text):
        year, month, day = found.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    found = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if not found:
        raise ValueError(f"write the date as YYYY-MM-DD, e.g. 2026-11-20 (got {shorten(repr(text))})")
    first, second, year = int(found[1]), int(found[2]), found[3]
    if first <= 12 and second <= 12 and first != second:
        raise ValueError(f"{text} could be {first} {MONTHS[second - 1]} or {second} "
                         f"{MONTHS[first - 1]}: write the date as YYYY-MM-DD, e.g. 2026-11-20")
    day, month = (first, second) if first > 12 or first == second else (second, first)
    return f"{year}-{month:02d}-{day:02d}"


BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # str.splitlines' set
JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: spelling in Persian and Indic scripts
JOINING_SCRIPTS = frozenset({
    "ARABIC", "SYRIAC", "NKO", "MONGOLIAN", "DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI",
    "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA"})
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5\u2800\u180e")
"""Characters Unicode counts as printable letters (or marks) that draw nothing: Hangul
fillers, Khmer inherent vowels, the Braille blank. In a name they hide a second person."""
EMOJI_MODIFIERS = frozenset("\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")


def unsafe_text(value: str, *, single_line: bool) -> str | None:
    """Why a text a user gave cannot be kept as it is (terminal escapes and other control
    characters, direction overrides; in a name or email, a line break or any invisible
    character but a joiner that spells a word), or None. Such characters can make a report
    show what the evidence does not say, or two spellings of one name look like one."""
    plain = value if single_line else value.replace("\n", " ").replace("\t", " ")
    if single_line and (blank := next((ch for ch in value if ch in BLANK_LETTERS), None)):
        return f"contains the invisible character U+{ord(blank):04X}; remove it"
    if plain.isprintable():  # no control, format or other invisible character: the usual case
        return None
    for at, ch in enumerate(value):
        category = unicodedata.category(ch)
        if single_line and (ch in LINE_BREAKS or category in ("Zl", "Zp")):
            return f"contains the line break U+{ord(ch):04X}; remove it"
        if ch in "\n\t" and not single_line:
            continue
        if category == "Cc":
            return f"contains the control character U+{ord(ch):04X}; remove it"
        if category == "Cs":
            return lone_surrogate(ch)
        if ch in BIDI_CONTROLS or (single_line and category == "Cf"
                                   and not _spelling_joiner(value, at)):
            return f"contains the invisible character U+{ord(ch):04X}; remove it"
    return None


def lone_surrogate(text: str) -> str | None:
    """Why ``text`` cannot be kept: it holds a lone surrogate (no character; UTF-8 cannot
    write it, so nothing could keep it), named by its first one; or None."""
    if text.isascii():
        return None
    bad = next((ch for ch in text if unicodedata.category(ch) == "Cs"), None)
    return None if bad is None else f"contains a lone surrogate U+{ord(bad):04X}; remove it"


def _spelling_joiner(value: str, at: int) -> bool:
    """Whether the ZWNJ or ZWJ at ``at`` is part of how the text is spelled: between two
    letters of one script that joins (Persian می‌خواهم, Hindi क्‍ष), or a ZWJ inside an emoji
    sequence (👩‍💼). Anywhere else a joiner only hides a difference between two names."""
    if value[at] not in JOINERS or at == 0 or at == len(value) - 1:
        return False
    before, after = value[at - 1], value[at + 1]
    if value[at] == "\u200d" and unicodedata.category(after) == "So" and (
            unicodedata.category(before) == "So" or before in EMOJI_MODIFIERS):
        return True
    scripts = {_script(before), _script(after)}
    return len(scripts) == 1 and scripts <= JOINING_SCRIPTS and all(
        unicodedata.category(ch)[0] in "LM" for ch in (before, after))


def _script(ch: str) -> str:
    """The script a character belongs to, as the first word of its Unicode name."""
    return unicodedata.name(ch, "").split(" ")[0]


LOOK_ALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})


def mixed_script_word(name: str) -> str | None:
    """A word of ``name`` that mixes letters of two scripts (Latin and Cyrillic look-alikes),
    or None: two spellings that look the same must not count as two interviewers."""
    for word in name.split():
        scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in word if ch.isalpha()}
        if len(scripts & LOOK_ALIKE_SCRIPTS) > 1:  # (kanji with kana is a normal name)
            return word
    return None


def interviewer_key(name: str) -> str:
    """How two spellings of one interviewer's name are recognised as the same person."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
