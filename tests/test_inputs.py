"""Inputs from a security review (issue 8): devices, pipes and growing files; invisible and
compatibility characters in names; CSV line breaks; huge roles; long values and Windows
device names. Each is one clear line naming the file, never a traceback, a hang or a crash."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rubrics.cli import app
from rubrics.errors import InvalidInput, shorten
from rubrics.identity import name_key, people
from rubrics.log import read_log
from rubrics.model import JOINERS, unsafe_text
from rubrics.submissions import MAX_SUBMISSION_BYTES, read_submission_bytes
from rubrics.yamlio import read_bytes
from tests.conftest import FIXTURES, ROLE_ID, rel
from tests.test_debrief import STAGES, blank_pack, returns

__all__ = ["blank_pack"]  # the module fixture, shared

WS = FIXTURES / "ws"
needs_devices = pytest.mark.skipif(not (os.path.exists("/dev/zero") and hasattr(os, "mkfifo")),
                                   reason="needs /dev/zero and named pipes")


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def run(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, killed after 60 s, so that a read that hangs on a pipe or
    never ends on a device fails the test instead of blocking the suite."""
    env = {k: v for k, v in os.environ.items() if k != "RUBRICS_WORKSPACE"}
    return subprocess.run([sys.executable, "-m", "rubrics", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def pack(blank_pack: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(blank_pack, tmp_path / "ada"))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A folder holding a symlink to /dev/zero, a named pipe nobody writes to, and a folder,
    each under a name that looks like a file rubrics reads."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "zero.pdf").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.yaml")
    (folder / "folder.yaml").mkdir()
    return folder


# --------------------------------------------------------------------------- 8. devices


@needs_devices
def test_validate_refuses_devices_pipes_and_folders_in_one_line_each(hostile: Path) -> None:
    """validate /dev/zero, a symlink to it (as YAML and as PDF) and a named pipe: one line
    each, promptly, instead of a MemoryError or a hang."""
    proc = run(hostile, "validate", "/dev/zero", "zero.yaml", "zero.pdf", "pipe.yaml")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        "/dev/zero: is not a regular file",
        "zero.yaml: is not a regular file",
        "zero.pdf: is not a regular file",
        "pipe.yaml: is not a regular file",
        "4 problems found"]


@needs_devices
def test_submit_refuses_devices_pipes_and_folders(pack: Path, hostile: Path) -> None:
    """A returned scorecard that is a symlink to /dev/zero, a named pipe or a folder is one
    line each, read no further, and nothing is stored."""
    proc = run(hostile, "submit", pack, "zero.yaml", "zero.pdf", "pipe.yaml", "folder.yaml",
               "/dev/zero")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        "/dev/zero: is not a regular file",
        "folder.yaml: is a folder, not a file",
        "pipe.yaml: is not a regular file",
        "zero.pdf: is not a regular file",
        "zero.yaml: is not a regular file",
        "5 problems found; nothing was stored (all files or none): fix the files above and "
        "submit them again"]
    assert [e.kind for e in read_log(pack / "submissions")] == ["genesis"]


@needs_devices
@pytest.mark.parametrize("name", ["/dev/zero", "zero.yaml", "pipe.yaml"])
def test_candidates_csv_that_is_a_device_or_pipe_is_refused(hostile: Path, name: str) -> None:
    """pack --candidates /dev/zero (or a symlink to it, or a pipe) is one line, not a
    MemoryError or a hang."""
    proc = run(hostile, "pack", ROLE_ID, "--candidates", name, "--out", "out", "--format",
               "html")
    assert (proc.returncode, proc.stderr.splitlines()) == (
        1, [f"{name}: is not a regular file", "1 problem found"])
    assert not (hostile / "out").exists()


@needs_devices
def test_resolutions_file_that_is_a_pipe_is_refused(pack: Path, hostile: Path) -> None:
    """decide --resolutions naming a pipe nobody writes to answers at once."""
    proc = run(hostile, "decide", pack, "--decision", "no_hire", "--reason", "r", "--by", "p",
               "--resolutions", "pipe.yaml")
    assert (proc.returncode, proc.stderr.splitlines()[0]) == (
        1, "pipe.yaml: is not a regular file")


@needs_devices
@pytest.mark.parametrize("command", [["verify"], ["aggregate"], ["submit", "any.yaml"]])
def test_a_manifest_that_is_a_pipe_is_refused_at_once(pack: Path, command: list[str]) -> None:
    """A pack whose manifest.json was replaced by a named pipe is named as a pack that is not
    closed, promptly, not read (a hang) or taken for a folder that is no pack."""
    (pack / "manifest.json").unlink()
    os.mkfifo(pack / "manifest.json")
    (pack.parent / "any.yaml").write_text("stage: x\n", encoding="utf-8")
    proc = run(pack.parent, command[0], pack.name, *command[1:])
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines()[0] == (
        "error: ada/manifest.json: is a link or not a file: a pack is closed")


