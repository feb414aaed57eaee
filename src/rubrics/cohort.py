"""Synthetic panels for the calibration demo, tests and benchmark: many real packs, each
with scorecards from interviewers whose leniency and noise are known.

One pack is built, then copied per candidate with its own pack id and candidate
(``copy_pack``, which the benchmarks use too); each scorecard is written as the HTML form's saved
file and stored through the real ``rubrics.submit.submit``, so every pack verifies.

The model: a candidate has a latent strength; a criterion is harder the further its level
lies above the role's target; an interviewer adds their own bias (``lenient``, in rating
points, negative for severe) and noise (``noisy``, the standard deviation of their
error), and leaves a criterion unassessed now and then. Interviews fall over two months
from ``start``; each scorecard is returned 0-3 days after its interview (its log time is
set to that day: the generator stands in for the clock, the log's chain is real).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rubrics.fsutil import atomic_write, sha256_bytes
from rubrics.log import genesis, write_genesis
from rubrics.samples import GENERIC_EVIDENCE, GENERIC_NOTES, html_export, sample_email

FIRST = ["Amara", "Bruno", "Chiara", "Dmitri", "Esi", "Farah", "Goran", "Hana", "Ivan", "Jun",
         "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Pooja", "Quentin", "Rosa", "Sven", "Tala"]
LAST = ["Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
        "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okoye", "Petrov", "Quinn",
        "Rossi", "Silva", "Tanaka"]
START = date(2026, 9, 1)
DAYS = 61  # two months of interviews
NOISE = 0.45
UNASSESSED = 0.04


@dataclass(frozen=True)
class SampleInterviewer:
    name: str
    email: str
    bias: float
    """Added to every rating before rounding: positive is lenient, negative severe."""
    noise: float


@dataclass
class Cohort:
    packs: list[Path] = field(default_factory=list)
    interviewers: list[SampleInterviewer] = field(default_factory=list)


def interviewer_name(k: int) -> str:
    """The k-th sample interviewer's name (distinct for k < 400)."""
    first, round_ = k % len(FIRST), k // len(FIRST)
    return f"{FIRST[first]} {LAST[(7 * first + round_) % len(LAST)]}"


def make_cohort(workspace_root: Path | None, role_id: str, out_dir: Path, n_candidates: int,
                n_interviewers: int, seed: int, *, lenient: dict[str, float] | None = None,
                noisy: dict[str, float] | None = None, stages: int | None = None,
                start: date = START, fixed_stages: bool = False,
                noise: float = NOISE) -> Cohort:
    """``n_candidates`` packs of ``role_id`` in ``out_dir`` (``c0000``, ``c0001``...), the first
    ``stages`` stages of each (all by default) returned by distinct interviewers drawn from
    ``n_interviewers``; ``lenient`` and ``noisy`` map an interviewer's name to their bias
    and noise (``noise`` for the rest). With ``fixed_stages`` interviewer k always runs stage
    k mod ``stages`` (as real loops staff them) instead of any stage. The same arguments give
    the same scorecards."""
    from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
    from rubrics.workspace import Workspace

    ws = Workspace.open(workspace_root)
    loop, _, role_source = ws.loop_with_source(role_id)
    filled = len(loop.role.stages) if stages is None else stages
    if not 0 < filled <= len(loop.role.stages) or n_interviewers < filled:
        raise ValueError(f"{filled} stages need 1-{len(loop.role.stages)} stages and at least "
                         f"as many interviewers (got {n_interviewers})")
    names = [interviewer_name(k) for k in range(n_interviewers)]
    unknown = sorted((set(lenient or {}) | set(noisy or {})) - set(names))
    if unknown:
        raise ValueError(f"not among the {n_interviewers} sample interviewers: "
                         f"{', '.join(unknown)} (the first is {names[0]})")
    cohort = Cohort(interviewers=[SampleInterviewer(
        n, sample_email(n), (lenient or {}).get(n, 0.0), (noisy or {}).get(n, noise))
        for n in names])
    with tempfile.TemporaryDirectory(prefix="rubrics-cohort-") as tmp:
        built = build_pack(loop, role_source, Candidate("Seed"),
                           PackOptions(out=Path(tmp), formats=("html",)), pack_templates(ws, None))
        for i in range(n_candidates):
            pack = copy_pack(built.path, out_dir / f"c{i:04d}", f"cohort-{seed}-{i:04d}",
                             {"name": f"Candidate {i:04d}", "id": f"c{i:04d}"},
                             start.isoformat())
            _return_scorecards(pack, cohort.interviewers, loop.role.target_level, filled,
                               random.Random(f"{seed}:{i}"), start, Path(tmp),  # noqa: S311
                               fixed_stages)
            cohort.packs.append(pack)
    return cohort


