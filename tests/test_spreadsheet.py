"""Importing a framework kept as a spreadsheet matrix (topic x level x behaviour)."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.errors import Conflict, InvalidInput
from rubrics.frameworks import load_framework
from rubrics.model import ID_PATTERN, unsafe_text
from rubrics.mojibake import repair
from rubrics.spreadsheet import (
    MAX_ROWS,
    cell_text,
    parse_level,
    read_spreadsheet,
    sniff_delimiter,
    split_examples,
    write_framework,
)

LADDER = (
    "topic,level,criterion,examples,level name\n"
    "Mastery,1,Writes tests for the code they change,,Junior\n"
    ",1,Asks for help when stuck,,\n"
    "Mastery,2,Designs small systems,\"A queue consumer\nA cron job\",Mid\n"
    "Impact,2,Delivers what they commit to,,\n"
)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh folder with a workspace `ws`, so messages show short paths."""
    (tmp_path / "ws" / "frameworks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def import_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["frameworks", "import", *args])
    return result.exit_code, result.stdout, result.stderr


def criteria(path: Path, **kw: str) -> list[tuple[str, int, str, list[str]]]:
    fw = read_spreadsheet(path, "ladder", "Ladder", **kw).framework
    return [(c.id, c.level, c.text, c.examples) for t in fw.topics for c in t.criteria]


EXPECTED = [
    ("mastery.l1.writes-tests-for-the-code-they-change", 1, "Writes tests for the code they change", []),
    ("mastery.l1.asks-for-help-when-stuck", 1, "Asks for help when stuck", []),
    ("mastery.l2.designs-small-systems", 2, "Designs small systems", ["A queue consumer", "A cron job"]),
    ("impact.l2.delivers-what-they-commit-to", 2, "Delivers what they commit to", []),
]


# --------------------------------------------------------------------------- CSV


def test_csv_with_excel_bom(here: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark; the first header is still `topic`."""
    path = here / "ladder.csv"
    path.write_bytes(b"\xef\xbb\xbf" + LADDER.encode())
    assert criteria(path) == EXPECTED


def test_semicolon_csv_with_line_breaks_in_quotes(here: Path) -> None:
    """A European `;` CSV is read by sniffing the header line; quoted cells keep `;` and
    line breaks, and a blank topic cell repeats the topic above."""
    text = LADDER.replace(",", ";").replace("A queue consumer", "A queue; consumer")
    assert sniff_delimiter(text) == ";"
    got = criteria(write(here / "ladder.csv", text))
    assert got[2][3] == ["A queue; consumer", "A cron job"]
    assert [c[0] for c in got] == [c[0] for c in EXPECTED]


def test_delimiter_sniffed_from_header_only() -> None:
    """Commas in later rows do not outvote the header's semicolons; a tie is a comma."""
    assert sniff_delimiter('topic;level;criterion\nA;1;"x, y, z, w"\n') == ";"
    assert sniff_delimiter('"a;b",level,criterion\n') == ","
    assert sniff_delimiter("topic\tlevel\tcriterion\n") == "\t"
    assert sniff_delimiter("topic\n") == ","


def test_shuffled_oddly_cased_headers_and_synonyms(here: Path) -> None:
    """Headers are matched whatever their case, spacing, `_` or `-`, in any order;
    `Behaviour` is the criterion; an unknown column warns and is ignored."""
    path = write(here / "ladder.csv",
                 " Level_Name ,BEHAVIOUR,Notes,  topic-TITLE,LEVEL, Topic \n"
                 "Junior,Writes tests,ignore me,Technical mastery,L1,Mastery\n"
                 "Mid,Designs small systems,,,Level 2,Mastery\n")
    imported = read_spreadsheet(path, "ladder", "Ladder")
    fw = imported.framework
    assert [(t.id, t.title) for t in fw.topics] == [("mastery", "Technical mastery")]
    assert [(lv.number, lv.name) for lv in fw.levels] == [(1, "Junior"), (2, "Mid")]
    assert [str(w) for w in imported.warnings] == [
        "ladder.csv:1:3: warning: column C: column 'Notes' ignored (not one rubrics reads)"
    ]


def test_level_cells() -> None:
    """3, 3.0, L3, l 3 and Level 3 are level 3; anything else is not a level."""
    assert [parse_level(t) for t in ("3", "3.0", "L3", "l 3", "Level 3", " level3 ")] == [3] * 6
    assert [parse_level(t) for t in ("Senior", "3a", "L-3", "2-3", "", "Lvl 3")] == [None] * 6
    assert [cell_text(v) for v in (3.0, 3.5, 12, None, True)] == ["3", "3.5", "12", "", "TRUE"]


def test_latin1_csv_names_the_byte_and_line(here: Path) -> None:
    """A CSV saved as Latin-1 is refused with the real offending byte (é is 0xe9), the
    line it is on, and a hint to save as CSV UTF-8; nothing is written."""
    path = write(here / "ladder.csv", "topic,level,criterion\nMastery,1,Writes tests\n"
                 "Mastery,2,Reviews others' code\nImpact,3,Leads a café rewrite\n", "latin-1")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:4:21: not UTF-8 text: byte 0xe9 ('é' in Windows-1252 or Latin-1) is "
        "not valid UTF-8"
    ]
    code, out, err = import_cli("ladder.csv", "--id", "ladder", "--title", "L", "-w", "ws")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "ladder.csv:4:21: not UTF-8 text: byte 0xe9 ('é' in Windows-1252 or Latin-1) is "
        "not valid UTF-8",
        "1 problem found, nothing written",
        'hint: save the sheet as "CSV UTF-8 (Comma delimited)" (Excel) or choose UTF-8 '
        "as the character set when exporting",
    ]
    assert snapshot(here / "ws" / "frameworks") == {}


