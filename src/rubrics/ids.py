"""Deterministic, human-readable criterion ids for imported frameworks.

Rule (docs/formats.md): ``<topic>.l<level>.<slug>`` where the slug is the first
eight words of the criterion text, ASCII-folded and lower-cased, joined by
hyphens, at most 60 characters. The id depends only on the topic, the level and
the text, so reordering criteria or adding new ones never changes it. If two
different texts at the same topic and level share a slug, each of them gets a
``-`` plus six hex digits of the SHA-256 of its text (validate warns).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_WORDS = 8
MAX_CHARS = 60


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


def criterion_id(topic_id: str, level: int, text: str) -> str:
    slug = slugify(text) or f"c-{text_hash(text, 8)}"
    return f"{topic_id}.l{level}.{slug}"


def disambiguate(topic_id: str, level: int, texts: list[str]) -> tuple[list[str], set[str]]:
    """Ids for the texts of one topic and level, and the slugs that collided."""
    base = [criterion_id(topic_id, level, t) for t in texts]
    counts: dict[str, set[str]] = {}
    for cid, text in zip(base, texts, strict=True):
        counts.setdefault(cid, set()).add(text.strip())
    collided = {cid for cid, distinct in counts.items() if len(distinct) > 1}
    ids = [
        f"{cid}-{text_hash(text)}" if cid in collided else cid
        for cid, text in zip(base, texts, strict=True)
    ]
    return ids, collided