def _claims_size(monkeypatch: pytest.MonkeyPatch, path: Path, size: int) -> None:
    """Make stat and fstat report ``size`` for ``path``: as when the size is checked and the
    file then grows before (or while) it is read."""
    real_stat, real_fstat = os.stat, os.fstat
    inode = real_stat(path).st_ino

    def shrunk(info: os.stat_result) -> os.stat_result:
        if info.st_ino != inode:
            return info
        fields = list(info[:10])
        fields[stat.ST_SIZE] = size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", lambda p, *a, **k: shrunk(real_stat(p, *a, **k)))
    monkeypatch.setattr(os, "fstat", lambda fd: shrunk(real_fstat(fd)))


def test_a_file_that_grows_after_its_size_is_checked_is_read_no_further(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A submission that was small when checked but grew past the limit is refused after
    reading at most the limit and one byte, whatever its size claims."""
    grown = tmp_path / "grown.yaml"
    grown.write_bytes(b"# x\n" * (MAX_SUBMISSION_BYTES // 2))  # 4 MB
    _claims_size(monkeypatch, grown, 100)
    with pytest.raises(InvalidInput) as info:
        read_submission_bytes(grown)
    assert str(info.value) == f"{rel(grown)}: file is too large (more than 2,097,152 bytes)"


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_whose_size_says_zero_is_bounded_too() -> None:
    """A regular file that reports no size but has content (/proc) is read only up to the
    limit."""
    with pytest.raises(InvalidInput) as info:
        read_bytes(Path("/proc/self/status"), max_bytes=50)
    assert str(info.value) == "/proc/self/status: file is too large (more than 50 bytes)"
    assert read_bytes(Path("/proc/self/status")).startswith(b"Name:")


def test_a_file_over_the_limit_by_its_size_is_not_read(tmp_path: Path) -> None:
    """A submission over the limit is refused from its size, saying the limit."""
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_SUBMISSION_BYTES + 1))
    with pytest.raises(InvalidInput) as info:
        read_submission_bytes(big)
    assert str(info.value) == (f"{rel(big)}: file is too large (2,097,153 bytes; a submission "
                               "is at most 2,097,152)")


# --------------------------------------------------------------------------- 9. identity


def _as(path: Path, name: str, *, email: bool = False) -> Path:
    """The scorecard ``path`` signed by ``name``, without an email unless ``email``: so that
    only the name can say who it is."""
    text = path.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("interviewer:"):
            line = f"interviewer: {json.dumps(name, ensure_ascii=False)}\n"
        elif line.startswith("interviewer_email:") and not email:
            continue
        lines.append(line)
    out = path.with_name(f"{path.stem}-as-{len(list(path.parent.iterdir()))}.yaml")
    out.write_text("".join(lines), encoding="utf-8")
    return out


def _line_of(path: Path, field: str) -> int:
    return next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith(f"{field}:"))


@pytest.mark.parametrize(("name", "char"), [("Tomás\u200b Álvarez", "U+200B"),
                                            ("Tomás Álvarez\u00ad", "U+00AD"),
                                            ("Tomás Álvarez\u3164", "U+3164"),
                                            ("Tomás \u1160Álvarez", "U+1160")])
def test_invisible_characters_cannot_make_a_second_interviewer(pack: Path, tmp_path: Path,
                                                               name: str, char: str) -> None:
    """'Tomás\\u200b Álvarez' and 'Tomás Álvarez\\u00ad' for a stage Tomás Álvarez has
    returned are refused on the interviewer line, not taken for another person."""
    stage = STAGES[1]
    first = _as(returns(pack, tmp_path / "first", lambda c: 3, stages=[stage])[0],
                "Tomás Álvarez")
    assert cli("submit", pack, first).exit_code == 0
    other = _as(returns(pack, tmp_path / "other", lambda c: 2, stages=[stage])[0], name)
    result = cli("submit", pack, other)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(other)}:{_line_of(other, 'interviewer')}:1: interviewer: contains the "
        f"invisible character {char}; remove it")
    assert [e.kind for e in read_log(pack / "submissions")] == ["genesis", "submission"]
    # and were such a name in a pack already (written before it was refused), it folds
    assert name_key(name) == name_key("Tomás Álvarez")


def test_a_line_separator_in_an_interviewer_name_is_refused(pack: Path, tmp_path: Path) -> None:
    """An interviewer name with U+2028 (a line break to a report, not to YAML) is refused on
    its line as a line break, and nothing is stored."""
    path = _as(returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[0]])[0],
               "Tomás\u2028Álvarez")
    result = cli("submit", pack, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(path)}:{_line_of(path, 'interviewer')}:1: interviewer: contains the line break "
        "U+2028; remove it")
    assert [e.kind for e in read_log(pack / "submissions")] == ["genesis"]


def test_a_joiner_that_spells_a_persian_name_is_kept(pack: Path, tmp_path: Path) -> None:
    """'علی\u200cرضا' (a ZWNJ between two Arabic-script letters is how the name is spelled) is
    accepted as written; the same joiner inside a Latin name is refused."""
    persian = _as(returns(pack, tmp_path / "fa", lambda c: 3, stages=[STAGES[0]])[0],
                  "علی\u200cرضا")
    result = cli("submit", pack, persian)
    assert (result.exit_code, result.stdout) == (
        0, f"accepted 0001: {STAGES[0]} by علی\u200cرضا\n")
    latin = _as(returns(pack, tmp_path / "la", lambda c: 3, stages=[STAGES[1]])[0],
                "Tom\u200cás Álvarez")
    result = cli("submit", pack, latin)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(latin)}:{_line_of(latin, 'interviewer')}:1: interviewer: contains the invisible "
        "character U+200C; remove it")


@pytest.mark.parametrize("name", [
    "علی\u200cرضا",  # Persian: ZWNJ between Arabic-script letters
    "क्\u200dष",  # Hindi: ZWJ after a virama, inside Devanagari
    "മല\u200cയാളം",  # Malayalam
    "Ana 👩\u200d💼",  # an emoji sequence
    "Ana 👩🏽\u200d💼",  # with a skin tone
])
def test_joiners_inside_a_script_or_an_emoji_are_spelling(name: str) -> None:
    """A ZWNJ or ZWJ between letters of a script that joins, or inside an emoji sequence,
    is part of how a name is written, not a hidden character."""
    assert unsafe_text(name, single_line=True) is None


@pytest.mark.parametrize("name", [
    "Tom\u200cás",  # Latin does not join
    "\u200dAna",  # at the start
    "Ana\u200c",  # at the end
    "علی\u200cRza",  # between two scripts
    "علی\u200c\u200cرضا",  # two in a row
    "Ana \u200d💼",  # a ZWJ after a space, before an emoji
])
def test_joiners_anywhere_else_are_refused(name: str) -> None:
    """A joiner anywhere but inside one joining script or an emoji sequence is refused: it
    would only make two spellings of one name look like one."""
    assert unsafe_text(name, single_line=True) == (
        f"contains the invisible character U+{ord(next(c for c in name if c in JOINERS)):04X}; "
        "remove it")


COMPATIBLE = [
    ("Tomás Álvarez", "Ｔｏｍáｓ Ａｌｖａｒｅｚ"),  # full-width letters
    ("Sofia Fitzgerald", "Soﬁa Fitzgerald"),  # the fi ligature U+FB01
    ("Tomás Álvarez", "Toma\u0301s A\u0301lvarez"),  # decomposed accents (NFD)
    ("Tomás Álvarez", "ÁLVAREZ, TOMÁS"),
]


@pytest.mark.parametrize(("name", "variant"), COMPATIBLE)
def test_compatibility_forms_of_a_name_are_one_interviewer_in_a_stage(
        pack: Path, tmp_path: Path, name: str, variant: str) -> None:
    """A second scorecard for a stage signed with a full-width, ligature or decomposed
    spelling of the first one's name is the same interviewer: refused without --amend."""
    stage = STAGES[1]
    first = _as(returns(pack, tmp_path / "first", lambda c: 3, stages=[stage])[0], name)
    assert cli("submit", pack, first).exit_code == 0
    other = _as(returns(pack, tmp_path / "other", lambda c: 2, stages=[stage])[0], variant)
    result = cli("submit", pack, other)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(other)}: stage '{stage}' already has a submission by '{name}' (0001); to "
        "replace it use --amend --reason \"...\"")


