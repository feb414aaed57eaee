"""Reading the CSV files people export from spreadsheets: text and delimiter.

Both CSVs rubrics reads (a candidates list, a framework matrix) come from Excel or
LibreOffice, so they share what that means: UTF-8 with or without Excel's byte order mark
(any other encoding refused on its first bad byte), Excel's ``sep=;`` first line, and
columns separated by commas, semicolons (where the comma is the decimal mark) or tabs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rubrics.errors import InvalidInput, Problem
from rubrics.yamlio import decode_text, not_utf8

DELIMITERS = (",", ";", "\t")
"""What separates columns: a comma, or the semicolon Excel uses where the comma is the
decimal mark (much of Europe), or a tab."""
_SEP_LINE = re.compile(r"sep=(.)\r?\n", re.IGNORECASE)  # Excel's delimiter line


def decode_csv(name: str, raw: bytes, hint: str) -> tuple[str, list[Problem]]:
    """The text of a CSV and the warnings decoding it gave (mojibake repaired); a file that
    is not UTF-8 is refused on its first bad byte, with ``hint`` on how to save it."""
    try:
        return decode_text(name, raw)
    except InvalidInput as exc:
        raise InvalidInput(exc.problems, hint if not_utf8(name, raw) else None) from None


def split_sep_line(text: str) -> tuple[str, str | None]:
    """The text without Excel's ``sep=;`` first line (Excel shows it as no row), and the
    delimiter that line names (None when there is none)."""
    sep = _SEP_LINE.match(text)
    return (text[sep.end():], sep.group(1)) if sep else (text, None)


def sniff_delimiter(text: str, accept: Callable[[str], bool] | None = None) -> str:
    """',', ';' or a tab: of the delimiters ``accept`` takes for the header line (all, when
    it takes none or is not given), whichever the header uses most outside quotes (',' on
    a tie)."""
    header = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", header)
    accepted = [d for d in DELIMITERS if accept is None or accept(d)] or list(DELIMITERS)
    return max(accepted, key=unquoted.count)  # the first of a tie: ',' leads DELIMITERS


def delimiter_name(delimiter: str) -> str:
    """The delimiter as a message names it: 'commas', 'semicolons', 'tabs'."""
    return {",": "commas", ";": "semicolons", "\t": "tabs"}.get(delimiter, f"'{delimiter}'")
