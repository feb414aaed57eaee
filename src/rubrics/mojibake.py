"""Repairing text whose UTF-8 bytes were once decoded with the wrong code page.

The seed framework reached us with its UTF-8 read as Mac Roman ("we‚Äôre" for
"we’re"). Whole-file round trips are exact, so we try those first (Mac Roman,
then Windows-1252); ftfy handles files where only some strings are garbled.
"""

from __future__ import annotations

import unicodedata

import ftfy
from ftfy.badness import badness

_ENCODINGS = ("mac_roman", "cp1252")


def repair(text: str) -> tuple[str, str | None]:
    """Return the repaired text and a note saying what was repaired (None if nothing)."""
    before = badness(text)
    if before == 0:
        return text, None
    for encoding in _ENCODINGS:
        try:
            candidate = text.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _plausible(candidate) and badness(candidate) < before:
            return candidate, f"repaired mojibake: the file's UTF-8 had been read as {_label(encoding)}"
    fixed = ftfy.fix_text(text, uncurl_quotes=False, fix_line_breaks=False, normalization=None)
    if fixed != text and _plausible(fixed) and badness(fixed) < before:
        return fixed, "repaired mojibake in some strings (ftfy)"
    return text, None


def _plausible(candidate: str) -> bool:
    """Whether a repair is text a person wrote: a "repair" that yields a control
    character (say U+008F from "čĀ¸©") turned good text into garbage."""
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in candidate)


def _label(encoding: str) -> str:
    return {"mac_roman": "Mac Roman", "cp1252": "Windows-1252"}[encoding]
