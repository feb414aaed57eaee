"""Importing a framework kept as a spreadsheet matrix: one row per behaviour.

A sheet (CSV or .xlsx) has a header row naming the columns ``topic``, ``level`` and
``criterion`` (optionally ``examples``, ``level name`` and ``topic title``), in any order;
every later row is one criterion. :func:`read_spreadsheet` turns it into a
:class:`Framework` with the same derived ids as the Markdown import (rubrics.ids), and
:func:`write_framework` puts it into a workspace as native YAML. See docs/formats.md,
"Spreadsheet matrix (imported)".
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rubrics.csvtext import DELIMITERS, decode_csv, delimiter_name, sniff_delimiter, split_sep_line
from rubrics.errors import (
    Conflict,
    InvalidInput,
    Problem,
    Severity,
    display_path,
    problem,
    shorten,
)
from rubrics.fsutil import atomic_write
from rubrics.ids import criterion_id, disambiguate, topic_id
from rubrics.model import ID_PATTERN, Framework, unsafe_text
from rubrics.yamlio import MAX_BYTES, decode_text, read_bytes

if TYPE_CHECKING:
    from rubrics.workspace import Workspace

SUFFIXES = (".csv", ".xlsx")
MAX_ROWS = 10_000  # far beyond any real ladder; imports in seconds (BENCHMARKS.md)
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
MAX_COLUMNS = 200
MAX_ID_CHARS = 120  # model.Identifier
MAX_CELL_CHARS = 20_000  # the longest text a framework holds (model.Text)
UTF8_HINT = ('save the sheet as "CSV UTF-8 (Comma delimited)" (Excel) or choose UTF-8 '
             "as the character set when exporting")

# Every header, compared after folding case, spacing, '_' and '-' (see _fold).
COLUMNS: dict[str, tuple[str, ...]] = {
    "topic": ("topic", "area", "competency"),
    "level": ("level",),
    "criterion": ("criterion", "criteria", "behaviour", "behavior", "behaviours",
                  "behaviors", "expectation"),
    "examples": ("examples", "example"),
    "level_name": ("level name", "level title"),
    "topic_title": ("topic title",),
}
REQUIRED = ("topic", "level", "criterion")
_NAMES = ("topic", "level", "level_name", "topic_title")  # one line, nothing invisible
_LEVEL = re.compile(r"(?:l|level)?\s*(\d{1,3})(?:\.0+)?", re.IGNORECASE)
_BULLET = re.compile(r"^(?:[-*•·]|\d{1,2}[.)])\s+")  # "2024. year" is no bullet
# What a damaged workbook raises while openpyxl reads it (XML errors are SyntaxErrors).
_DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, ValueError, TypeError, IndexError,
            AttributeError, EOFError, OSError, SyntaxError)


@dataclass(frozen=True)
class Row:
    """One row of the sheet: its number as the spreadsheet shows it and its cells' text."""

    number: int
    cells: list[str]


@dataclass(frozen=True)
class Entry:
    """One criterion row, read and checked; blank topic and level cells filled in."""

    row: int
    topic: str
    level: int
    text: str
    examples: list[str]
    level_name: str
    topic_title: str


@dataclass
class Imported:
    """A framework read from a spreadsheet, with what the user should know about it, and
    the native YAML it is written as (checked to load back exactly; None: not made yet)."""

    framework: Framework
    warnings: list[Problem] = field(default_factory=list)
    data: bytes | None = None


# --------------------------------------------------------------------------- reading