def copy_pack(seed_pack: Path, target: Path, pack_id: str, candidate: dict[str, Any],
              day: str) -> Path:
    """A copy of ``seed_pack`` at ``target`` with its own pack id, candidate and log (a
    genesis entry anchored to its own manifest, dated ``day``): a real pack, made in
    milliseconds, for cohorts and benchmarks."""
    shutil.copytree(seed_pack, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["pack_id"] = pack_id
    manifest["candidate"] = {"email": None, "anonymous": False, **candidate}
    manifest_bytes = json.dumps(manifest).encode("utf-8")
    atomic_write(target / "manifest.json", manifest_bytes)
    shutil.rmtree(target / "submissions")
    write_genesis(target / "submissions", genesis(pack_id, sha256_bytes(manifest_bytes), day))
    return target


def _return_scorecards(pack: Path, people: list[SampleInterviewer], target: int, filled: int,
                       rnd: random.Random, start: date, tmp: Path, fixed: bool = False) -> None:
    """Each of the first ``filled`` stages scored by its own interviewer (with ``fixed``, one
    of those who run that stage), submitted through ``rubrics.submit`` on the day it came
    back."""
    from rubrics.submit import submit

    manifest = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    strength = rnd.gauss(0.0, 0.7)
    first_day = start + timedelta(days=rnd.randrange(DAYS - 10))
    panel = rnd.sample(people, filled) if not fixed else [
        rnd.choice(people[n::filled]) for n in range(filled)]
    for n, (stage, who) in enumerate(zip(manifest["stages"], panel, strict=False)):
        day = first_day + timedelta(days=n + rnd.randrange(3))
        answers = scorecard(stage, who, strength, target, rnd)
        answers["interviewed_on"] = day.isoformat()
        returned = tmp / f"{pack.name}-{stage['id']}.json"
        returned.write_text(html_export(manifest, stage["id"], answers), encoding="utf-8")
        at = datetime(day.year, day.month, day.day, 17, tzinfo=UTC) + timedelta(
            days=rnd.choice([0, 0, 1, 1, 2, 3]), minutes=rnd.randrange(600))
        with _clock(at):
            submit(pack, [returned])
        returned.unlink()


def scorecard(stage: dict[str, object], who: SampleInterviewer, strength: float, target: int,
              rnd: random.Random) -> dict[str, object]:
    """One interviewer's answers for one stage of a candidate of the given strength."""
    ratings: dict[str, int | None] = {}
    evidence: dict[str, str] = {}
    errors = []
    criteria = stage["criteria"]
    assert isinstance(criteria, list)
    for cid in criteria:
        match = re.search(r"\.l(\d+)\.", cid)
        difficulty = 0.6 * ((int(match.group(1)) if match else target) - target)
        error = who.bias + rnd.gauss(0.0, who.noise)
        if rnd.random() < UNASSESSED:
            ratings[cid] = None
            continue
        ratings[cid] = max(1, min(4, round(2.6 + strength - difficulty + error)))
        evidence[cid] = GENERIC_EVIDENCE
        errors.append(strength + error)
    mean = 2.6 + sum(errors) / len(errors) if errors else 2.5
    said = ("strong_yes" if mean >= 3.4 else "yes" if mean >= 2.6 else "no" if mean >= 1.9
            else "strong_no")
    return {"interviewer": who.name, "interviewer_email": who.email, "ratings": ratings,
            "evidence": evidence, "red_flags": [], "notes": GENERIC_NOTES,
            "recommendation": said}


@contextmanager
def _clock(at: datetime) -> Iterator[None]:
    """The submit log's clock reading ``at`` (a scorecard returned on its day)."""
    import rubrics.submit

    real = vars(rubrics.submit)["now"]
    setattr(rubrics.submit, "now", lambda: at.replace(microsecond=0).isoformat())  # noqa: B010
    try:
        yield
    finally:
        setattr(rubrics.submit, "now", real)  # noqa: B010


def main(argv: list[str]) -> int:
    """``python -m rubrics.cohort OUT_DIR [--candidates N] [--interviewers N] [--seed N]
    [--lenient NAME=BIAS]...``: packs of the bundled role with returned scorecards."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rubrics.cohort",
                                     description="Synthetic panels for calibration.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--role", default="senior-backend-money-movement")
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--interviewers", type=int, default=9)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--lenient", action="append", default=[], metavar="NAME=BIAS")
    args = parser.parse_args(argv)
    lenient = {}
    for item in args.lenient:
        name, _, bias = item.rpartition("=")
        lenient[name] = float(bias)
    cohort = make_cohort(None, args.role, args.out, args.candidates, args.interviewers,
                         args.seed, lenient=lenient)
    for pack in cohort.packs:
        print(pack)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