def test_utf16_csv_is_refused_with_the_hint(here: Path) -> None:
    """Excel's "Unicode Text" (UTF-16) is named as such, with the same hint."""
    path = here / "ladder.csv"
    path.write_bytes("topic\tlevel\tcriterion\nA\t1\tx\n".encode("utf-16"))
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:1:1: not UTF-8 text: saved as UTF-16 (Excel's \"Unicode Text\"); save it "
        "as UTF-8 (\"CSV UTF-8\" in Excel)"]
    assert caught.value.hint is not None and "CSV UTF-8" in caught.value.hint


def test_unclosed_quote_is_refused(here: Path) -> None:
    """A quoted cell never closed would swallow every row after it: refused, on its row."""
    path = write(here / "ladder.csv", 'topic,level,criterion\nMastery,1,"Writes tests\n'
                 "Mastery,2,Designs\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:2: a quoted cell is never closed (a '\"' missing?)"
    ]


# --------------------------------------------------------------------------- bad rows


def test_bad_rows_each_reported_with_row_and_column_nothing_written(here: Path) -> None:
    """Every bad row is one line naming its row (header = 1), column letter and field;
    blank rows still count, as in the spreadsheet; the frameworks folder is unchanged."""
    (here / "ws" / "frameworks" / "other.yaml").write_text("kept: as is\n")
    before = snapshot(here / "ws" / "frameworks")
    write(here / "ladder.csv",
          "topic,level,criterion,level name\n"
          ",1,No topic above,\n"
          "Mastery,Senior,Writes tests,\n"
          "\n"
          "Mastery,3,,\n"
          "Impact,,Delivers,\n"
          "Impact,25,Delivers more,\n"
          "Impact,2,Ships,Mid\n"
          "Impact,2,Ships again,Middle\n")
    code, out, err = import_cli("ladder.csv", "--id", "ladder", "--title", "Ladder", "-w", "ws")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "ladder.csv:2:1: column A (topic): empty, and no topic above it to repeat",
        "ladder.csv:3:2: column B (level): 'Senior' is not a level: write 3, L3 or Level 3",
        "ladder.csv:5:3: column C (criterion): empty: each row is one behaviour",
        "ladder.csv:6:2: column B (level): empty, and no level above it in this topic to repeat",
        "ladder.csv:7:2: column B (level): 25 is outside 1-20",
        "ladder.csv:9:4: column D (level name): level 2 is named 'Middle' here but 'Mid' on row 8",
        "6 problems found, nothing written",
    ]
    assert snapshot(here / "ws" / "frameworks") == before


def test_blank_level_repeats_the_level_above_within_a_topic(here: Path) -> None:
    """A blank level cell takes the level above in the same topic (a merged level cell);
    a blank one under a bad level is not reported twice."""
    path = write(here / "ladder.csv", "topic,level,criterion\nMastery,2,Designs\n,,Reviews\n"
                 "Impact,x,Ships\n,,Ships more\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:4:2: column B (level): 'x' is not a level: write 3, L3 or Level 3"
    ]
    path.write_text("topic,level,criterion\nMastery,2,Designs\n,,Reviews\n")
    assert [c[:2] for c in criteria(path)] == [("mastery.l2.designs", 2), ("mastery.l2.reviews", 2)]


def test_missing_columns_and_empty_sheets(here: Path) -> None:
    """A header without the three columns, a sheet with no rows and an empty file are
    each one clear problem."""
    cases = {
        "Area,Behaviour,Notes\nA,x,y\n":
            "ladder.csv:1: no level column: the header row has 'Area', 'Behaviour', 'Notes'; "
            "it needs topic, level and criterion",
        "topic,level,criterion\n\n":
            "ladder.csv:1: no criteria: the sheet has a header row but no rows",
        "topic,level,criterion,Criteria\nA,1,x,y\n":
            "ladder.csv:1:4: column D: a second criterion column ('Criteria')",
        ",,\n,,\n": "ladder.csv: the sheet is empty: it needs a header row naming topic, level "
                    "and criterion columns",
    }
    for text, message in cases.items():
        with pytest.raises(InvalidInput) as caught:
            read_spreadsheet(write(here / "ladder.csv", text), "ladder", "Ladder")
        assert [str(p) for p in caught.value.problems] == [message], text