@pytest.mark.parametrize(("name", "variant"), COMPATIBLE)
def test_compatibility_forms_of_a_name_count_once_across_stages(
        pack: Path, tmp_path: Path, name: str, variant: str) -> None:
    """One interviewer signing two stages under two compatible spellings counts as one rater
    of the topics both stages assess, never two."""
    first, second = returns(pack, tmp_path / "r", lambda c: 3, stages=STAGES[1:3])
    assert cli("submit", pack, _as(first, name), _as(second, variant)).exit_code == 0
    report = json.loads(cli("aggregate", pack, "--format", "json").stdout)
    raters = {topic: row["raters"] for topic, row in report["confidence"]["per_topic"].items()}
    assert raters["mastery"] == 1  # a topic both stages assess: one rater, not two
    assert max(raters.values()) == 1, raters
    assert len(set(people([(name, None), (variant, None)]))) == 1


# --------------------------------------------------------------------------- 10. CSV


def write_csv(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def pack_csv(tmp_path: Path, sheet: Path) -> tuple[Result, Path]:
    out = tmp_path / "out"
    return cli("pack", "tiny-engineer", "-w", WS, "--candidates", sheet, "--out", out,
               "--format", "html", "--jobs", "1"), out


def failures(result: Result) -> list[str]:
    """The lines of stderr, without the blank one the batch progress bar leaves."""
    return [line for line in result.stderr.splitlines() if line.strip()]


def manifest_candidate(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return found["candidate"]


def test_a_line_separator_in_a_name_is_refused_not_a_new_row(tmp_path: Path) -> None:
    """'Ada\u2028Lovelace,ada,...' is one row (the csv module splits rows, not
    str.splitlines) and is refused on its line and column, not made into a pack 'Ada'
    without its email."""
    sheet = write_csv(tmp_path / "c.csv", "name,id,email\n"
                      "Ada\u2028Lovelace,ada,ada@example.com\n"
                      "Grace Hopper,g-1,grace@example.com\n")
    result, out = pack_csv(tmp_path, sheet)
    assert result.exit_code == 1
    assert failures(result) == [
        f"{rel(sheet)}:2:1: candidate name contains the line break U+2028; remove it"]
    assert result.stdout.splitlines() == [f"wrote {out / 'g-1'}/ (Grace Hopper)",
                                          "1 pack written, 0 unchanged, 0 kept with differences, 1 failed"]
    assert sorted(p.name for p in out.iterdir()) == ["g-1"]


def test_quoted_line_breaks_stay_in_notes_and_lines_count_true(tmp_path: Path) -> None:
    """A quoted line break in notes is kept, and rows after it are named by their own line;
    a quoted line break in a name (here the second column) is refused on the line and
    column where that name starts."""
    sheet = write_csv(tmp_path / "c.csv", 'id,name,notes\n'
                      'ada,Ada Lovelace,"Referred by Babbage.\nPrefers mornings."\n'
                      '\n'
                      'g-1,"Grace\nHopper",\n'
                      'k-1,Katherine Johnson,"Line one\r\nline two\nline three"\n'
                      'x-1,\x1b[2JMallory,\n')
    result, out = pack_csv(tmp_path, sheet)
    assert result.exit_code == 1
    assert failures(result) == [
        f"{rel(sheet)}:5:2: candidate name contains the line break U+000A; remove it",
        f"{rel(sheet)}:10:2: candidate name contains the control character U+001B; remove it"]
    assert sorted(p.name for p in out.iterdir()) == ["ada", "k-1"]
    assert manifest_candidate(out / "ada")["notes"] == "Referred by Babbage.\nPrefers mornings."
    assert manifest_candidate(out / "k-1")["notes"] == "Line one\nline two\nline three"


@pytest.mark.parametrize(("row", "message"), [
    ("Ada\u200bLovelace,ada,", "1: candidate name contains the invisible character U+200B"),
    ("Ada Lovelace,a\u2029da,", "2: candidate id contains the line break U+2029"),
    ("Ada Lovelace,ada,ada@exam\u202eple.com",
     "3: candidate email contains the invisible character U+202E"),
    ('Ada Lovelace,ada,,"ok\u202e"', "4: candidate notes contains the invisible character "
     "U+202E"),
])
def test_control_and_invisible_characters_are_refused_where_they_are(
        tmp_path: Path, row: str, message: str) -> None:
    """An invisible character in a name, a paragraph separator in an id, a direction
    override in an email or notes: one line with the CSV line and column."""
    sheet = write_csv(tmp_path / "c.csv", "name,id,email,notes\n" + row + "\n")
    result, _ = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (
        1, [f"{rel(sheet)}:2:{message}; remove it"])


def test_an_unclosed_quote_is_refused_not_swallowing_the_rows_after_it(tmp_path: Path) -> None:
    """A quoted field left open would take every later row into one note: refused, naming
    the line its row starts on, and no pack is made."""
    sheet = write_csv(tmp_path / "c.csv", 'name,id,notes\nAda,ada,"open\nGrace,g-1,\n'
                      'Katherine,k-1,\n')
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (1, [
        f"{rel(sheet)}:2: a quoted field is never closed (a '\"' missing?)",
        "1 problem found"])
    assert not out.exists()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_a_csv_separated_by_commas_semicolons_or_tabs_is_read_by_its_header(
        tmp_path: Path, delimiter: str) -> None:
    """Excel's "CSV UTF-8" (a BOM, commas), its ';' CSV (where ',' is the decimal mark) and
    a tab-separated sheet each make one pack per row, a comma inside a name staying in it."""
    rows = [["name", "id", "email"], ["Lovelace, Ada", "a-1", "ada@example.com"],
            ["José Núñez", "j-1", ""]]
    sheet = tmp_path / "c.csv"
    with sheet.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbfname" + delimiter.encode())
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (0, [])
    assert result.stdout.splitlines()[-1] == "2 packs written, 0 unchanged, 0 kept with differences, 0 failed"
    assert manifest_candidate(out / "a-1") == {"name": "Lovelace, Ada", "id": "a-1",
                                               "email": "ada@example.com", "notes": None,
                                               "anonymous": False}
    assert manifest_candidate(out / "j-1")["name"] == "José Núñez"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "after a BOM"])
