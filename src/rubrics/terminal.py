"""Text made safe for a terminal: what the CLI prints passes through here last.

A name, a YAML key, a framework title or a file name can hold terminal escapes (``ESC ]0;``
retitles the window, ``ESC [2J`` clears the screen, ``BEL`` rings) or direction overrides
(``U+202E`` shows the rest of a line backwards). Printed raw, they let a file rewrite what
the user sees. Here each such character becomes a visible escape, as Python writes it
(``\\x1b``, ``\\u202e``, ``\\n``), so the user sees that it is there and what it is.

Everything else (accents, emoji with their joiners and variation selectors, other scripts)
passes unchanged. This module imports nothing outside the standard library at import time.
"""

from __future__ import annotations

import json
import re
from typing import Any

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Marks, embeddings, overrides and isolates that reorder how a line is shown."""

_UNSAFE = frozenset(
    [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
    + ["\u2028", "\u2029"]
) | BIDI_CONTROLS
"""C0 and C1 controls (C1 holds an 8-bit CSI, U+009B), DEL, Unicode line and paragraph
separators, and direction controls."""


def _escape(ch: str) -> str:
    return repr(ch)[1:-1]  # '\x1b', '\u202e', '\n', '\t': as Python writes them


def _pattern(chars: set[str] | frozenset[str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]")


_LINE = _pattern(_UNSAFE - {"\t"})
_LINES = _pattern(_UNSAFE - {"\t", "\n"})
_JSON = _pattern(_UNSAFE - {chr(c) for c in range(0x20)})


def line(text: str) -> str:
    """``text`` as one terminal line: controls, line breaks and direction controls shown as
    escapes (a line break in a one-line message must not start a forged line); tabs kept."""
    if text.isprintable():  # the usual case, and fast
        return text
    return _LINE.sub(lambda m: _escape(m.group()), text)


def lines(text: str) -> str:
    """Several lines of ``text`` for a terminal: as :func:`line`, but line breaks kept."""
    if text.isprintable():
        return text
    return _LINES.sub(lambda m: _escape(m.group()), text)


def json_text(text: str) -> str:
    """JSON text that a terminal shows as it is, and that still parses to the same data.

    ``json.dumps`` escapes C0 controls itself, but with ``ensure_ascii=False`` it leaves
    DEL, C1 controls and direction controls raw. Those can only stand inside a JSON string,
    where ``\\uXXXX`` means the same character, so the data does not change."""
    return _JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_dumps(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` for a terminal: as :func:`json_text` of its result."""
    return json_text(json.dumps(data, **kwargs))


def markup(text: str) -> str:
    """``text`` as rich markup for one line of a table, escapes already shown (so its width
    can be measured as printed) and ``[`` taken literally."""
    from rich.markup import escape

    return escape(line(text))


def console(**kwargs: Any) -> Any:
    """A rich ``Console`` whose every string (table cells, titles, printed markup) is made
    safe by :func:`lines` before rich reads it: rich's markup escaping keeps ``ESC``."""
    return _console_class()(**kwargs)


_SAFE_CONSOLE: Any = None


def _console_class() -> Any:
    global _SAFE_CONSOLE
    if _SAFE_CONSOLE is None:
        from rich.console import Console

        class SafeConsole(Console):
            def render_str(self, text: str, **kwargs: Any) -> Any:
                return super().render_str(lines(text), **kwargs)

        _SAFE_CONSOLE = SafeConsole
    return _SAFE_CONSOLE