def test_duplicate_rows_warn_and_merge(here: Path) -> None:
    """The same topic, level and text twice is one criterion (examples of both), with a
    warning naming both rows; a blank topic row repeats the topic for the comparison."""
    path = write(here / "ladder.csv", "topic,level,criterion,examples\n"
                 "Mastery,1,Writes tests,Unit tests\n,1,Writes tests,Fuzz tests\n")
    imported = read_spreadsheet(path, "ladder", "Ladder")
    (topic,) = imported.framework.topics
    assert [(c.text, c.examples) for c in topic.criteria] == [
        ("Writes tests", ["Unit tests", "Fuzz tests"])]
    assert [str(w) for w in imported.warnings] == [
        "ladder.csv:3:3: warning: column C (criterion): repeats row 2 (same topic, level and "
        "criterion); merged"
    ]


def test_too_large_file_refused_before_reading(here: Path) -> None:
    """A file over 8 MiB is refused from its size alone."""
    path = here / "ladder.csv"
    with path.open("wb") as fh:
        fh.truncate(8 * 1024 * 1024 + 1)
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv: file is too large (8,388,609 bytes; a spreadsheet is at most 8,388,608)"
    ]


def test_too_many_rows_refused(here: Path) -> None:
    """A sheet longer than any framework is refused at the first row over the limit."""
    path = write(here / "ladder.csv", "topic,level,criterion\n" + "A,1,x\n" * MAX_ROWS)
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        f"ladder.csv:{MAX_ROWS + 1}: more than 10,000 rows: not a framework (is this the "
        "right sheet?)"
    ]


# --------------------------------------------------------------------------- xlsx


def xlsx(path: Path, rows: list[list[object]], *, cached: dict[str, str] | None = None,
         sheets: tuple[str, ...] = ("Ladder",), merge: str | None = None) -> Path:
    """Write a workbook whose first sheet holds ``rows``; ``cached`` gives formula cells
    the value Excel would have saved with them (openpyxl saves none)."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = sheets[0]
    for row in rows:
        first.append(row)
    if merge:
        first.merge_cells(merge)
    for name in sheets[1:]:
        book.create_sheet(name).append(["nothing", "here"])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if cached:
        data = _with_cached_values(data, cached)
    path.write_bytes(data)
    return path


def _with_cached_values(data: bytes, cached: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for ref, value in cached.items():
                    text = re.sub(rf'<c r="{ref}"><f>([^<]*)</f><v\s*/>',
                                  rf'<c r="{ref}" t="str"><f>\1</f><v>{value}</v>', text)
                body = text.encode()
            dst.writestr(item, body)
    return out.getvalue()


def test_xlsx_with_formula_empty_row_number_level_and_merged_topic(here: Path) -> None:
    """An .xlsx as people lay it out: a number level, a formula cell (its saved value is
    read), an empty row, a merged topic cell and trailing empty columns."""
    path = xlsx(here / "ladder.xlsx", [
        ["Topic", "Level", "Criterion", "Examples", "Level name", None, None],
        ["Mastery", 1, "Writes tests for the code they change", None, "Junior"],
        [None, 1.0, "Asks for help when stuck"],
        [],
        ["=A2", "L2", "Designs small systems", "A queue consumer\nA cron job", "Mid", None],
        ["Impact", 2, "Delivers what they commit to", None, None, None, None],
    ], cached={"A5": "Mastery"}, merge="A2:A3")
    assert criteria(path) == EXPECTED
    fw = read_spreadsheet(path, "ladder", "Ladder").framework
    assert [(lv.number, lv.name) for lv in fw.levels] == [(1, "Junior"), (2, "Mid")]


def test_xlsx_formula_without_saved_value_is_a_bad_cell(here: Path) -> None:
    """A formula no spreadsheet program ever computed has no value to read: refused on
    its cell, never read as blank."""
    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"],
                                       ["Mastery", 1, "Writes tests"], ["=A2", 2, "Designs"]])
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx:3:1: column A: a formula with no saved value: open the file in Excel "
        "(or LibreOffice) and save it, so its values are stored"
    ]


def test_xlsx_sheet_option(here: Path) -> None:
    """--sheet picks a worksheet by name; an unknown name lists the workbook's sheets."""
    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"], ["A", 1, "x"]],
                sheets=("Ladder", "Notes"))
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder", sheet="Notes")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx:1: no topic or level or criterion column: the header row has 'nothing', "
        "'here'; it needs topic, level and criterion"
    ]
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder", sheet="Ladders")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx: no worksheet named 'Ladders' (the workbook has: 'Ladder', 'Notes')"
    ]