def test_a_latin1_csv_names_the_byte_and_line_and_how_to_save_it(tmp_path: Path,
                                                               bom: bytes) -> None:
    """A CSV saved as Latin-1 (Excel's plain 'CSV' on Windows) is refused on its first
    byte that is not UTF-8, that byte named rightly (0xe9, not the one 3 before it when a
    BOM is there) on its line and column, with a hint to save as CSV UTF-8; no pack made."""
    sheet = tmp_path / "c.csv"
    sheet.write_bytes(bom + "name,id\nAna Lima,a-1\nJosé Núñez,j-1\n".encode("latin-1"))
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, result.stdout) == (1, "")
    assert failures(result) == [
        f"{rel(sheet)}:3:4: not UTF-8 text: byte 0xe9 ('é' in Windows-1252 or Latin-1) is not "
        "valid UTF-8",
        "1 problem found",
        'hint: save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8 (Comma delimited)) '
        "and run again"]
    assert not out.exists()


def test_a_header_without_a_name_column_lists_what_it_has(tmp_path: Path) -> None:
    """A header row with no 'name' column is refused listing the columns found and the
    ones expected."""
    sheet = write_csv(tmp_path / "c.csv", "Candidate;E-mail\nAna Lima;ana@example.com\n")
    result, _ = pack_csv(tmp_path, sheet)
    assert (result.exit_code, result.stdout) == (1, "")
    assert failures(result) == [
        f"{rel(sheet)}:1: the header row has no 'name' column: its columns are 'Candidate', "
        "'E-mail'; expected 'name' and 'id', optionally 'email' and 'notes', separated by "
        "commas, semicolons or tabs",
        "1 problem found"]


