"""Deterministic, human-readable ids for imported frameworks.

Rule (docs/formats.md): ``<topic>.l<level>.<slug>`` where the slug is the first
eight words of the criterion text, ASCII-folded and lower-cased, joined by
hyphens, at most 60 characters, and cut at a word so that the whole id fits in
:data:`MAX_ID` characters. If two different texts at the same topic and level share
a slug, each of them gets a ``-`` plus six hex digits of the SHA-256 of its text
(validate warns). So an id depends on the topic, the level, the text, and whether
another text there shares its slug: reordering never changes it, and adding a
criterion (to the file, or to the base it inherits from) changes an existing id only
when the new text shares that id's slug, which renames both. A text or
name with no ASCII letters or digits gets ``c-`` (``topic-`` for a topic) and
eight hex digits instead, so every derived id is valid.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime

MAX_WORDS = 8
MAX_CHARS = 60
MAX_ID = 120
"""The longest id the model accepts (``Identifier`` in model.py)."""
TOPIC_WORDS = 12
HASH_SUFFIX = 7
"""``-`` and six hex digits."""


def slugify(text: str, *, max_words: int = MAX_WORDS, max_chars: int = MAX_CHARS) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", folded.lower().replace("'", ""))
    slug = ""
    for word in words[:max_words]:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_chars:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:max_chars]
    return slug


def text_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:length]


def topic_id(name: str) -> str:
    """A topic's id from its name: at most 12 words and 60 characters, never empty."""
    return slugify(name, max_words=TOPIC_WORDS) or f"topic-{text_hash(name, 8)}"


def criterion_id(topic: str, level: int, text: str, *, reserve: int = 0) -> str:
    """``<topic>.l<level>.<slug>``, at most MAX_ID - ``reserve`` characters long."""
    prefix = f"{topic}.l{level}."
    room = min(MAX_CHARS, MAX_ID - reserve - len(prefix))
    slug = slugify(text, max_chars=room) or f"c-{text_hash(text, 8)}"
    return prefix + slug


def disambiguate(topic: str, level: int, texts: list[str]) -> tuple[list[str], set[str]]:
    """Ids for the texts of one topic and level, and the slugs that collided."""
    base = [criterion_id(topic, level, t) for t in texts]
    counts: dict[str, set[str]] = {}
    for cid, text in zip(base, texts, strict=True):
        counts.setdefault(cid, set()).add(text.strip())
    collided = {cid for cid, distinct in counts.items() if len(distinct) > 1}
    ids = [
        f"{criterion_id(topic, level, text, reserve=HASH_SUFFIX)}-{text_hash(text)}"
        if cid in collided else cid
        for cid, text in zip(base, texts, strict=True)
    ]
    return ids, collided


# --------------------------------------------------------------------------- pack ids


def new_pack_id(folder: str, when: datetime) -> str:
    """``<date>-<folder>-<token>``: a pack's id, readable and never guessed."""
    return f"{when:%Y%m%d}-{folder[:32]}-{secrets.token_hex(4)}"


def pack_id_folder(pack_id: str) -> str:
    """The middle of a pack id (``<date>-<folder>-<token>``): the same for every pack id the
    pack in one folder is made under."""
    parts = pack_id.split("-", 1)
    return parts[1].rsplit("-", 1)[0] if len(parts) == 2 and "-" in parts[1] else pack_id


def derived_candidate_id(pack_id: str) -> str:
    """The candidate id a pack made for a candidate given none records (from its pack id,
    so a later run finds the pack again by it)."""
    return "C-" + text_hash(pack_id, 6).upper()