def test_xlsx_sheet_option_reads_the_named_sheet(here: Path) -> None:
    """The named sheet is read, not the first."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["nothing"])
    book.create_sheet("Ladder").append(["Topic", "Level", "Criterion"])
    book["Ladder"].append(["Mastery", 3, "Writes tests"])
    book.save(here / "ladder.xlsx")
    code, out, err = import_cli("ladder.xlsx", "--sheet", "Ladder", "--id", "ladder",
                                "--title", "Ladder", "-w", "ws")
    assert (code, out, err) == (0, "wrote ws/frameworks/ladder.yaml: 1 topic, 3 levels, "
                                   "1 criterion\n", "")


def test_not_a_workbook(here: Path) -> None:
    """A CSV renamed .xlsx is one clear problem, not a traceback."""
    path = write(here / "ladder.xlsx", LADDER)
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx: not a readable .xlsx workbook (File is not a zip file)"
    ]


# --------------------------------------------------------------------------- writing


def test_written_file_loads_back_to_the_same_framework(here: Path) -> None:
    """What import writes is native YAML that load_framework reads as the same framework."""
    imported = read_spreadsheet(write(here / "ladder.csv", LADDER), "ladder", "Ladder")
    written = write_framework(here / "ws" / "frameworks", imported.framework)
    assert written.path == here / "ws" / "frameworks" / "ladder.yaml"
    loaded, warnings = load_framework(written.path)
    assert (loaded, warnings) == (imported.framework, [])


def test_refuses_to_overwrite_without_force(here: Path) -> None:
    """An existing frameworks/ID.* is never replaced without --force, whatever its
    extension; with --force it is, and a Markdown one is removed so the new one counts."""
    frameworks = here / "ws" / "frameworks"
    (frameworks / "ladder.md").write_text("---\ntopics: []\n---\n")
    write(here / "ladder.csv", LADDER)
    code, out, err = import_cli("ladder.csv", "--id", "ladder", "--title", "Ladder", "-w", "ws")
    assert (code, out, err) == (1, "", "error: ws/frameworks/ladder.md exists; give --force "
                                       "to replace it, or choose another --id\n")
    assert snapshot(frameworks) == {"ladder.md": b"---\ntopics: []\n---\n"}
    code, out, err = import_cli("ladder.csv", "--id", "ladder", "--title", "Ladder", "-w", "ws",
                                "--force")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["wrote ws/frameworks/ladder.yaml: 2 topics, 2 levels, 4 criteria",
                                "replaced ws/frameworks/ladder.md"]
    assert sorted(snapshot(frameworks)) == ["ladder.yaml"]


def test_force_replaces_yaml_in_place(here: Path) -> None:
    """A second import with --force replaces frameworks/ID.yaml with the new sheet."""
    frameworks = here / "ws" / "frameworks"
    imported = read_spreadsheet(write(here / "ladder.csv", LADDER), "ladder", "Ladder")
    write_framework(frameworks, imported.framework)
    with pytest.raises(Conflict):
        write_framework(frameworks, imported.framework)
    edited = read_spreadsheet(write(here / "ladder.csv", LADDER + "Impact,3,Leads\n"),
                              "ladder", "Ladder")
    written = write_framework(frameworks, edited.framework, force=True)
    assert written.replaced == [frameworks / "ladder.yaml"]
    assert load_framework(written.path)[0] == edited.framework
    assert sorted(snapshot(frameworks)) == ["ladder.yaml"]


def test_reimport_of_edited_sheet_keeps_unchanged_ids(here: Path) -> None:
    """Reordering rows, adding one and editing another changes only the edited row's id."""
    edited = ("topic,level,criterion,examples,level name\n"
              "Impact,2,Delivers what they commit to,,\n"
              "Mastery,2,Designs large systems,,Mid\n"
              "Mastery,1,Writes tests for the code they change,,Junior\n"
              "Mastery,1,Asks for help when stuck,,\n"
              "Impact,1,Turns up,,\n")
    before = {c[0] for c in criteria(write(here / "a.csv", LADDER))}
    after = {c[0] for c in criteria(write(here / "b.csv", edited))}
    assert before - after == {"mastery.l2.designs-small-systems"}
    assert after - before == {"mastery.l2.designs-large-systems", "impact.l1.turns-up"}


def test_bundled_framework_id_is_protected(workspace: Path, tmp_path: Path) -> None:
    """Importing over the bundled backend.md is refused without --force."""
    write(tmp_path / "ladder.csv", LADDER)
    before = snapshot(workspace / "frameworks")
    code, _, err = import_cli(str(tmp_path / "ladder.csv"), "--id", "backend", "--title", "B",
                              "-w", str(workspace))
    assert code == 1 and "backend.md exists; give --force" in err
    assert snapshot(workspace / "frameworks") == before


# --------------------------------------------------------------------------- CLI usage


