"""What the figures are computed over: scorecards with their interviewer and candidate, and
the loop (stages, criteria, topics) they were rated against."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rubrics.aggregation.evidence import NO_SIDE, YES_SIDE
from rubrics.calibration.collect import PackData, Scorecard
from rubrics.identity import email_key, people
from rubrics.model import Recommendation
from rubrics.roles import InterviewLoop

YES = frozenset(r.value for r in YES_SIDE)
NO = frozenset(r.value for r in NO_SIDE)
RECOMMENDATIONS = tuple(r.value for r in Recommendation)
HIRE_SIDE = frozenset({"hire", "hire_below_target"})


@dataclass(frozen=True, slots=True)
class Seen:
    """One scorecard, by whom, of which candidate."""

    pack: PackData
    person: str
    card: Scorecard


@dataclass
class LoopMeta:
    """The stages, criteria and topics of a role, in the loop's order: only criteria some
    stage assesses, and topics with such a criterion."""

    role_title: str = ""
    stages: dict[str, str] = field(default_factory=dict)
    criteria: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Criterion id -> (topic id, text)."""
    topics: dict[str, str] = field(default_factory=dict)

    def add(self, loop: InterviewLoop) -> None:
        """Add a snapshot of the role (a role edited between packs adds what it added)."""
        self.role_title = self.role_title or loop.role.title
        assessed = {cid for s in loop.role.stages for cid in s.assesses}
        for stage in loop.role.stages:
            self.stages.setdefault(stage.id, stage.title)
        for cid, (area, crit) in loop.criteria.items():
            if cid in assessed:
                self.criteria.setdefault(cid, (area.id, crit.text))
                self.topics.setdefault(area.id, area.title)

    def topic_criteria(self, topic: str) -> list[str]:
        return [cid for cid, (t, _) in self.criteria.items() if t == topic]


@dataclass
class People:
    """Interviewers, identified across every pack as aggregation identifies them within one
    (:mod:`rubrics.identity`): by email when given, else by their folded name; a scorecard
    without an email joins every email used under its name."""

    ids: dict[tuple[str, str | None], str]
    names: dict[str, str]
    emails: dict[str, str | None]
    all_emails: dict[str, list[str]] = field(default_factory=dict)
    """Person -> every email merged into them (sorted)."""

    @classmethod
    def of(cls, packs: list[PackData]) -> People:
        spellings = Counter((c.name, c.email) for p in packs for c in p.cards)
        signatures = sorted(spellings, key=lambda s: (s[0], s[1] or ""))
        ids = dict(zip(signatures, people(signatures), strict=True))
        names: dict[str, tuple[int, str]] = {}
        emails: dict[str, set[str]] = {}
        for sig in signatures:
            person = ids[sig]
            best = names.get(person)
            if best is None or (-spellings[sig], sig[0]) < (-best[0], best[1]):
                names[person] = (spellings[sig], sig[0])
            key = email_key(sig[1])
            emails.setdefault(person, set()).update([key] if key else [])
        return cls(ids, {p: n for p, (_, n) in names.items()},
                   {p: min(e) if e else None for p, e in emails.items()},
                   {p: sorted(e) for p, e in emails.items()})

    def merged(self) -> list[str]:
        """A warning for each interviewer whose distinct emails a scorecard without an email
        joined (rubrics.identity's cautious reading: fewer interviewers, never more)."""
        return [f"interviewer {self.names[p]}: scorecards under {len(e)} emails "
                f"({', '.join(e)}) are counted as one interviewer, joined by scorecards that "
                "give this name without an email" for p, e in self.all_emails.items()
                if len(e) > 1]


def seen_of(packs: list[PackData], who: People, since: str | None) -> list[Seen]:
    """Every scorecard of ``packs`` interviewed on or after ``since``."""
    return [Seen(p, who.ids[(c.name, c.email)], c) for p in packs for c in p.cards
            if since is None or c.interview_date >= since]
