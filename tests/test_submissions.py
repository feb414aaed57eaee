"""Returned scorecards end to end: submit, verify, amend, aggregate, and what each refuses.

One pack (HTML and PDF) is built for the module, and one valid return per stage is made
with rubrics.samples; every test works on its own copy of both.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import rubrics.log
from rubrics.cli import app
from rubrics.samples import sample_answers, write_samples
from tests.conftest import FIXTURES, ROLE_ID, rel, run_at_once

GENESIS = "0" * 64
# What rubrics.samples returns for this role, in loop order: stage, interviewer, format.
RETURNS = [
    ("hiring-manager-conversation", "Priya Raman", ".yaml"),
    ("system-design-money-movement", "Tomás Álvarez", ".json"),
    ("coding-correctness-concurrency", "Grace Okafor", ".pdf"),
    ("deep-dive-ownership-incidents", "Jonas Weber", ".yaml"),
    ("design-review-exercise", "Mei Chen", ".json"),
    ("leadership-mentoring", "Sam Taylor", ".pdf"),
    ("stakeholder-partnership", "Kwame Mensah", ".yaml"),
]
STAGES = [stage for stage, _, _ in RETURNS]
EMAILS = ["priya.raman@example.com", "tomas.alvarez@example.com", "grace.okafor@example.com",
          "jonas.weber@example.com", "mei.chen@example.com", "sam.taylor@example.com",
          "kwame.mensah@example.com"]
HM = "hiring-manager-conversation"
ORPHAN = ("not in the submission log: left by a submit that was interrupted or is still "
          "writing (never accepted), unless entries were cut from the end of the log")


@dataclass(frozen=True)
class Built:
    pack: Path  # Ada's pack, HTML and PDF
    samples: dict[str, Path]  # stage -> a valid return for Ada's pack
    other: Path  # Bob's pack (HTML only): another candidate, same role
    other_samples: dict[str, Path]


def _make_pack(root: Path, name: str, cid: str, formats: str) -> Path:
    result = CliRunner().invoke(app, ["pack", ROLE_ID, "--candidate", name, "--candidate-id", cid,
                                      "--out", str(root), "--format", formats])
    assert result.exit_code == 0, result.output
    return root / cid


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("built")
    ada = _make_pack(root / "packs", "Ada Lovelace", "ada", "html,pdf")
    bob = _make_pack(root / "packs", "Bob Other", "bob", "html")
    ada_files = write_samples(ada, root / "returns-ada")
    assert [(p.suffix, p.name.startswith(stage))
            for p, (stage, _, _) in zip(ada_files, RETURNS, strict=True)] == [
        (ext, True) for _, _, ext in RETURNS]
    bob_files = write_samples(bob, root / "returns-bob")
    return Built(ada, dict(zip(STAGES, ada_files, strict=True)), bob,
                 {s: p for s in STAGES for p in bob_files if p.name.startswith(s)})


@pytest.fixture
def pack(built: Built, tmp_path: Path) -> Path:
    """This test's own copy of Ada's pack."""
    return Path(shutil.copytree(built.pack, tmp_path / "packs" / "ada"))


@pytest.fixture
def samples(built: Built, tmp_path: Path) -> dict[str, Path]:
    """This test's own copy of the seven valid returns, by stage."""
    folder = Path(shutil.copytree(next(iter(built.samples.values())).parent, tmp_path / "returns"))
    return {stage: folder / path.name for stage, path in built.samples.items()}