@pytest.mark.parametrize(("args", "message"), [
    (["ladder.txt", "--id", "x", "--title", "T", "-w", "ws"],
     "error: ladder.txt: give a .csv or .xlsx file (save an .xls or .ods as .xlsx)"),
    (["ladder.csv", "--id", "x", "--title", "T", "-w", "ws", "--sheet", "S"],
     "error: --sheet is for .xlsx workbooks; a CSV has one sheet"),
    (["ladder.csv", "--id", "x", "--title", "T"],
     "error: give --workspace DIR (or set RUBRICS_WORKSPACE): the workspace to import into; "
     "`rubrics init DIR` starts one"),
    (["ladder.csv", "--id", "My Ladder", "--title", "T", "-w", "ws"],
     "error: --id: 'My Ladder' is not an id: use lower-case letters, digits, '.', '_' or '-', "
     "starting with a letter or digit"),
    (["ladder.csv", "--id", "x", "--title", "  ", "-w", "ws"],
     "error: --title: give the framework a title"),
])
def test_usage_errors_exit_2(here: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                             message: str) -> None:
    """Wrong usage is exit 2 with one line saying what to give; nothing is written."""
    monkeypatch.delenv("RUBRICS_WORKSPACE", raising=False)
    write(here / "ladder.csv", LADDER)
    code, out, err = import_cli(*args)
    assert (code, out, err) == (2, "", message + "\n")
    assert snapshot(here / "ws" / "frameworks") == {}


def test_cli_success_prints_where_counts_and_warnings(here: Path) -> None:
    """Success is exit 0: where it wrote and the counts on stdout, warnings on stderr."""
    write(here / "ladder.csv", LADDER + "Impact,2,Delivers what they commit to,,\n")
    code, out, err = import_cli("ladder.csv", "--id", "ladder", "--title", "Ladder", "-w", "ws")
    assert (code, out) == (0, "wrote ws/frameworks/ladder.yaml: 2 topics, 2 levels, 4 criteria\n")
    assert err == ("ladder.csv:6:3: warning: column C (criterion): repeats row 5 (same topic, "
                   "level and criterion); merged\n")
    result = CliRunner().invoke(app, ["frameworks", "show", "ladder", "-w", "ws"])
    assert result.exit_code == 0 and "mastery.l2.designs-small-systems" in result.stdout


# --------------------------------------------------------------------------- property


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=300
               ).filter(lambda t: t.strip() != "")
LONG_TOPIC = "abcd " * 11 + "abcde"  # a 60-character topic id
LONG_TEXT = "abcdefg " * 7 + "abcd"  # a 60-character slug: 125 characters in all
NAMES = {"topics": st.lists(TEXT, min_size=1, max_size=3),
         "texts": st.lists(TEXT, min_size=1, max_size=4), "level": st.integers(1, 20)}
PLAIN = TEXT.filter(lambda t: unsafe_text(t.strip(), single_line=True) is None
                    and repair(t.strip())[0] == t.strip())
"""Text a name may be: no invisible or line-breaking character (those are bad cells), and
none that looks garbled ("Ī¯" reads back as "Ν": refused with "reword it", by design)."""
PLAIN_NAMES = {**NAMES, "topics": st.lists(PLAIN, min_size=1, max_size=3),
               "texts": st.lists(PLAIN, min_size=1, max_size=4)}


def import_matrix(folder: Path, topics: list[str], texts: list[str], level: int
                  ) -> tuple[Path, Exception | None]:
    """Write a CSV of every topic x text at ``level``, import it into ``folder``'s
    workspace; return the workspace's frameworks folder and the refusal, if any."""
    import csv

    buffer = io.StringIO(newline="")
    rows = csv.writer(buffer)
    rows.writerow(["topic", "level", "criterion"])
    rows.writerows([topic, level, text] for topic in topics for text in texts)
    path = write(folder / "ladder.csv", buffer.getvalue())
    try:
        imported = read_spreadsheet(path, "ladder", "Ladder")
    except InvalidInput as exc:
        return folder / "frameworks", exc
    ids = [t.id for t in imported.framework.topics] + [
        c.id for t in imported.framework.topics for c in t.criteria]
    assert all(re.fullmatch(ID_PATTERN, i) and len(i) <= 120 for i in ids), ids
    written = write_framework(folder / "frameworks", imported.framework)
    assert load_framework(written.path)[0] == imported.framework
    return folder / "frameworks", None