@pytest.mark.parametrize(("encoding", "saved_as"), [
    ("utf-16", "UTF-16 (Excel's \"Unicode Text\")"), ("utf-16-be", None),
    ("utf-32", "UTF-32")], ids=["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_csv_is_named_as_such(tmp_path: Path, encoding: str,
                                               saved_as: str | None) -> None:
    """Excel's "Unicode Text" (UTF-16, little- or big-endian) and UTF-32 are known by their
    byte order mark and named, not reported as a stray byte 0xff; no pack is made."""
    sheet = tmp_path / "u16.csv"
    text = "name\tid\nAda Lovelace\tada\n"
    body = text.encode(encoding)
    sheet.write_bytes(body if encoding != "utf-16-be" else b"\xfe\xff" + body)
    result, out = pack_csv(tmp_path, sheet)
    saved_as = saved_as or "UTF-16 (Excel's \"Unicode Text\")"
    assert (result.exit_code, failures(result)) == (1, [
        f"{rel(sheet)}:1:1: not UTF-8 text: saved as {saved_as}; save it as UTF-8 "
        "(\"CSV UTF-8\" in Excel)",
        "1 problem found",
        'hint: save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8 (Comma delimited)) '
        "and run again"])
    assert not out.exists()


def test_other_spellings_of_the_columns_are_read_and_unknown_columns_warned(
        tmp_path: Path) -> None:
    """'Full Name', 'Candidate ID' and 'E-Mail' are read as name, id and email; a column
    rubrics does not read ('emial') is warned about, naming the columns it knows."""
    sheet = write_csv(tmp_path / "c.csv", "Full Name,Candidate ID,E-Mail,emial\n"
                      "Ada Lovelace,ada,ada@example.com,x\n")
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (0, [
        f"{rel(sheet)}:1:4: warning: column 'emial' is not one rubrics reads and is ignored "
        "(the columns are name, id, email, notes)"])
    assert manifest_candidate(out / "ada") == {"name": "Ada Lovelace", "id": "ada",
                                               "email": "ada@example.com", "notes": None,
                                               "anonymous": False}


@pytest.mark.parametrize("header", ["email", "e-mail", "E-Mail", "Email address", "e_mail"])
def test_email_column_spellings(tmp_path: Path, header: str) -> None:
    """Each documented spelling of the email column fills the candidate's email, silently."""
    sheet = write_csv(tmp_path / "c.csv", f"name,id,{header}\nAda,ada,ada@example.com\n")
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (0, [])
    assert manifest_candidate(out / "ada")["email"] == "ada@example.com"


def test_a_row_split_by_another_delimiter_is_a_bad_row(tmp_path: Path) -> None:
    """Under a 'name;id' header, 'Mallory,mal' (one field) and 'Eve;eve;extra' (three) are
    refused on their lines with what the header expects, the comma row with a hint; the
    rows that line up, and one leaving off an optional trailing column, make packs."""
    sheet = write_csv(tmp_path / "c.csv", "name;id;notes\nMallory,mal\nEve;eve;;extra\n"
                      "Grace Hopper;g-1;\nAda Lovelace;ada\n")
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (1, [
        f"{rel(sheet)}:2: 1 field where the header has 3 (name, id, notes), separated by "
        "semicolons; this row holds commas: separate it by semicolons too",
        f"{rel(sheet)}:3: 4 fields where the header has 3 (name, id, notes), separated by "
        "semicolons"])
    assert sorted(p.name for p in out.iterdir()) == ["ada", "g-1"]
    assert result.stdout.splitlines()[-1] == "2 packs written, 0 unchanged, 0 kept with differences, 2 failed"


def test_excel_sep_line_names_the_delimiter_and_lines_stay_the_files(tmp_path: Path) -> None:
    """A candidates CSV starting with Excel's 'sep=;' line is read by semicolons, and a bad
    row is named on its line in the file (the sep line counts)."""
    sheet = write_csv(tmp_path / "c.csv", "sep=;\nname;id\nAna Lima;a-1\nBob,b\n")
    result, out = pack_csv(tmp_path, sheet)
    assert (result.exit_code, failures(result)) == (1, [
        f"{rel(sheet)}:4: 1 field where the header has 2 (name, id), separated by "
        "semicolons; this row holds commas: separate it by semicolons too"])
    assert [p.name for p in out.iterdir()] == ["a-1"]


def test_a_name_with_a_line_separator_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """--candidate with U+2028 is a usage error naming the character."""
    result = cli("pack", "tiny-engineer", "-w", WS, "--candidate", "Ada\u2028Lovelace",
                 "--out", tmp_path / "out", "--format", "html")
    assert (result.exit_code, result.stderr) == (
        2, "error: --candidate: candidate name contains the line break U+2028; remove it\n")


# --------------------------------------------------------------------------- 15. minor


def test_a_huge_candidate_id_in_a_submission_is_shortened(pack: Path, tmp_path: Path) -> None:
    """A 1.9 MB candidate_id is refused in one short line (cut to 60 characters with an
    ellipsis), not echoed in full."""
    path = returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[0]])[0]
    text = path.read_text(encoding="utf-8")
    line = _line_of(path, "candidate_id")
    lines = text.splitlines(keepends=True)
    lines[line - 1] = "candidate_id: " + "x" * 1_900_000 + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = cli("submit", pack, path)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{rel(path)}:{line}:1: candidate_id: '{'x' * 59}\u2026' is longer than a candidate "
        "id can be (1,900,000 characters; at most 100)")
    assert len(result.stderr) < 500