def cli(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def snapshot(folder: Path) -> dict[str, str]:
    """Every file (with its SHA-256) and folder under ``folder``."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest()
                                         if p.is_file() else "<dir>")
            for p in sorted(folder.rglob("*"))}


def log_entries(pack: Path) -> list[dict[str, Any]]:
    """The log's submission and decision entries (after the genesis the pack was made with)."""
    return all_entries(pack)[1:]


def all_entries(pack: Path) -> list[dict[str, Any]]:
    text = (pack / "submissions" / "log.jsonl").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries[0]["kind"] == "genesis"
    return entries


def manifest(pack: Path) -> dict[str, Any]:
    return json.loads((pack / "manifest.json").read_text(encoding="utf-8"))


def assert_chained(entries: list[dict[str, Any]], pack: Path | None = None) -> None:
    """The entries after the genesis are numbered from 1 and chained from the genesis."""
    prev = all_entries(pack)[0]["hash"] if pack is not None else GENESIS
    for n, entry in enumerate(entries, 1):
        assert entry["seq"] == n
        assert entry["prev"] == prev
        body = {k: v for k, v in entry.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        assert entry["hash"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        prev = entry["hash"]


def found(n: int) -> str:
    return f"{n} problem{'s' if n != 1 else ''} found"


def refused(n: int) -> str:
    """The last line of a refused submit: nothing was stored."""
    return (found(n) + "; nothing was stored (all files or none): fix the files above and "
            "submit them again")


def at(path: Path, needle: str) -> str:
    """``path:line:col`` of the first occurrence of ``needle`` in the file."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return f"{rel(path)}:{n}:{line.index(needle) + 1}"
    raise AssertionError(f"{needle!r} not in {path}")


def first_rated(yaml_path: Path) -> tuple[str, int]:
    """The first criterion the returned YAML rated, and its rating."""
    m = re.search(r"^  ([a-z0-9._-]+): (\d)$", yaml_path.read_text(encoding="utf-8"), re.MULTILINE)
    assert m, yaml_path
    return m.group(1), int(m.group(2))


def with_rating(src: Path, dest: Path, cid: str, value: str) -> Path:
    text = src.read_text(encoding="utf-8")
    new, n = re.subn(rf"^(  {re.escape(cid)}: )\d$", rf"\g<1>{value}", text, flags=re.MULTILINE)
    assert n == 1
    dest.write_text(new, encoding="utf-8")
    return dest


# --------------------------------------------------------------------------- 1. happy path


def test_seven_returns_are_accepted_logged_and_verified(pack: Path, samples: dict[str, Path]) -> None:
    """Seven returns (one a stage) in three formats (each with the interviewer's email) are accepted in order, kept byte-for-byte behind a hash chain, and verify."""
    files = list(samples.values())
    result = cli("submit", pack, *files)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [f"accepted {n:04d}: {stage} by {who}"
                                          for n, (stage, who, _) in enumerate(RETURNS, 1)]

    entries = log_entries(pack)
    assert len(entries) == len(RETURNS) == 7
    genesis = all_entries(pack)[0]
    assert (genesis["seq"], genesis["prev"], genesis["pack_id"]) == (
        0, GENESIS, manifest(pack)["pack_id"])
    assert genesis["manifest_sha256"] == hashlib.sha256(
        (pack / "manifest.json").read_bytes()).hexdigest()
    assert_chained(entries, pack)
    subs = pack / "submissions"
    stages = manifest(pack)["stages"]
    for n, (entry, src, (stage, who, ext)) in enumerate(zip(entries, files, RETURNS, strict=True)):
        assert (entry["stage"], entry["interviewer"], entry["amends"], entry["reason"]) == (
            stage, who, None, None)
        assert entry["pack_id"] == manifest(pack)["pack_id"]
        assert entry["source_name"] == src.name
        folder = subs / entry["folder"]
        assert entry["folder"].startswith(f"{entry['seq']:04d}-{stage}--")
        assert sorted(p.name for p in folder.iterdir()) == [f"original{ext}", "submission.json"]
        original = folder / f"original{ext}"
        assert original.read_bytes() == src.read_bytes()
        assert entry["original"] == {"path": f"{entry['folder']}/original{ext}",
                                     "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
        normalised = folder / "submission.json"
        assert entry["normalised"]["sha256"] == hashlib.sha256(normalised.read_bytes()).hexdigest()
        # Every format normalises to what the interviewer entered.
        data = json.loads(normalised.read_text(encoding="utf-8"))
        answers = sample_answers(stages[n], n, 7)
        assert (data["stage"], data["interviewer"], data["recommendation"]) == (
            stage, who, answers["recommendation"])
        assert data["interviewer_email"] == answers["interviewer_email"] == EMAILS[n]
        assert data["ratings"] == answers["ratings"]
        assert {k: v for k, v in data["evidence"].items() if v} == answers["evidence"]
    assert sorted(p.name for p in subs.iterdir()) == sorted(
        [e["folder"] for e in entries] + ["log.jsonl", "head.json", ".lock"])

    result = cli("verify", pack)
    assert (result.exit_code, result.output) == (
        0, "ok: pack files and 7 logged submissions verified\n")


# --------------------------------------------------------------------------- 2. refusals


@dataclass
class Ctx:
    dir: Path  # where to write the bad file
    samples: dict[str, Path]
    other_samples: dict[str, Path]
    pack_id: str
    other_pack_id: str

    @property
    def hm(self) -> Path:
        return self.samples[HM]

    def edit(self, name: str, old: str, new: str, src: Path | None = None) -> Path:
        text = (src or self.hm).read_text(encoding="utf-8")
        assert text.count(old) >= 1, old
        dest = self.dir / name
        dest.write_text(text.replace(old, new, 1), encoding="utf-8")
        return dest

    def raw(self, name: str, data: bytes) -> Path:
        dest = self.dir / name
        dest.write_bytes(data)
        return dest


Expected = list[str | re.Pattern[str]]


def case_wrong_pack(c: Ctx) -> tuple[Path, Expected]:
    f = c.raw("from-bob.yaml", c.other_samples[HM].read_bytes())
    return f, [f"{at(f, 'pack_id:')}: pack_id: '{c.other_pack_id}' is not this pack "
               f"('{c.pack_id}'); was it sent for another candidate?",
               f"{at(f, 'candidate_id:')}: candidate_id: 'bob' is not this pack's candidate ('ada')"]


def case_unknown_stage(c: Ctx) -> tuple[Path, Expected]:
    f = c.edit("stage.yaml", f'stage: "{HM}"', 'stage: "pair-programming"')
    return f, [f"{at(f, 'stage:')}: stage: 'pair-programming' is not a stage of this loop "
               f"(stages: {', '.join(STAGES)})"]


def case_criterion_of_another_stage(c: Ctx) -> tuple[Path, Expected]:
    cid, _ = first_rated(c.hm)
    other = "money-movement-correctness.l4.models-money-with-double-entry"  # a coding-stage criterion
    f = c.edit("criterion.yaml", f"  {cid}: ", f"  {other}: ")
    return f, [f"{at(f, other)}: ratings.{other}: not a criterion of stage '{HM}'"]


def case_rating_5(c: Ctx) -> tuple[Path, Expected]:
    cid, _ = first_rated(c.hm)
    f = with_rating(c.hm, c.dir / "five.yaml", cid, "5")
    return f, [f"{at(f, cid)}: ratings.{cid}: must be 1, 2, 3 or 4 (no or contrary evidence, partial, demonstrated, strong), or null if not assessed (got 5)"]


def case_rating_as_string(c: Ctx) -> tuple[Path, Expected]:
    cid, _ = first_rated(c.hm)
    f = with_rating(c.hm, c.dir / "string.yaml", cid, '"3"')
    return f, [f"{at(f, cid)}: ratings.{cid}: must be 1, 2, 3 or 4 (no or contrary evidence, partial, demonstrated, strong), or null if not assessed (got '3')"]


def case_recommendation_maybe(c: Ctx) -> tuple[Path, Expected]:
    text = c.hm.read_text(encoding="utf-8")
    current = re.search(r"^recommendation: .*$", text, re.MULTILINE)
    assert current
    f = c.edit("maybe.yaml", current.group(0), "recommendation: maybe")
    return f, [f"{at(f, 'recommendation: maybe')}: recommendation: must be one of strong_no, "
               "no, yes, strong_yes (got 'maybe')"]


def case_missing_interviewer(c: Ctx) -> tuple[Path, Expected]:
    line = next(x for x in c.hm.read_text(encoding="utf-8").splitlines()
                if x.startswith("interviewer:"))
    f = c.edit("anonymous.yaml", line + "\n", "")
    # A missing key is located at the mapping that should hold it.
    return f, [f"{at(f, 'format:')}: interviewer: required field is missing"]


def case_invalid_email(c: Ctx) -> tuple[Path, Expected]:
    f = c.edit("email.yaml", "interviewer_email: priya.raman@example.com",
               "interviewer_email: priya.raman@example")
    return f, [f"{at(f, 'interviewer_email:')}: interviewer_email: not an email address: "
               "'priya.raman@example' (e.g. mei.chen@example.com)"]


def case_truncated_json(c: Ctx) -> tuple[Path, Expected]:
    text = c.samples["system-design-money-movement"].read_text(encoding="utf-8")
    f = c.raw("truncated.json", text[: len(text) // 2].encode("utf-8"))
    try:
        json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return f, [f"{rel(f)}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"]
    raise AssertionError("half a JSON file parsed")


def case_truncated_pdf(c: Ctx) -> tuple[Path, Expected]:
    data = c.samples["coding-correctness-concurrency"].read_bytes()
    f = c.raw("truncated.pdf", data[: len(data) // 2])
    return f, [re.compile(rf"{re.escape(rel(f))}: cannot read the PDF form \(\w+: .+\)")]


def case_enormous(c: Ctx) -> tuple[Path, Expected]:
    f = c.raw("enormous.yaml", c.hm.read_bytes() + b"# padding\n" * (2 * 1024 * 1024 // 10 + 1))
    size = f.stat().st_size
    assert size > 2 * 1024 * 1024
    return f, [f"{rel(f)}: file is too large ({size:,} bytes; a submission is at most 2,097,152)"]


def case_binary(c: Ctx) -> tuple[Path, Expected]:
    f = c.raw("binary.yaml", (FIXTURES / "bad" / "binary.yaml").read_bytes())
    return f, [f"{rel(f)}: binary file, not text"]


def case_empty(c: Ctx) -> tuple[Path, Expected]:
    f = c.raw("empty.yaml", b"")
    return f, [f"{rel(f)}: file is empty"]


def case_python_tag(c: Ctx) -> tuple[Path, Expected]:
    line = next(x for x in c.hm.read_text(encoding="utf-8").splitlines() if x.startswith("notes:"))
    f = c.edit("tag.yaml", line,
               f'notes: !!python/object/apply:os.system ["touch {c.dir / "pwned"}"]')
    return f, [f"{at(f, '!!python')}: unsupported YAML tag '!!python/object/apply:os.system' "
               "(only plain YAML is read)"]


def case_alias_bomb(c: Ctx) -> tuple[Path, Expected]:
    f = c.raw("bomb.yaml", (FIXTURES / "bad" / "bomb.yaml").read_bytes())
    return f, [f"{rel(f)}: document expands to more than 200,000 values "
               "(too many aliases: an alias bomb?)"]


CASES: list[Callable[[Ctx], tuple[Path, Expected]]] = [
    case_wrong_pack, case_unknown_stage, case_criterion_of_another_stage, case_rating_5,
    case_rating_as_string, case_recommendation_maybe, case_missing_interviewer, case_invalid_email,
    case_truncated_json, case_truncated_pdf, case_enormous, case_binary, case_empty,
    case_python_tag, case_alias_bomb,
]


@pytest.fixture
def ctx(built: Built, samples: dict[str, Path], tmp_path: Path) -> Ctx:
    folder = tmp_path / "bad"
    folder.mkdir()
    return Ctx(folder, samples, built.other_samples, manifest(built.pack)["pack_id"],
               manifest(built.other)["pack_id"])


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__.removeprefix("case_"))
def test_bad_return_is_refused_and_pack_untouched(
        case: Callable[[Ctx], tuple[Path, Expected]], ctx: Ctx, pack: Path) -> None:
    """A bad return is refused with one located line per problem, exit 1, and the pack is left byte-for-byte as it was."""
    bad, expected = case(ctx)
    before = snapshot(pack)
    result = cli("submit", pack, bad)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.output.splitlines()
    assert len(lines) == len(expected) + 1, result.output
    for line, want in zip(lines, expected, strict=False):
        if isinstance(want, re.Pattern):
            assert want.fullmatch(line), line
        else:
            assert line == want
    assert lines[-1] == refused(len(expected))
    assert snapshot(pack) == before
    assert not (ctx.dir / "pwned").exists()


def test_recommendation_no_is_the_string_no(pack: Path, ctx: Ctx) -> None:
    """`recommendation: no` (a boolean in YAML 1.1) is accepted and stored as the string "no"."""
    text = ctx.hm.read_text(encoding="utf-8")
    current = re.search(r"^recommendation: .*$", text, re.MULTILINE)
    assert current
    f = ctx.edit("no.yaml", current.group(0), "recommendation: no")
    result = cli("submit", pack, f)
    assert (result.exit_code, result.output) == (0, f"accepted 0001: {HM} by Priya Raman\n")
    stored = pack / "submissions" / log_entries(pack)[0]["normalised"]["path"]
    assert json.loads(stored.read_text(encoding="utf-8"))["recommendation"] == "no"
    report = json.loads(cli("aggregate", pack, "--format", "json").stdout)
    assert [r["recommendation"] for r in report["recommendations"]] == ["no"]


def test_blank_yaml_filled_with_an_email_is_accepted_and_keeps_it(pack: Path, tmp_path: Path) -> None:
    """The pack's blank YAML scorecard, filled in by hand with a name and an email, is accepted and the normalised copy keeps the email."""
    text = (pack / "scorecards" / f"{HM}.yaml").read_text(encoding="utf-8")
    for old, new in [('interviewer: ""', 'interviewer: "Mei Chen"'),
                     ('interviewer_email: ""', "interviewer_email: mei.chen@example.com"),
                     ("recommendation: null", "recommendation: yes")]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    text = re.sub(r"^(  \S+): null$", r"\g<1>: 3", text, flags=re.MULTILINE)
    text = re.sub(r'^(  \S+): ""$', r'\g<1>: "Walked through it with a worked example."', text,
                  flags=re.MULTILINE)
    assert "interviewer_email: mei.chen@example.com  # your work email" in text, "comment kept"
    filled = tmp_path / "mei.yaml"
    filled.write_text(text, encoding="utf-8")

    result = cli("submit", pack, filled)
    assert (result.exit_code, result.stdout) == (0, f"accepted 0001: {HM} by Mei Chen\n")
    (entry,) = log_entries(pack)
    assert (pack / "submissions" / entry["original"]["path"]).read_bytes() == filled.read_bytes()
    stored = json.loads((pack / "submissions" / entry["normalised"]["path"]).read_text(encoding="utf-8"))
    assert (stored["interviewer"], stored["interviewer_email"]) == ("Mei Chen", "mei.chen@example.com")
    assert cli("verify", pack).exit_code == 0


def test_one_bad_file_refuses_the_whole_batch(pack: Path, samples: dict[str, Path], ctx: Ctx) -> None:
    """When one of three files in a submit is bad, none is stored; the two good ones are accepted on their own."""
    bad, expected = case_rating_5(ctx)
    good = [samples["system-design-money-movement"], samples["deep-dive-ownership-incidents"]]
    before = snapshot(pack)
    result = cli("submit", pack, good[0], bad, good[1])
    assert result.exit_code == 1
    assert result.output.splitlines() == [*expected, refused(1)]
    assert snapshot(pack) == before

    result = cli("submit", pack, *good)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "accepted 0001: system-design-money-movement by Tomás Álvarez",
        "accepted 0002: deep-dive-ownership-incidents by Jonas Weber"]


def test_same_stage_twice_in_one_batch_is_refused(pack: Path, samples: dict[str, Path],
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two returns for one stage and interviewer in one submit are refused, the second naming the first as typed."""
    first = samples[HM]
    second = Path(shutil.copy(first, tmp_path / "copy.yaml"))
    monkeypatch.chdir(tmp_path)  # paths print relative to the current folder
    before = snapshot(pack)
    result = cli("submit", pack, first, second)
    assert (result.exit_code, result.output) == (
        1, f"copy.yaml: same stage '{HM}' and interviewer 'Priya Raman' as returns/{first.name}\n"
           f"{refused(1)}\n")
    assert snapshot(pack) == before


# --------------------------------------------------------------------------- 3. duplicates and amend


def test_duplicates_and_amend(pack: Path, samples: dict[str, Path], tmp_path: Path) -> None:
    """A resent file is named as a duplicate; a changed one needs --amend --reason; the amendment keeps both and only it counts."""
    first = samples[HM]
    assert cli("submit", pack, first).exit_code == 0
    # The same bytes under any name are the same submission.
    again = Path(shutil.copy(first, tmp_path / "resent.yaml"))
    for f in (first, again):
        result = cli("submit", pack, f)
        assert (result.exit_code, result.output) == (
            1, f"{rel(f)}: already submitted (identical to submission 0001)\n{refused(1)}\n")

    cid, old = first_rated(first)
    new = 1 if old != 1 else 4
    changed = with_rating(first, tmp_path / "changed.yaml", cid, str(new))
    before = snapshot(pack)
    result = cli("submit", pack, changed)
    assert (result.exit_code, result.output) == (
        1, f"{rel(changed)}: stage '{HM}' already has a submission by 'Priya Raman' (0001); "
           f"to replace it use --amend --reason \"...\"\n{refused(1)}\n")
    for extra in ([], ["--reason", "   "]):
        result = cli("submit", pack, changed, "--amend", *extra)
        assert (result.exit_code, result.output) == (
            1, f"--reason: --amend needs --reason saying why\n{refused(1)}\n")
    assert snapshot(pack) == before

    result = cli("submit", pack, changed, "--amend", "--reason", "typo in rating")
    assert (result.exit_code, result.output) == (
        0, f"accepted 0002: {HM} by Priya Raman (amends 0001)\n")
    entries = log_entries(pack)
    assert_chained(entries, pack)
    assert [(e["amends"], e["reason"]) for e in entries] == [(None, None), (1, "typo in rating")]
    for entry, src in zip(entries, (first, changed), strict=True):
        assert (pack / "submissions" / entry["original"]["path"]).read_bytes() == src.read_bytes()

    result = cli("aggregate", pack, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    criteria = {c["id"]: c for t in report["topics"] for c in t["criteria"]}
    assert criteria[cid]["ratings"] == [{"submission": "0002", "stage": HM,
                                        "interviewer": "Priya Raman", "rating": new}]
    assert all(r["submission"] == "0002" for c in criteria.values() for r in c["ratings"])
    assert [r["submission"] for r in report["recommendations"]] == ["0002"]
    assert cli("verify", pack).output == "ok: pack files and 2 logged submissions verified\n"


def test_amend_needs_an_earlier_submission(pack: Path, samples: dict[str, Path]) -> None:
    """--amend for a stage and interviewer with nothing to amend is refused, naming both."""
    f = samples["deep-dive-ownership-incidents"]
    result = cli("submit", pack, f, "--amend", "--reason", "x")
    assert (result.exit_code, result.output) == (
        1, f"{rel(f)}: --amend: there is no earlier submission for stage "
           f"'deep-dive-ownership-incidents' by 'Jonas Weber' to amend\n{refused(1)}\n")


# --------------------------------------------------------------------------- 4. tampering


def _flip_original(pack: Path) -> list[str]:
    entry = log_entries(pack)[0]
    path = pack / "submissions" / entry["original"]["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return [f"{rel(path)}: altered: original file of submission 0001 does not match its "
            "recorded SHA-256"]


def _delete_normalised(pack: Path) -> list[str]:
    path = pack / "submissions" / log_entries(pack)[1]["normalised"]["path"]
    path.unlink()
    return [f"{rel(path)}: missing: normalised file of submission 0002"]


def _edit_normalised(pack: Path) -> list[str]:
    path = pack / "submissions" / log_entries(pack)[2]["normalised"]["path"]
    data = json.loads(path.read_text(encoding="utf-8"))
    data["recommendation"] = "strong_no"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [f"{rel(path)}: altered: normalised file of submission 0003 does not match its "
            "recorded SHA-256"]


def _edit_log_entry(pack: Path) -> list[str]:
    log = pack / "submissions" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    stage = json.loads(lines[2])["stage"]
    lines[2] = lines[2].replace(f'"stage": "{stage}"', '"stage": "leadership-mentoring"')
    log.write_text("".join(lines), encoding="utf-8")
    return [f"{rel(log)}:3: entry 3: entry was altered (its hash does not match its content)"]


def _delete_log_line(pack: Path) -> list[str]:
    log = pack / "submissions" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    gone = json.loads(lines.pop(3))["folder"]
    log.write_text("".join(lines), encoding="utf-8")
    return [f"{rel(log)}:4: entry 4: chain broken (previous entry's hash does not match): an "
            "entry was removed, reordered or edited",
            f"{rel(log)}: 1 logged entry removed: the log has 6 entries, its head "
            "record says 7",
            f"{rel(pack / 'submissions' / gone)}: removed from the log: this submission "
            f"({gone[:4]}) was accepted, but its log entry is gone"]


def _truncate_log(pack: Path) -> list[str]:
    log = pack / "submissions" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    gone = json.loads(lines.pop())["folder"]
    log.write_text("".join(lines), encoding="utf-8")
    return [f"{rel(log)}: 1 logged entry removed: the log has 6 entries, its head record says 7",
            f"{rel(pack / 'submissions' / gone)}: removed from the log: this submission "
            f"({gone[:4]}) was accepted, but its log entry is gone"]


def _garbage_log_line(pack: Path) -> list[str]:
    log = pack / "submissions" / "log.jsonl"
    with log.open("a", encoding="utf-8") as fh:
        fh.write('{"seq": "seven"}\n')
    return [f"{rel(log)}:8: log entry is not a log entry of a rubrics pack (fields missing or "
            "of the wrong type)"]


def _edit_scorecard(pack: Path) -> list[str]:
    path = pack / "scorecards" / "leadership-mentoring.html"
    path.write_bytes(path.read_bytes().replace(b"</body>", b"<p>edited</p></body>"))
    return [f"{rel(path)}: altered: does not match the SHA-256 in manifest.json"]


def _edit_role_snapshot(pack: Path) -> list[str]:
    path = pack / "source" / "role.yaml"
    path.write_bytes(path.read_bytes() + b"\n# edited after the pack was made\n")
    return [f"{rel(path)}: altered: does not match the SHA-256 in manifest.json"]


def _delete_log_and_head(pack: Path) -> list[str]:
    (pack / "submissions" / "log.jsonl").unlink()
    (pack / "submissions" / "head.json").unlink()
    folders = sorted(p for p in (pack / "submissions").iterdir() if p.is_dir())
    return [f"{rel(pack / 'submissions' / 'log.jsonl')}: missing: the pack's log, made with "
            "the pack, was removed",
            *(f"{rel(f)}: warning: {ORPHAN}" for f in folders)]


def _drop_last_and_zero_the_head(pack: Path) -> list[str]:
    log = pack / "submissions" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    gone = json.loads(lines.pop())["folder"]
    log.write_text("".join(lines), encoding="utf-8")
    (pack / "submissions" / "head.json").write_text('{"entries": 0, "hash": ""}\n',
                                                    encoding="utf-8")
    return [f"{rel(pack / 'submissions' / 'head.json')}: altered: the head record counts no "
            "entry, but a pack's log always holds at least its genesis entry",
            f"{rel(pack / 'submissions' / gone)}: warning: {ORPHAN}"]


def _edit_manifest(pack: Path) -> list[str]:
    path = pack / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["candidate"]["name"] = "Somebody Else"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [f"{rel(path)}: altered: manifest.json changed after the pack was made (its "
            "SHA-256 is recorded in the pack's log)"]


TAMPERING = [_flip_original, _delete_normalised, _edit_normalised, _edit_log_entry,
             _delete_log_line, _truncate_log, _garbage_log_line, _edit_scorecard,
             _edit_role_snapshot, _delete_log_and_head, _drop_last_and_zero_the_head,
             _edit_manifest]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__.strip("_"))
def test_verify_names_tampering_and_submit_refuses_more(
        tamper: Callable[[Path], list[str]], pack: Path, samples: dict[str, Path]) -> None:
    """verify names what was altered or removed (exit 1); submit then refuses to add to the
    pack, and aggregate refuses any pack verify rejects, naming the first problem."""
    kept = samples.pop("deep-dive-ownership-incidents")
    assert cli("submit", pack, *samples.values()).exit_code == 0
    lines = tamper(pack)

    result = cli("verify", pack)
    assert result.exit_code == 1
    errors = [x for x in lines if ": warning: " not in x]
    assert result.output.splitlines() == [*lines, found(len(errors))]

    before = snapshot(pack)
    result = cli("submit", pack, kept)
    if tamper is _edit_scorecard:
        # verify names it, but an edited scorecard (say a blank YAML filled in place)
        # changes nothing submissions are checked against, so returns still land
        assert result.exit_code == 0, result.output
    else:
        assert (result.exit_code, result.output) == (
            1, f"error: the pack fails verification; run `rubrics verify {pack}`: "
               f"{errors[0]}\n")
        assert snapshot(pack) == before

    result = cli("aggregate", pack, "--format", "json")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" \
        if len(errors) > 1 else ""
    assert (result.exit_code, result.output) == (
        1, f"error: {errors[0]}{more}; run rubrics verify\n")


# --------------------------------------------------------------------------- 5. interrupted submit


def test_interrupted_submit_leaves_an_orphan_that_is_ignored_then_moved_aside(
        pack: Path, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A submit interrupted before the log is rewritten accepts nothing: verify warns of the orphan, aggregate ignores it, the next submit moves it to submissions/.interrupted/ (never deletes it)."""
    assert cli("submit", pack, samples[HM], samples["system-design-money-movement"]).exit_code == 0
    log = pack / "submissions" / "log.jsonl"
    log_before = log.read_bytes()
    real_write = rubrics.log.atomic_write

    def crash_on_log(path: Path, data: bytes, *, exclusive: bool = False) -> None:
        if path.name == "log.jsonl":
            # A power cut mid-write leaves the temporary file and no new log.
            (path.parent / ".log.jsonl.crash.tmp").write_bytes(data[: len(data) // 2])
            raise KeyboardInterrupt
        real_write(path, data, exclusive=exclusive)

    monkeypatch.setattr(rubrics.log, "atomic_write", crash_on_log)
    result = cli("submit", pack, samples["coding-correctness-concurrency"],
                 samples["deep-dive-ownership-incidents"])
    assert (result.exit_code, result.output) == (130, "interrupted\n")
    monkeypatch.undo()

    assert log.read_bytes() == log_before
    subs = pack / "submissions"
    orphans = sorted(p for p in subs.iterdir()
                     if p.is_dir() and p.name not in {e["folder"] for e in log_entries(pack)})
    assert [p.name.split("--")[0] for p in orphans] == [
        "0003-coding-correctness-concurrency", "0004-deep-dive-ownership-incidents"]
    assert all((p / "submission.json").is_file() for p in orphans)

    result = cli("verify", pack)
    assert (result.exit_code, result.output.splitlines()) == (0, [
        *(f"{rel(p)}: warning: {ORPHAN}" for p in orphans),
        "ok: pack files and 2 logged submissions verified"])

    report = json.loads(cli("aggregate", pack, "--format", "json").stdout)
    assert [r["submission"] for r in report["recommendations"]] == ["0001", "0002"]
    assert report["missing_stages"] == STAGES[2:]

    result = cli("submit", pack, samples["deep-dive-ownership-incidents"])
    assert (result.exit_code, result.output) == (
        0, "accepted 0003: deep-dive-ownership-incidents by Jonas Weber\n")
    entries = log_entries(pack)
    assert_chained(entries, pack)
    assert sorted(p.name for p in subs.iterdir()) == sorted(
        [e["folder"] for e in entries] + ["log.jsonl", "head.json", ".lock", ".interrupted"])
    aside = sorted(p.name.split(".")[0] for p in (subs / ".interrupted").iterdir())
    assert aside == [p.name for p in orphans]
    assert cli("verify", pack).output == "ok: pack files and 3 logged submissions verified\n"


# --------------------------------------------------------------------------- 6. concurrency


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_submits_are_serialised(attempt: int, built: Built, tmp_path: Path) -> None:
    """Two `rubrics submit` processes started together on one pack both succeed, logged once each and chained."""
    pack = Path(shutil.copytree(built.pack, tmp_path / "race"))
    go = tmp_path / "go"
    stages = ["hiring-manager-conversation", "system-design-money-movement"]
    outs = run_at_once(go, [["submit", str(pack), str(built.samples[stage])]
                            for stage in stages], timeout=120)
    assert [rc for rc, _, _ in outs] == [0, 0], outs
    assert [err for _, _, err in outs] == ["", ""]
    said = sorted(out for _, out, _ in outs)
    who = {s: w for s, w, _ in RETURNS}
    entries = log_entries(pack)
    assert_chained(entries, pack)
    assert [e["seq"] for e in entries] == [1, 2]
    assert sorted(e["stage"] for e in entries) == sorted(stages)
    assert said == sorted(f"accepted {e['seq']:04d}: {e['stage']} by {who[e['stage']]}\n"
                          for e in entries)
    assert cli("verify", pack).output == "ok: pack files and 2 logged submissions verified\n"


# --------------------------------------------------------------------------- 7. aggregate


def test_aggregate_formats(pack: Path, samples: dict[str, Path], built: Built, tmp_path: Path) -> None:
    """aggregate reports an incomplete loop in JSON, HTML with an inline chart, and a text pipeline; bad format options exit 2."""
    part = [HM, "system-design-money-movement", "deep-dive-ownership-incidents"]
    assert cli("submit", pack, *(samples[s] for s in part)).exit_code == 0

    result = cli("aggregate", pack, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"pack_id", "candidate", "role", "recommended_level", "sub_level", "decision",
            "confidence", "topics", "flags", "missing_stages"} <= set(report)
    assert report["pack_id"] == manifest(pack)["pack_id"]
    assert (report["candidate"]["name"], report["candidate"]["id"]) == ("Ada Lovelace", "ada")
    assert report["role"]["id"] == ROLE_ID
    assert report["decision"] == "incomplete"
    assert report["missing_stages"] == [s for s in STAGES if s not in part]
    assert {f["stage"] for f in report["flags"] if f["kind"] == "missing_stage"} == (
        set(STAGES) - set(part))

    result = cli("aggregate", pack, "--format", "pdf")
    assert (result.exit_code, result.output) == (2, "error: --format pdf needs --out FILE\n")
    result = cli("aggregate", pack, "--format", "xml")
    assert (result.exit_code, result.output) == (
        2, "error: unknown format 'xml' (choose from text, json, html, pdf, resolutions)\n")

    out = tmp_path / "x.html"
    result = cli("aggregate", pack, "--format", "html", "-o", out)
    assert (result.exit_code, result.output) == (0, f"wrote {out}\n")
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "Ada Lovelace" in html

    bob = Path(shutil.copytree(built.other, tmp_path / "packs" / "bob"))
    result = cli("aggregate", pack, bob, "--format", "text")
    assert result.exit_code == 0, result.output
    table, below = result.stdout.split("\n\n", 1)
    lines = table.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("candidate") and lines[0].split() == [
        "candidate", "level", "decision", "confidence", "missing"]
    assert lines[1].startswith("Ada Lovelace") and lines[2].startswith("Bob Other")
    assert all(" incomplete " in x for x in lines[1:])
    assert below.startswith(f"Ada Lovelace: role {ROLE_ID}; missing")
    assert f"Bob Other: role {ROLE_ID}; missing" in below


# --------------------------------------------------------------------------- 8. validate


def test_validate_checks_a_returns_shape_without_a_pack(samples: dict[str, Path], ctx: Ctx) -> None:
    """`rubrics validate` accepts valid YAML and JSON returns and locates shape errors; pack checks are left to submit."""
    result = cli("validate", samples[HM], samples["system-design-money-movement"])
    assert (result.exit_code, result.output) == (0, "ok: no problems found\n")

    # Not a stage of any pack is a pack-level problem: validate has no pack to check it against.
    stage, _ = case_unknown_stage(ctx)
    assert cli("validate", stage).exit_code == 0

    five, five_lines = case_rating_5(ctx)
    maybe, maybe_lines = case_recommendation_maybe(ctx)
    result = cli("validate", five, maybe)
    assert result.exit_code == 1
    assert result.output.splitlines() == [*five_lines, *maybe_lines, found(2)]


def test_a_lone_surrogate_in_a_json_submission_is_one_problem_not_a_crash(
        pack: Path, samples: dict[str, Path], tmp_path: Path) -> None:
    """A JSON scorecard with an escaped lone surrogate in its notes is refused in one line."""
    source = samples["system-design-money-movement"]
    data = json.loads(source.read_text(encoding="utf-8"))
    data["notes"] = "Fine \ud800 work"
    bad = tmp_path / "surrogate.json"
    bad.write_text(json.dumps(data), encoding="utf-8")  # ASCII: the surrogate as \ud800
    before = snapshot(pack)
    result = cli("submit", pack, bad)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    said = [line for line in result.output.splitlines() if "U+D800" in line]
    assert len(said) == 1 and said[0].endswith("contains a lone surrogate U+D800; remove it")
    assert snapshot(pack) == before


def test_unsafe_text_names_a_lone_surrogate() -> None:
    """A lone surrogate (say, from a non-UTF-8 argument) is a problem, as a control character is."""
    from rubrics.model import unsafe_text

    assert unsafe_text("Hire \ud800", single_line=False) == (
        "contains a lone surrogate U+D800; remove it")
    assert unsafe_text("Hire \ud800", single_line=True) == (
        "contains a lone surrogate U+D800; remove it")