def check_names(framework_id: str, title: str) -> None:
    """Raise ValueError unless ``framework_id`` can name a framework (and its file) and
    ``title`` is a title."""
    if _id_problem(framework_id):
        raise ValueError(f"--id: '{shorten(framework_id)}' is not an id: use lower-case "
                         "letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not title.strip():
        raise ValueError("--title: give the framework a title")


def _id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid id (model.Identifier), or None."""
    if not value:
        return "it is empty"
    if len(value) > MAX_ID_CHARS:
        return f"it is {len(value)} characters long; at most {MAX_ID_CHARS}"
    if not re.fullmatch(ID_PATTERN, value):
        return "it holds characters an id may not"
    return None


def read_spreadsheet(path: Path, framework_id: str, title: str, *, sheet: str | None = None
                     ) -> Imported:
    """The framework a CSV or .xlsx matrix describes; raise InvalidInput listing every bad
    row (row numbers as the spreadsheet shows them, the header being row 1)."""
    name = str(path)
    raw = read_bytes(path, max_bytes=MAX_BYTES, what="a spreadsheet is at most")
    warnings: list[Problem] = []
    delimiter = None
    if path.suffix.lower() == ".xlsx":
        rows = _rows_xlsx(name, raw, sheet)
    else:
        rows, warnings, delimiter = _rows_csv(name, raw)
    header, body = _split_header(name, rows)
    columns, column_warnings = _columns(name, header, body)
    entries, problems = _entries(name, body, columns)
    hint = _delimiter_hint(body, delimiter) if problems else None
    if not entries:
        if not problems:
            problems.append(problem(name, "no criteria: the sheet has a header row but no "
                                    "rows", header.number))
        raise InvalidInput(problems, hint)
    try:  # names that disagree and ids that cannot be made, among the good rows too
        framework, build_warnings = _build(name, framework_id, title, entries, columns)
    except InvalidInput as exc:
        problems += exc.problems
    if problems:
        raise InvalidInput(problems, hint)
    _check_values(name, framework)
    data, problems = _reload_problems(name, framework, entries, columns)
    if problems:
        raise InvalidInput(problems)
    return Imported(framework, sorted([*warnings, *column_warnings, *build_warnings],
                                      key=lambda p: (p.line or 0, p.column or 0)), data)


def _rows_csv(name: str, raw: bytes) -> tuple[list[Row], list[Problem], str]:
    """Rows of a CSV and its delimiter (rubrics.csvtext: UTF-8, Excel's ``sep=;`` line,
    else sniffed from the header line); a quoted cell may hold line breaks."""
    text, warnings = decode_csv(name, raw, UTF8_HINT)
    text, named = split_sep_line(text)
    delimiter = named or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[Row] = []
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            raise InvalidInput([problem(name, _csv_error(exc), len(rows) + 1)]) from None
        if cells is None:
            return rows, warnings, delimiter
        _check_row_count(name, len(rows) + 1)
        rows.append(Row(len(rows) + 1, [_clean(c) for c in cells]))


def _clean(cell: str) -> str:
    """A cell's text stripped; a cell of nothing but spaces and invisible characters
    (a zero-width space, say) is blank, not an invisible topic or criterion."""
    text = cell.strip()
    if all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc") for ch in text):
        return ""
    return text


def _delimiter_hint(rows: list[Row], delimiter: str | None) -> str | None:
    """Why most rows read as one cell, when each holds the delimiter another one uses."""
    filled = [[c for c in r.cells if c] for r in rows]
    filled = [cells for cells in filled if cells]
    if delimiter is None or not filled:
        return None
    for other in (d for d in DELIMITERS if d != delimiter):
        one_cell = [cells for cells in filled if len(cells) == 1 and other in cells[0]]
        if len(one_cell) * 2 > len(filled):
            return (f"the header row is separated by {delimiter_name(delimiter)} but most "
                    f"rows by {delimiter_name(other)}: use one delimiter throughout")
    return None


def _csv_error(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return "a quoted cell is never closed (a '\"' missing?)"
    return f"not a readable CSV: {exc}"


def _rows_xlsx(name: str, raw: bytes, sheet: str | None) -> list[Row]:
    """Rows of one worksheet, as Excel last saved their values (data_only). A formula
    whose value was never saved (the file was written by a program, not Excel) is a bad
    cell: reading it as blank would silently move or drop a criterion."""
    values, formulas = (_worksheet(name, raw, sheet, data_only=flag) for flag in (True, False))
    rows: list[Row] = []
    problems: list[Problem] = []
    for number, (cached, written) in enumerate(zip(values, formulas, strict=False), 1):
        _check_row_count(name, number)
        for column, (value, formula) in enumerate(zip(cached, written, strict=False), 1):
            if value is None and isinstance(formula, str) and formula.startswith("="):
                problems.append(_cell_problem(
                    name, number, column, "", "a formula with no saved value: open the file "
                    "in Excel (or LibreOffice) and save it, so its values are stored"))
        rows.append(Row(number, [_clean(cell_text(v)) for v in cached]))
    if problems:
        raise InvalidInput(problems)
    return rows


def _worksheet(name: str, raw: bytes, sheet: str | None, *, data_only: bool
               ) -> Iterator[tuple[Any, ...]]:
    """The rows of the named (else the first) worksheet, opened read-only."""
    import openpyxl

    _check_unpacked_size(name, raw)
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only)
    except _DAMAGED as exc:
        raise _unreadable(name, exc) from None
    try:
        names = [ws.title for ws in book.worksheets]
        if not names or (sheet is not None and sheet not in names):
            what = f"no worksheet named '{shorten(sheet)}'" if sheet is not None else "no worksheets"
            known = ", ".join(f"'{n}'" for n in names) or "none"
            raise InvalidInput([problem(name, f"{what} (the workbook has: {known})")])
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        if hasattr(ws, "reset_dimensions"):  # read-only: the stored size may be stale
            ws.reset_dimensions()
        yield from ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    except _DAMAGED as exc:  # a damaged part shows only when its rows are read
        raise _unreadable(name, exc) from None
    finally:
        book.close()


def _unreadable(name: str, exc: BaseException) -> InvalidInput:
    """One problem for a damaged workbook, its reason in words (a KeyError's message is
    shown without Python's quotes)."""
    reason = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    reason = shorten(reason.strip() or type(exc).__name__, 120)
    return InvalidInput([problem(name, f"not a readable .xlsx workbook ({reason})")])


def _check_unpacked_size(name: str, raw: bytes) -> None:
    """Refuse a workbook whose parts unpack to more than MAX_UNPACKED_BYTES (a zip bomb):
    a part is never read past the size its entry declares."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except _DAMAGED as exc:
        raise _unreadable(name, exc) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput([problem(name, f"the workbook unpacks to {unpacked:,} bytes; at "
                                    f"most {MAX_UNPACKED_BYTES:,}")])


def cell_text(value: Any) -> str:
    """A cell's value as text: whole numbers without '.0' (a level typed 3 is stored 3.0),
    dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()  # Excel stores every date as a date and time
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _check_row_count(name: str, number: int) -> None:
    if number > MAX_ROWS:
        raise InvalidInput([problem(name, f"more than {MAX_ROWS:,} rows: not a framework "
                                    "(is this the right sheet?)", number)])


# --------------------------------------------------------------------------- columns


def _fold(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header).strip().lower()


def _split_header(name: str, rows: list[Row]) -> tuple[Row, list[Row]]:
    """The header is the first row with anything in it; rows above it are blank."""
    for i, row in enumerate(rows):
        if any(row.cells):
            return row, rows[i + 1 :]
    raise InvalidInput([problem(name, "the sheet is empty: it needs a header row naming "
                                "topic, level and criterion columns")])


def _columns(name: str, header: Row, body: list[Row]) -> tuple[dict[str, int], list[Problem]]:
    """Which cell of a row holds each field; unknown headers warn and are ignored."""
    synonyms = {s: key for key, names in COLUMNS.items() for s in names}
    found: dict[str, int] = {}
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for index, cell in enumerate(header.cells):
        if not cell:
            continue
        key = synonyms.get(_fold(cell))
        if key is None:
            warnings.append(_cell_problem(name, header.number, index + 1, "",
                                          f"column '{shorten(cell)}' ignored (not one rubrics "
                                          "reads)", Severity.WARNING))
        elif key in found:
            problems.append(_cell_problem(name, header.number, index + 1, "",
                                          f"a second {_label(key)} column ('{shorten(cell)}')"))
        else:
            found[key] = index
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        shown = ", ".join(f"'{shorten(c)}'" for c in header.cells if c) or "nothing"
        problems.append(problem(name, f"no {' or '.join(missing)} column: the header row "
                                f"has {shown}; it needs topic, level and criterion", header.number))
    if problems:
        raise InvalidInput(problems, _header_below(body, synonyms) if missing else None)
    return found, warnings


def _header_below(body: list[Row], synonyms: dict[str, str]) -> str | None:
    """A hint when a row a little further down names every required column (a title
    row above the header, say)."""
    for row in body[:10]:
        if set(REQUIRED) <= {synonyms.get(_fold(c)) for c in row.cells}:
            return (f"the first non-empty row must be the header: row {row.number} looks "
                    "like it; delete the rows above it")
    return None


def _label(key: str) -> str:
    return key.replace("_", " ")


def column_letter(number: int) -> str:
    """A column's letter as a spreadsheet shows it: 1 → A, 27 → AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell_problem(name: str, row: int, column: int, key: str, message: str,
                  severity: Severity = Severity.ERROR) -> Problem:
    what = f" ({_label(key)})" if key else ""
    return problem(name, f"column {column_letter(column)}{what}: {message}", row, column,
                   severity)


# --------------------------------------------------------------------------- rows


def parse_level(text: str) -> int | None:
    """A level cell's number: "3", "3.0", "L3" and "Level 3" are 3; None if not a level."""
    match = _LEVEL.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def split_examples(text: str) -> list[str]:
    """An examples cell holds one example per line; list bullets are dropped."""
    lines = (_BULLET.sub("", line.strip()).strip() for line in text.splitlines())
    return [line for line in lines if line]


def _entries(name: str, rows: list[Row], columns: dict[str, int]
             ) -> tuple[list[Entry], list[Problem]]:
    """Every criterion row, or a problem for each bad one. A blank topic cell repeats the
    topic above (merged cells read as blank below their first row); a blank level cell
    repeats the level above, within the same topic."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    topic, level = "", 0  # 0: no level above in this topic; -1: the one above was bad
    for row in rows:
        cell = {key: row.cells[i] if i < len(row.cells) else "" for key, i in columns.items()}
        if not any(cell.values()):
            continue
        if cell["topic"] and cell["topic"] != topic:
            topic, level = cell["topic"], 0
        found, number = _row_problems(name, row.number, columns, cell, topic, level)
        if cell["level"]:
            level = number if number is not None else -1
        if found or number is None:
            problems.extend(found)
            continue
        entries.append(Entry(row.number, topic, number, cell["criterion"],
                             split_examples(cell.get("examples", "")),
                             cell.get("level_name", ""), cell.get("topic_title", "")))
    return entries, problems


def _row_problems(name: str, row: int, columns: dict[str, int], cell: dict[str, str],
                  topic: str, above: int) -> tuple[list[Problem], int | None]:
    """What is wrong with one row's cells, each named by its column, and the row's level
    (None when it has none; a blank level under a bad one is not reported twice)."""
    found: list[tuple[str, str]] = []
    if not topic:
        found.append(("topic", "empty, and no topic above it to repeat"))
    number: int | None = above if above > 0 else None
    if cell["level"]:
        number = parse_level(cell["level"])
        if number is None:
            found.append(("level", f"'{shorten(cell['level'])}' is not a level: write 3, "
                                   "L3 or Level 3"))
        elif not 1 <= number <= 20:
            found.append(("level", f"{number} is outside 1-20"))
            number = None
    elif above == 0 and topic:
        found.append(("level", "empty, and no level above it in this topic to repeat"))
    if not cell["criterion"]:
        found.append(("criterion", "empty: each row is one behaviour"))
    for key, text in cell.items():
        if len(text) > MAX_CELL_CHARS:
            found.append((key, f"{len(text):,} characters; at most {MAX_CELL_CHARS:,}"))
        elif why := unsafe_text(text, single_line=key in _NAMES):
            found.append((key, why))
    problems = [_cell_problem(name, row, columns[key] + 1, key, msg) for key, msg in found]
    return problems, number


# --------------------------------------------------------------------------- framework


def _build(name: str, framework_id: str, title: str, entries: list[Entry],
           columns: dict[str, int]) -> tuple[Framework, list[Problem]]:
    """The framework the rows describe; raise InvalidInput for names that disagree."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    at = _Locator(name, columns)
    level_names = _named_once(at, entries, "level_name", lambda e: str(e.level), problems)
    by_topic: dict[str, list[Entry]] = {}
    for entry in entries:
        by_topic.setdefault(_topic_id(entry.topic), []).append(entry)
    topic_titles = _named_once(at, entries, "topic_title", lambda e: _topic_id(e.topic),
                               problems)
    topics = [_topic(at, topic_id, rows, topic_titles, warnings)
              for topic_id, rows in by_topic.items()]
    if problems:
        raise InvalidInput(problems)
    count = max(e.level for e in entries)
    raw = {
        "id": framework_id,
        "title": title,
        "levels": [{"number": n, "name": level_names.get(str(n))} for n in range(1, count + 1)],
        "topics": topics,
    }
    try:
        return Framework.model_validate(raw), warnings
    except ValidationError as exc:  # ids are checked above; this is the last line of defence
        raise InvalidInput([problem(name, f"cannot build the framework: {e['msg']}")
                            for e in exc.errors()]) from None


def _topic_id(name: str) -> str:
    """A topic's id, derived as the Markdown import derives it (rubrics.ids)."""
    return topic_id(name)


@dataclass(frozen=True)
class _Locator:
    """Problems about a row's cell, named by the column that holds a field."""

    name: str
    columns: dict[str, int]

    def __call__(self, entry: Entry, key: str, message: str,
                 severity: Severity = Severity.ERROR) -> Problem:
        return _cell_problem(self.name, entry.row, self.columns[key] + 1, key, message,
                             severity)


def _named_once(at: _Locator, entries: list[Entry], key: str, owner: Callable[[Entry], str],
                problems: list[Problem]) -> dict[str, str]:
    """The name each owner (a level, a topic) is given in the ``key`` column; an owner
    named two ways is a bad row."""
    names: dict[str, tuple[str, Entry]] = {}
    for entry in entries:
        value = getattr(entry, key)
        if not value:
            continue
        first = names.setdefault(owner(entry), (value, entry))
        if first[0] != value:
            what = f"level {entry.level}" if key == "level_name" else f"topic '{entry.topic}'"
            problems.append(at(entry, key, f"{shorten(what)} is named '{shorten(value)}' "
                               f"here but '{shorten(first[0])}' on row {first[1].row}"))
    return {owner_key: value for owner_key, (value, _) in names.items()}


def _topic(at: _Locator, topic_id: str, entries: list[Entry], titles: dict[str, str],
           warnings: list[Problem]) -> dict[str, Any]:
    """One topic: its title and its criteria by level, duplicates merged, ids derived."""
    first = entries[0]  # (derived ids are always valid: rubrics.ids)
    spellings = {e.topic: e for e in reversed(entries)}  # each spelling at its first row
    for spelling, entry in spellings.items():
        if spelling != first.topic:
            warnings.append(at(entry, "topic", f"'{shorten(spelling)}' is read as the topic "
                               f"'{shorten(first.topic)}' of row {first.row} (same id "
                               f"'{shorten(topic_id)}')", Severity.WARNING))
    criteria: list[dict[str, Any]] = []
    for level in sorted({e.level for e in entries}):
        criteria += _criteria(at, topic_id, level, [e for e in entries if e.level == level],
                              warnings)
    return {"id": topic_id, "title": titles.get(topic_id) or first.topic, "criteria": criteria}


def _criteria(at: _Locator, topic_id: str, level: int, entries: list[Entry],
              warnings: list[Problem]) -> list[dict[str, Any]]:
    """The criteria of one topic and level: a repeated row warns and is merged into the
    first (examples kept), and each gets its derived id."""
    unique: dict[str, tuple[Entry, list[str]]] = {}
    for entry in entries:
        if entry.text in unique:
            kept, examples = unique[entry.text]
            warnings.append(at(entry, "criterion", f"repeats row {kept.row} (same topic, level "
                               "and criterion); merged", Severity.WARNING))
            examples += [x for x in entry.examples if x not in examples]
            continue
        unique[entry.text] = (entry, list(entry.examples))
    texts = list(unique)
    ids, collided = disambiguate(topic_id, level, texts)
    out: list[dict[str, Any]] = []
    for cid, text in zip(ids, texts, strict=True):
        entry, examples = unique[text]
        if criterion_id(topic_id, level, text) in collided:
            warnings.append(at(entry, "criterion", f"shares its id's words with another "
                               f"criterion of level {level}; given the id '{cid}' (reword "
                               "its opening to keep ids readable)", Severity.WARNING))
        out.append({"id": cid, "level": level, "text": text, "examples": examples})
    return out


def _check_values(name: str, framework: Framework) -> None:
    """Refuse a framework too big for rubrics to load back: its YAML would hold more
    values than a document may (yamlio.MAX_NODES, counted as yamlio counts them)."""
    from rubrics import yamlio

    count = _values(framework.model_dump(mode="json", exclude_none=True))
    if count > yamlio.MAX_NODES:
        raise InvalidInput([problem(name, f"the framework would hold {count:,} values (ids, "
                                    f"texts, examples); rubrics loads at most "
                                    f"{yamlio.MAX_NODES:,}: split the sheet into smaller "
                                    "frameworks or keep fewer examples")])


def _values(data: Any) -> int:
    """How many YAML nodes ``data`` is: itself, and each key and value inside it."""
    if isinstance(data, dict):
        return 1 + sum(1 + _values(v) for v in data.values())
    if isinstance(data, list):
        return 1 + sum(_values(v) for v in data)
    return 1


def _reload_problems(name: str, framework: Framework, entries: list[Entry],
                     columns: dict[str, int]) -> tuple[bytes, list[Problem]]:
    """The framework's YAML, and each text that would not read back as written: loading
    repairs text that looks like mojibake, and a written framework must load back exactly
    as imported. The YAML is parsed again only when repairing would change it."""
    from rubrics.frameworks import framework_to_yaml
    from rubrics.validation import validate_model
    from rubrics.yamlio import read_document

    text = framework_to_yaml(framework)
    data = text.encode("utf-8")
    if decode_text(name, data)[0] == text:  # what loading reads is what was written
        return data, []
    reloaded = validate_model(Framework, read_document(Path(f"{framework.id}.yaml"), raw=data))
    changed = dict(_changed_strings(framework.model_dump(mode="json"),
                                    reloaded.model_dump(mode="json")))
    at = _Locator(name, columns)
    problems: list[Problem] = []
    for before, after in changed.items():
        said = (f"'{shorten(before)}' would read back as '{shorten(after)}' (rubrics repairs "
                "text that looks garbled, and this looks so); reword it")
        where = _first_holding(entries, before)
        problems.append(at(where[0], where[1], said) if where else problem(name, said))
    return data, problems


def _changed_strings(before: Any, after: Any) -> Iterator[tuple[str, str]]:
    """The strings of two dumps of one structure that differ, each with what it became."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            yield from _changed_strings(before[key], after.get(key))
    elif isinstance(before, list) and isinstance(after, list):
        for old, new in zip(before, after, strict=False):
            yield from _changed_strings(old, new)
    elif isinstance(before, str) and before != after:
        yield before, str(after)


def _first_holding(entries: list[Entry], text: str) -> tuple[Entry, str] | None:
    """The first row with a cell holding ``text``, and that cell's field."""
    for entry in entries:
        for key, value in (("topic", entry.topic), ("topic_title", entry.topic_title),
                           ("level_name", entry.level_name), ("criterion", entry.text)):
            if value == text:
                return entry, key
        if text in entry.examples:
            return entry, "examples"
    return None


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Written:
    """Where an imported framework went, and the files it replaced (with --force)."""

    path: Path
    replaced: list[Path]


def write_framework(frameworks_dir: Path, framework: Framework, *, force: bool = False,
                    source: Path | None = None, data: bytes | None = None) -> Written:
    """Write ``framework`` (as ``data``, when already made) to ``<frameworks_dir>/<id>.yaml``,
    atomically. An existing framework file ``<id>.*`` is refused (Conflict) unless
    ``force``; then it is replaced. Another file that defines a framework of the same id,
    or replacing the ``source`` being imported, is always refused."""
    from rubrics.frameworks import framework_to_yaml

    target = frameworks_dir / f"{framework.id}.yaml"
    existing = _same_id_files(frameworks_dir, framework.id)
    if source is not None and any(_same_file(source, p) for p in [target, *existing]):
        raise Conflict(f"{display_path(source)} is the file being imported and --id "
                       f"'{framework.id}' would replace it; choose another --id")
    for path in _defining(frameworks_dir, framework.id):
        if path not in existing:  # --force replaces ID.*, never another file
            raise Conflict(f"{display_path(path)} already defines the framework "
                           f"'{framework.id}'; choose another --id")
    if existing and not force:
        names = ", ".join(display_path(p) for p in existing)
        raise Conflict(f"{names} exists; give --force to replace it, or choose another --id")
    if data is None:
        data = framework_to_yaml(framework).encode("utf-8")
    try:
        atomic_write(target, data, exclusive=not existing)
    except FileExistsError:
        raise Conflict(f"{display_path(target)} appeared while importing (another import at "
                       "the same time?); nothing written: run the import again") from None
    others = [p for p in existing if p != target]
    for path in others:  # frameworks/ID.md would otherwise still be the framework ID
        path.unlink()
    return Written(target, existing)


def _same_id_files(frameworks_dir: Path, framework_id: str) -> list[Path]:
    """The framework files in the folder named ``framework_id`` (``ID.md``, ``ID.yaml``...):
    a spreadsheet or any other file of that name is no framework and is left alone."""
    from rubrics.frameworks import FRAMEWORK_SUFFIXES

    if not frameworks_dir.is_dir():
        return []
    return sorted(p for p in frameworks_dir.iterdir() if p.stem == framework_id
                  and p.suffix.lower() in FRAMEWORK_SUFFIXES and p.is_file())


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def _defining(frameworks_dir: Path, framework_id: str) -> list[Path]:
    """The framework files in the folder that load as a framework with this id."""
    from rubrics.frameworks import FRAMEWORK_SUFFIXES, load_framework

    if not frameworks_dir.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(frameworks_dir.iterdir()):
        if not path.is_file() or path.suffix.lower() not in FRAMEWORK_SUFFIXES:
            continue
        try:
            if load_framework(path)[0].id == framework_id:
                found.append(path)
        except InvalidInput:
            continue  # a broken framework defines nothing; validate reports it
    return found


# --------------------------------------------------------------------------- after writing


def import_notes(workspace: Workspace, framework_id: str) -> list[Problem]:
    """Warnings about what the framework just written changes in ``workspace``: it is the
    base the progression files next to it inherit from (``generic``, or ``base`` with no
    ``generic``), and each role naming it that no longer validates, with its problem count."""
    from rubrics.frameworks import base_file
    from rubrics.validate import validate_file

    notes: list[Problem] = []
    folder = workspace.frameworks_dir
    base = base_file(folder)
    if base is not None and base.stem == framework_id:
        notes.append(problem(folder / f"{framework_id}.yaml", "is now the base framework: the "
                             "progression-format (.md) files next to it inherit its criteria "
                             "for the topics they share; choose another --id if that is not "
                             "meant", severity=Severity.WARNING))
    for role, path in workspace.roles():
        if role.framework != framework_id:
            continue
        errors = [p for p in validate_file(path, workspace) if p.is_error]
        if errors:
            notes.append(problem(path, f"uses the framework '{framework_id}' and does not "
                                 f"validate against it ({len(errors)} problem{'s' * (len(errors) != 1)}; "
                                 "run `rubrics validate`)", severity=Severity.WARNING))
    return notes