CUT = "y" * 59 + "\u2026"


@pytest.mark.parametrize(("field", "length", "message"), [
    ("interviewer_email", 100_000,
     f"interviewer_email: not an email address: '{CUT[1:]} (e.g. mei.chen@example.com)"),
    ("pack_id", 200,
     f"pack_id: '{CUT}' is not this pack ('{{pack_id}}'); was it sent for another candidate?"),
])
def test_a_long_email_or_pack_id_in_a_submission_is_shortened(
        pack: Path, tmp_path: Path, field: str, length: int, message: str) -> None:
    """A 100,000-character email, or a 200-character pack_id for another pack, is refused in
    one short line with the value cut to 60 characters, not echoed in full."""
    path = returns(pack, tmp_path / "r", lambda c: 3, stages=[STAGES[0]])[0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    line = _line_of(path, field)
    lines[line - 1] = f"{field}: {'y' * length}\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = cli("submit", pack, path)
    assert result.exit_code == 1
    pack_id = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))["pack_id"]
    assert result.stderr.splitlines()[0] == (
        f"{rel(path)}:{line}:1: {message.replace('{pack_id}', pack_id)}")


def test_long_values_in_messages_are_cut() -> None:
    """A value shown in a message is at most 60 characters, ending in an ellipsis when cut."""
    assert shorten("k" * 10) == "k" * 10
    assert shorten("k" * 61) == "k" * 59 + "\u2026"
    from rubrics.yamlio import parse_yaml

    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", f"? {'k' * 5000}\n: 1\n? {'k' * 5000}\n: 2\n")
    assert str(info.value) == f"x.yaml:3:3: duplicate key '{'k' * 59}\u2026'"


RESERVED = ["CON", "nul", "Aux", "PRN", "COM1", "com9", "LPT1", "lpt9", "CON.txt", "nul.tar.gz"]