@example(topics=["日本語", "Mastery"], texts=["Writes tests"], level=1)
@example(topics=[LONG_TOPIC], texts=[LONG_TEXT, "Short"], level=20)
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**NAMES)
def test_any_names_import_or_are_refused_by_row(tmp_path: Path, topics: list[str],
                                                texts: list[str], level: int) -> None:
    """Whatever the topic names and criterion texts, the import either writes valid ids
    that load back unchanged, or refuses with problems on data rows and writes nothing."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    frameworks, refusal = import_matrix(folder, topics, texts, level)
    if refusal is not None:
        assert isinstance(refusal, InvalidInput)
        assert all(p.line is not None and p.line >= 2 for p in refusal.problems)
        assert not frameworks.exists()


@example(topics=["日本語"], texts=["Writes tests"], level=1)
@example(topics=[LONG_TOPIC], texts=[LONG_TEXT], level=20)
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**PLAIN_NAMES)
def test_any_topic_and_criterion_text_import_to_valid_ids(
        tmp_path: Path, topics: list[str], texts: list[str], level: int) -> None:
    """Any topic names and criterion texts without invisible characters import to valid
    ids, and the written framework loads back unchanged."""
    _, refusal = import_matrix(Path(tempfile.mkdtemp(dir=tmp_path)), topics, texts, level)
    if refusal is not None:
        raise refusal


# --------------------------------------------------------------------------- more refusals


def test_topic_named_two_ways_is_a_bad_row(here: Path) -> None:
    """Two different titles for one topic are refused on the second, naming the first."""
    path = write(here / "ladder.csv", "topic,level,criterion,topic title\n"
                 "Mastery,1,Writes tests,Technical mastery\nMastery,2,Designs,Craft\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:3:4: column D (topic title): topic 'Mastery' is named 'Craft' here but "
        "'Technical mastery' on row 2"
    ]


def test_another_file_defining_the_id_is_refused_even_with_force(here: Path) -> None:
    """A framework file of another name that already defines the id is never replaced."""
    frameworks = here / "ws" / "frameworks"
    imported = read_spreadsheet(write(here / "ladder.csv", LADDER), "ladder", "Ladder")
    write_framework(frameworks, imported.framework)
    (frameworks / "ladder.yaml").rename(frameworks / "engineering.yaml")
    before = snapshot(frameworks)
    with pytest.raises(Conflict) as caught:
        write_framework(frameworks, imported.framework, force=True)
    assert str(caught.value) == ("ws/frameworks/engineering.yaml already defines the "
                                 "framework 'ladder'; choose another --id")
    assert snapshot(frameworks) == before


def test_workbook_unpacking_too_large_is_refused(here: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """A workbook whose parts unpack beyond the limit (a zip bomb) is refused unread."""
    monkeypatch.setattr("rubrics.spreadsheet.MAX_UNPACKED_BYTES", 1000)
    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"], ["A", 1, "x"]])
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    (message,) = [str(p) for p in caught.value.problems]
    assert re.fullmatch(r"ladder\.xlsx: the workbook unpacks to [\d,]+ bytes; at most 1,000",
                        message)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_bundled_framework_as_a_sheet_keeps_its_ids(here: Path, suffix: str) -> None:
    """The bundled backend framework laid out as a matrix imports to the same topics,
    titles, criteria, examples and ids as its Markdown file gives."""
    import csv

    from tests.conftest import SEED

    framework, _ = load_framework(SEED)
    rows: list[list[object]] = [["Topic", "Topic title", "Level", "Criterion", "Examples"]]
    rows += [[t.id, t.title, c.level, c.text, "\n".join(c.examples)]
             for t in framework.topics for c in t.criteria]
    path = here / f"backend{suffix}"
    if suffix == ".xlsx":
        xlsx(path, rows)
    else:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        write(path, buffer.getvalue())
    imported = read_spreadsheet(path, "backend", framework.title)
    assert imported.framework.topics == framework.topics
    assert imported.warnings == []


def test_text_the_loader_would_repair_is_refused(here: Path) -> None:
    """A cell that loading would 'repair' as mojibake is refused on its row, since the
    written framework must load back exactly as imported (found by the property above)."""
    path = write(here / "ladder.csv", "topic,level,criterion\nÀº,1,¡\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:2:1: column A (topic): 'Àº' would read back as '˼' (rubrics repairs text "
        "that looks garbled, and this looks so); reword it"
    ]


# --------------------------------------------------------------------------- red-team fixes


def test_force_never_deletes_the_sheet_or_other_files_of_that_name(here: Path) -> None:
    """--force replaces only framework files named ID: the sheet being imported from
    frameworks/ (and any other non-framework ID.*) stays."""
    frameworks = here / "ws" / "frameworks"
    write(frameworks / "ladder.csv", LADDER)
    write(frameworks / "ladder.txt", "notes")
    code, out, err = import_cli("ws/frameworks/ladder.csv", "--id", "ladder", "--title", "L",
                                "-w", "ws", "--force")
    assert (code, out, err) == (0, "wrote ws/frameworks/ladder.yaml: 2 topics, 2 levels, "
                                   "4 criteria\n", "")
    assert sorted(snapshot(frameworks)) == ["ladder.csv", "ladder.txt", "ladder.yaml"]


def test_the_sheet_itself_is_never_replaced(here: Path) -> None:
    """A sheet that the written file would replace (a link named ID.yaml to it) is refused."""
    frameworks = here / "ws" / "frameworks"
    sheet = write(here / "ladder.csv", LADDER)
    (frameworks / "ladder.yaml").symlink_to(sheet)
    imported = read_spreadsheet(sheet, "ladder", "Ladder")
    with pytest.raises(Conflict) as caught:
        write_framework(frameworks, imported.framework, force=True, source=sheet)
    assert str(caught.value) == ("ladder.csv is the file being imported and --id 'ladder' "
                                 "would replace it; choose another --id")
    assert sheet.read_text() == LADDER


def _rewrite_part(path: Path, part: str, change: Callable[[str], str]) -> None:
    """Rewrite one part of a workbook in place (as another program might have saved it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                data = change(data.decode()).encode()
            dst.writestr(info, data)
    path.write_bytes(out.getvalue())


@pytest.mark.parametrize("ref", ["A1:B4", "A1"])
def test_xlsx_with_a_stale_dimension_is_read_whole(here: Path, ref: str) -> None:
    """A workbook whose stored size is wrong still gives every row."""
    rows: list[list[object]] = [["Topic", "Level", "Criterion"]]
    rows += [["Mastery", 1, f"Does thing {n}"] for n in range(9)]
    path = xlsx(here / "ladder.xlsx", rows)
    _rewrite_part(path, "xl/worksheets/sheet1.xml",
                  lambda xml: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="{ref}"', xml))
    assert len(criteria(path)) == 9


@pytest.mark.parametrize(("change", "reason"), [
    (lambda xml: xml[: len(xml) // 2], "unclosed token: line 1, column"),
    (lambda xml: xml.replace("<v>1</v>", "<v>zz</v>", 1), "invalid literal for int() with base 10: 'zz')"),
])
def test_damaged_xlsx_is_one_line_not_a_traceback(here: Path, change: Callable[[str], str],
                                                  reason: str) -> None:
    """Sheet XML cut short or a number cell holding letters is one problem, exit 1."""
    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"], ["A", 1, "x"]])
    _rewrite_part(path, "xl/worksheets/sheet1.xml", change)
    code, out, err = import_cli("ladder.xlsx", "--id", "ladder", "--title", "L", "-w", "ws")
    assert (code, out) == (1, "")
    first, second = err.splitlines()
    assert first.startswith(f"ladder.xlsx: not a readable .xlsx workbook ({reason}")
    assert second == "1 problem found, nothing written"


def test_damaged_xlsx_reason_has_no_python_quoting(here: Path) -> None:
    """A workbook missing a part names it without a KeyError's quotes."""
    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"], ["A", 1, "x"]])
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != "[Content_Types].xml":
                dst.writestr(info, src.read(info))
    path.write_bytes(out.getvalue())
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx: not a readable .xlsx workbook (There is no item named "
        "'[Content_Types].xml' in the archive)"]


def test_a_sheet_at_the_row_limit_imports_and_loads_back(here: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """At the row limit, with the YAML value limit scaled down in proportion (20 values a
    row), a sheet of one topic per row with an example each imports and loads back."""
    monkeypatch.setattr("rubrics.spreadsheet.MAX_ROWS", 200)
    assert MAX_ROWS * 20 == 200_000  # the real limits: 10,000 rows, 200,000 values
    monkeypatch.setattr("rubrics.yamlio.MAX_NODES", 200 * 20)
    body = "".join(f"Topic {n},{n % 20 + 1},Does thing {n},Example {n}\n" for n in range(199))
    path = write(here / "big.csv", "topic,level,criterion,examples\n" + body)
    imported = read_spreadsheet(path, "big", "Big")
    written = write_framework(here / "ws" / "frameworks", imported.framework, data=imported.data)
    assert load_framework(written.path)[0] == imported.framework


def test_a_framework_too_big_to_load_is_refused_in_words(here: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """More values than a document may hold is said as such, naming the sheet: never an
    alias bomb in a file that does not exist."""
    monkeypatch.setattr("rubrics.yamlio.MAX_NODES", 100)
    examples = "\n".join(f"Example {n}" for n in range(100))
    path = write(here / "big.csv", f'topic,level,criterion,examples\nA,1,x,"{examples}"\n')
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "big", "Big")
    assert [str(p) for p in caught.value.problems] == [
        "big.csv: the framework would hold 130 values (ids, texts, examples); rubrics loads "
        "at most 100: split the sheet into smaller frameworks or keep fewer examples"]


def test_validate_reports_two_files_defining_one_framework_id(here: Path) -> None:
    """`rubrics validate` names both files that define one framework id; exit 1."""
    frameworks = here / "ws" / "frameworks"
    imported = read_spreadsheet(write(here / "ladder.csv", LADDER), "my-ladder", "Ladder")
    write_framework(frameworks, imported.framework)
    (frameworks / "team.yaml").write_bytes((frameworks / "my-ladder.yaml").read_bytes())
    result = CliRunner().invoke(app, ["validate", "-w", "ws"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.splitlines()[0] == (
        "ws/frameworks/team.yaml: defines the framework 'my-ladder', which "
        "ws/frameworks/my-ladder.yaml already defines: give each framework its own id (or "
        "remove one file)")


def test_force_over_a_framework_roles_use_warns_per_broken_role(workspace: Path,
                                                                tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """Replacing the framework a role rates against warns, once per role that no longer
    validates, with its problem count; the import itself succeeds."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ladder.csv", LADDER)
    code, out, err = import_cli("ladder.csv", "--id", "backend", "--title", "B", "-w", "ws",
                                "--force")
    assert code == 0 and out.startswith("wrote ws/frameworks/backend.yaml")
    assert re.fullmatch(r"ws/roles/senior-backend-money-movement\.yaml: warning: uses the "
                        r"framework 'backend' and does not validate against it \(\d+ problems; "
                        r"run `rubrics validate`\)\n", err), err


@pytest.mark.parametrize("framework_id", ["generic", "base"])
def test_importing_a_base_id_warns(here: Path, framework_id: str) -> None:
    """An import named generic or base becomes the base of the progression files next to
    it: one warning line says so."""
    write(here / "ladder.csv", LADDER)
    code, out, err = import_cli("ladder.csv", "--id", framework_id, "--title", "B", "-w", "ws")
    assert (code, out) == (0, f"wrote ws/frameworks/{framework_id}.yaml: 2 topics, 2 levels, "
                              "4 criteria\n")
    assert err == (f"ws/frameworks/{framework_id}.yaml: warning: is now the base framework: "
                   "the progression-format (.md) files next to it inherit its criteria for the "
                   "topics they share; choose another --id if that is not meant\n")


@pytest.mark.parametrize("cell", ["\u200b", "\u200b \u2060", "\xad"])
def test_a_cell_of_invisible_characters_is_blank(here: Path, cell: str) -> None:
    """A criterion cell holding only invisible characters is an empty cell, not an
    invisible criterion."""
    path = write(here / "ladder.csv", f"topic,level,criterion\nMastery,1,{cell}\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:2:3: column C (criterion): empty: each row is one behaviour"]


def test_an_invisible_character_in_a_topic_is_a_bad_cell(here: Path) -> None:
    """A topic holding a zero-width space would look like another topic: a bad cell."""
    path = write(here / "ladder.csv", "topic,level,criterion\nMas\u200btery,1,Writes tests\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.csv:2:1: column A (topic): contains the invisible character U+200B; remove it"]


def test_losing_a_concurrent_import_is_a_clear_conflict(here: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """When another import writes ID.yaml first, the message names ID.yaml, not a temp file."""
    import rubrics.spreadsheet as spreadsheet

    frameworks = here / "ws" / "frameworks"
    imported = read_spreadsheet(write(here / "ladder.csv", LADDER), "ladder", "Ladder")
    real = spreadsheet.atomic_write

    def other_import_first(path: Path, data: bytes, *, exclusive: bool = False) -> None:
        path.write_bytes(b"id: ladder\n")
        real(path, data, exclusive=exclusive)

    monkeypatch.setattr(spreadsheet, "atomic_write", other_import_first)
    with pytest.raises(Conflict) as caught:
        write_framework(frameworks, imported.framework)
    assert str(caught.value) == ("ws/frameworks/ladder.yaml appeared while importing (another "
                                 "import at the same time?); nothing written: run the import "
                                 "again")


def test_rows_using_another_delimiter_than_the_header_get_a_hint(here: Path) -> None:
    """A `,` header over `;` rows reads each row as one cell: the hint says why."""
    path = write(here / "ladder.csv", "topic,level,criterion\nMastery;1;Writes tests\n"
                 "Mastery;2;Designs\n")
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert caught.value.hint == ("the header row is separated by commas but most rows by "
                                 "semicolons: use one delimiter throughout")


def test_excel_sep_line_sets_the_delimiter(here: Path) -> None:
    """Excel's `sep=;` first line chooses the delimiter and is not a row."""
    path = write(here / "ladder.csv", "sep=;\r\n" + LADDER.replace(",", ";"))
    assert criteria(path) == EXPECTED


def test_a_title_row_above_the_header_gets_a_hint(here: Path) -> None:
    """A title row above the header is refused with a hint naming the header's row."""
    path = write(here / "ladder.csv", "Engineering ladder 2024,,\n" + LADDER)
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert caught.value.hint == ("the first non-empty row must be the header: row 2 looks "
                                 "like it; delete the rows above it")


def test_xlsx_date_in_the_level_column_is_shown_as_a_date(here: Path) -> None:
    """A date where a level belongs is shown as YYYY-MM-DD in the problem."""
    from datetime import datetime

    path = xlsx(here / "ladder.xlsx", [["Topic", "Level", "Criterion"],
                                       ["A", datetime(2024, 1, 3), "x"]])
    with pytest.raises(InvalidInput) as caught:
        read_spreadsheet(path, "ladder", "Ladder")
    assert [str(p) for p in caught.value.problems] == [
        "ladder.xlsx:2:2: column B (level): '2024-01-03' is not a level: write 3, L3 or Level 3"]


def test_only_short_numbers_are_bullets() -> None:
    """`1.` and `12)` bullets are dropped; a year starting an example is kept."""
    assert split_examples("1. First\n12) Twelfth\n2024. year of the rewrite\n3.5 days") == [
        "First", "Twelfth", "2024. year of the rewrite", "3.5 days"]
