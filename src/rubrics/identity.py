"""Who an interviewer is: the same person under several spellings, or with an email.

An interviewer is identified by their email when they give one, else by their name
with case, spacing, accents, punctuation and word order folded ("Mei Chen", "MEI
CHEN", "Chen, Méi" are one person). Two scorecards are by the same person when both
carry an email and the emails match, or when either has none and the names match;
people are the groups this relation joins (so a name with no email links to every
email used under that name: the cautious reading, as it counts fewer independent
interviewers, never more).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from rubrics.model import BLANK_LETTERS

_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """A name with case, spacing, accents, punctuation and word order folded."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)
                   and unicodedata.category(ch) != "Cf" and ch not in BLANK_LETTERS).casefold()
    words = _WORD.findall(bare)
    return " ".join(sorted(words)) if words else " ".join(bare.split())


@functools.lru_cache(maxsize=4096)
def email_key(email: str | None) -> str | None:
    if not email:
        return None
    visible = "".join(ch for ch in email if unicodedata.category(ch) not in ("Cf", "Cc")
                      and ch not in BLANK_LETTERS)
    return visible.strip().casefold() or None


def same_person(a: tuple[str, str | None], b: tuple[str, str | None]) -> bool:
    """Whether two (name, email) signatures are one interviewer."""
    ea, eb = email_key(a[1]), email_key(b[1])
    if ea and eb:
        return ea == eb
    return name_key(a[0]) == name_key(b[0])


def people(signatures: Sequence[tuple[str, str | None]]) -> list[str]:
    """A person id for each (name, email) signature: equal ids are one interviewer.

    The id is the same whatever the order of the signatures: the smallest email of
    the group, else its name key.
    """
    parent = list(range(len(signatures)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_email: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for i, (name, email) in enumerate(signatures):
        key = email_key(email)
        if key is not None:
            if key in by_email:
                parent[root(i)] = root(by_email[key])
            by_email.setdefault(key, i)
        by_name.setdefault(name_key(name), []).append(i)
    for group in by_name.values():
        bare = [i for i in group if email_key(signatures[i][1]) is None]
        if bare:  # a signature without an email joins every signature of its name
            for i in group:
                parent[root(i)] = root(bare[0])
    labels: dict[int, str] = {}
    for i, (name, email) in enumerate(signatures):
        label = f"email:{email_key(email)}" if email_key(email) else f"name:{name_key(name)}"
        r = root(i)
        labels[r] = min(labels.get(r, label), label)
    return [labels[root(i)] for i in range(len(signatures))]