def test_windows_device_names_make_safe_folders(tmp_path: Path) -> None:
    """Ids (or names) that would make the folders CON, NUL, COM1 ... get a '_' added, in any
    case; the manifest keeps them as typed."""
    rows = [["name", "id"]] + [[f"Person {n}", cid] for n, cid in enumerate(RESERVED)]
    rows.append(["Lpt3", ""])
    sheet = tmp_path / "c.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result, out = pack_csv(tmp_path, sheet)
    assert result.exit_code == 0, result.output
    folders = sorted(p.name for p in out.iterdir())
    assert folders == sorted(["con_", "nul_", "aux_", "prn_", "com1_", "com9_", "lpt1_",
                              "lpt9_", "con-txt", "nul-tar-gz", "lpt3_"])
    assert manifest_candidate(out / "con_")["id"] == "CON"
    assert manifest_candidate(out / "lpt3_")["name"] == "Lpt3"
    for folder in out.iterdir():
        assert folder.name.split(".")[0].lower() not in {
            "con", "nul", "aux", "prn", *(f"{d}{n}" for d in ("com", "lpt") for n in range(10))}


# --------------------------------------------------------------------------- 14. sizes


def big_role(root: Path, stages: int, per_stage: int, anchors: int = 0, text: int = 40,
             edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A workspace (the tiny framework) whose role has ``stages`` stages, each assessing
    ``per_stage`` criteria of a competency of its own at level 2, shown with ``anchors``
    behaviours of level 3 of that competency; every text ``text`` characters long. Written
    as JSON, which reads fast however big."""
    (root / "frameworks").mkdir(parents=True)
    (root / "roles").mkdir()
    shutil.copy(WS / "frameworks" / "tiny.yaml", root / "frameworks" / "tiny.yaml")

    def words(tag: str) -> str:
        return (tag + " " + "Explains the trade-offs of a design clearly. " * (text // 40 + 1)
                )[:text].strip()

    comps, loop, assessed = [], [], []
    for s in range(stages):
        ids = [f"c{s}.l2.n{n}" for n in range(per_stage)]
        assessed += ids
        comps.append({"id": f"c{s}", "title": f"Competency {s}", "criteria": [
            *({"id": cid, "level": 2, "text": words(cid)} for cid in ids),
            *({"id": f"c{s}.l3.a{n}", "level": 3, "text": words(f"a{n}")}
              for n in range(anchors))]})
        loop.append({"id": f"stage-{s}", "title": f"Stage {s}", "kind": "other",
                     "duration_minutes": 60, "interviewer_profile": "Senior engineer",
                     "candidate_description": "We talk about your work.", "focus": ids,
                     "questions": [{"text": words("Q"), "assesses": ids,
                                    "probes": [words("P")]}],
                     "red_flags": [words("F")]})
    role: dict[str, Any] = {
        "id": "big", "title": "Big", "framework": "tiny", "summary": "A big loop.",
        "candidate_summary": "A big loop.", "target_level": 2, "band": {"min": 2, "max": 3},
        "competencies": comps,
        "responsibilities": [{"id": "all", "text": "Everything", "evidenced_by": assessed}],
        "topic_weights": {c["id"]: 1 for c in comps}, "stages": loop,
        "aggregation": {"min_topic_observations": 1}}
    if edit:
        edit(role)
    path = root / "roles" / "big.json"
    path.write_text(json.dumps(role, indent=1), encoding="utf-8")
    return path


def where(path: Path, *loc: str | int) -> str:
    """``path:line:col`` of ``loc`` in a role file, as a problem there is printed."""
    from rubrics.yamlio import read_document

    line, col = read_document(path).locate(loc)
    return f"{rel(path)}:{line}:{col}" if line else rel(path)


def test_a_loop_at_the_warning_limits_validates_and_packs(tmp_path: Path) -> None:
    """16 stages of 5 focus criteria, each scorecard 248 lines and ~49,000 characters: no
    warning, and its HTML pack is made."""
    path = big_role(tmp_path / "ws", 16, 5, anchors=48, text=199)
    result = cli("validate", "-w", tmp_path / "ws", path)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "ok: no problems found\n", "")
    result = cli("pack", "big", "-w", tmp_path / "ws", "--candidate", "Ada", "--out",
                 tmp_path / "out", "--format", "html")
    assert result.exit_code == 0, result.output


def _longer_question(role: dict[str, Any]) -> None:
    role["stages"][1]["questions"][0]["text"] = "Why? " * 401


def _longer_preparation(role: dict[str, Any]) -> None:
    role["preparation"] = ["Bring a laptop.", "Read this. " * 227 + "End"]


def _huge_packet(role: dict[str, Any]) -> None:
    """The red team's role: 400 preparation items of 19,000 characters (a 2,003-page
    candidate packet that took six minutes and 880 MB)."""
    role["preparation"] = ["Prepare. " * 2_111 for _ in range(400)]


TOO_LONG = ("too long to use in an interview (each criterion shows the behaviours of its area "
            "one level below and above: are the areas too big?)")
WARNINGS: list[tuple[dict[str, Any], tuple[str | int, ...], str]] = [
    ({"stages": 17, "per_stage": 2}, ("stages",),
     "stages: 17 stages, more than 16: no candidate sits that many interviews"),
    ({"stages": 1, "per_stage": 6}, ("stages", 0, "focus"),
     "stages[0].focus: 6 focus criteria, more than 5: raters are more accurate with fewer; "
     "keep 5 or fewer and let another stage assess the rest"),
    ({"stages": 1, "per_stage": 5, "anchors": 50}, ("stages", 0),
     f"stages[0]: the scorecard of stage 'stage-0' would have 258 lines, more than 250: "
     f"{TOO_LONG}"),
    ({"stages": 1, "per_stage": 5, "anchors": 20, "text": 480}, ("stages", 0),
     f"stages[0]: the scorecard of stage 'stage-0' would have 51,790 characters, more than "
     f"50,000: {TOO_LONG}"),
    ({"stages": 2, "per_stage": 2, "edit": _longer_question},
     ("stages", 1, "questions", 0, "text"),
     "stages[1].questions[0].text: 2,004 characters, more than 2,000: too long to read "
     "during an interview; shorten it"),
    ({"stages": 1, "per_stage": 2, "edit": _longer_preparation}, ("preparation", 1),
     "preparation[1]: 2,500 characters, more than 2,000: too long to read at a glance; "
     "shorten it"),
]


@pytest.mark.parametrize(("sizes", "loc", "message"), WARNINGS)
def test_sizes_no_interview_can_use_are_warned_about(tmp_path: Path, sizes: dict[str, Any],
                                                     loc: tuple[str | int, ...],
                                                     message: str) -> None:
    """Just past each warning limit, validate warns once, on the field concerned."""
    path = big_role(tmp_path / "ws", **sizes)
    result = cli("validate", "-w", tmp_path / "ws", path)
    assert (result.exit_code, result.stderr.splitlines()) == (
        0, [f"{where(path, *loc)}: warning: {message}"])


NO_SCORECARD = "rubrics makes no scorecard that long; split the stage or its areas"
ERRORS: list[tuple[dict[str, Any], tuple[str | int, ...], str]] = [
    ({"stages": 1, "per_stage": 9}, ("stages", 0, "focus"),
     "stages[0].focus: 9 focus criteria, more than 8: no interviewer rates that many well in "
     "one interview; keep 5 or fewer and let another stage assess the rest"),
    ({"stages": 1, "per_stage": 10_000}, ("stages", 0, "focus"),
     "stages[0].focus: 10,000 focus criteria, more than 8: no interviewer rates that many "
     "well in one interview; keep 5 or fewer and let another stage assess the rest"),
    ({"stages": 51, "per_stage": 1}, ("stages",),
     "stages: 51 stages, more than 50: rubrics makes no loop that long"),
    ({"stages": 1, "per_stage": 8, "anchors": 130}, ("stages", 0),
     f"stages[0]: the scorecard of stage 'stage-0' would have 1,051 lines, more than 1,000: "
     f"{NO_SCORECARD}"),
    ({"stages": 1, "per_stage": 8, "anchors": 14, "text": 1900}, ("stages", 0),
     f"stages[0]: the scorecard of stage 'stage-0' would have 233,700 characters, more than "
     f"200,000: {NO_SCORECARD}"),
    ({"stages": 7, "per_stage": 8, "anchors": 110}, ("stages",),
     "stages: the loop's scorecards would have 6,237 lines, more than 6,000: rubrics makes "
     "no loop that big"),
    ({"stages": 9, "per_stage": 8, "anchors": 9, "text": 1750}, ("stages",),
     "stages: the loop's scorecards would have 1,307,250 characters, more than 1,200,000: "
     "rubrics makes no loop that big"),
    ({"stages": 1, "per_stage": 2, "edit": _huge_packet}, ("candidate_summary",),
     "the candidate packet would have 7,599,315 characters (candidate_summary, preparation, "
     "adjustments, each stage's candidate_description), more than 100,000: rubrics makes "
     "no packet that long"),
]


@pytest.mark.parametrize(("sizes", "loc", "message"), ERRORS)
def test_absurd_sizes_are_errors_and_pack_refuses_them_in_one_line(
        tmp_path: Path, sizes: dict[str, Any], loc: tuple[str | int, ...], message: str) -> None:
    """Past each error limit (the review's 10,000 criteria among them) validate and pack
    refuse the role in one line, before rendering anything."""
    path = big_role(tmp_path / "ws", **sizes)
    line = f"{where(path, *loc)}: {message}"
    result = cli("validate", "-w", tmp_path / "ws", path)
    assert (result.exit_code, result.stderr.splitlines()) == (1, [line, "1 problem found"])
    result = cli("pack", "big", "-w", tmp_path / "ws", "--candidate", "Ada", "--out",
                 tmp_path / "out", "--format", "html,pdf")
    assert (result.exit_code, result.stderr.splitlines()) == (1, [line, "1 problem found"])
    assert not (tmp_path / "out").exists()
