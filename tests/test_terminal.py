"""What reaches the terminal: a name, key, title or file name from a file can hold terminal
escapes or direction overrides, and the CLI shows each as a visible escape, never obeys it."""

from __future__ import annotations

import json

import pytest

from rubrics import terminal

ESC_TITLE = "\x1b]0;PWNED\x07\x1b[2J"
"""Retitles the terminal window, rings the bell and clears the screen, if obeyed."""
SHOWN_TITLE = r"\x1b]0;PWNED\x07\x1b[2J"
BIDI = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069"]
FRIENDLY = "Tomás Álvarez, café 👩‍💼 🚀"
"""Accents, a joined emoji and a plain one: they must pass unchanged."""


def assert_safe(*outputs: str) -> None:
    """No output holds a raw terminal control or direction control."""
    for out in outputs:
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, out
        assert not any(ch in out for ch in BIDI), out


# --------------------------------------------------------------------------- the filter


def test_one_line_shows_controls_line_breaks_and_direction_controls_as_escapes() -> None:
    """A one-line message shows every control (a line break too, so it cannot start a forged
    line), DEL, an 8-bit CSI and every direction control as the escape Python writes."""
    assert terminal.line(f"{ESC_TITLE}Mei\u202eChen\nerror: forged\r\x7f\x9b") == (
        rf"{SHOWN_TITLE}Mei\u202eChen\nerror: forged\r\x7f\x9b")
    assert terminal.line("".join(BIDI)) == "".join(f"\\u{ord(ch):04x}" for ch in BIDI)
    assert terminal.line("a\u2028b\u2029c\tend") == "a\\u2028b\\u2029c\tend"


def test_several_lines_keep_line_breaks_and_tabs() -> None:
    """Text of several lines keeps its line breaks and tabs, and shows the rest as escapes."""
    assert terminal.lines(f"one\n\ttwo{ESC_TITLE}\u2066") == f"one\n\ttwo{SHOWN_TITLE}\\u2066"


@pytest.mark.parametrize("text", [FRIENDLY, "plain ASCII", "Zoë Ñúñez", "李小龙", "שלום עולם",
                                  "👨‍👩‍👧‍👦 family", "❤️ heart", "C:\\Users\\ada", ""])
def test_friendly_text_passes_unchanged(text: str) -> None:
    """Accents, other scripts, emoji with their joiners and variation selectors, and
    backslashes pass unchanged, on one line or several."""
    assert terminal.line(text) == text
    assert terminal.lines(text) == text
    assert terminal.json_text(json.dumps(text, ensure_ascii=False)) == json.dumps(text, ensure_ascii=False)


def test_json_escapes_mean_the_same_data() -> None:
    """JSON for a terminal writes direction controls, DEL and C1 controls as \\u escapes,
    which parse back to the very same data."""
    data = {f"key\u202e{ESC_TITLE}": [f"{FRIENDLY}\u2067\x7f\x85\x9b\u2028", 1, None]}
    shown = terminal.json_dumps(data, indent=2, ensure_ascii=False)
    assert_safe(shown)
    assert "\x7f" not in shown and "\x85" not in shown and "\u2028" not in shown
    assert json.loads(shown) == data
    assert FRIENDLY in shown and "\\u202e" in shown


def test_a_rich_console_shows_escapes_in_markup_and_tables() -> None:
    """A table cell, a table title and printed markup from the safe console show a terminal
    escape as text, and rich markup around it still works."""
    from rich.table import Table

    console = terminal.console(record=True, width=100, color_system=None)
    table = Table(title=f"title{ESC_TITLE}")
    table.add_column("cell")
    table.add_row(f"cell\u202e{ESC_TITLE}")
    console.print(f"[bold]{ESC_TITLE}[/bold] {FRIENDLY}")
    console.print(table)
    out = console.export_text()
    assert_safe(out)
    assert f"{SHOWN_TITLE} {FRIENDLY}" in out
    assert f"title{SHOWN_TITLE}" in out and rf"cell\u202e{SHOWN_TITLE}" in out
