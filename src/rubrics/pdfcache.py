"""PDFs laid out once per role, with each candidate's values stamped in (ADR 0010).

Laying out a page costs WeasyPrint 65-80 ms, and the pages of a pack are the same for
every candidate but a few values: the name or label, the candidate id and the pack id.
So each PDF is rendered once with *placeholders* for those values (a cache keyed by the
placeholder HTML, which holds the role, framework, templates and options, and by the PDF
options and library versions). In that render every text run holding a placeholder is
moved into a form XObject of its own (a *slot*), called from where the run was, inside
the run's tagged marked-content sequence, so the structure tree still owns the text.

A pack's PDF is then the cached bytes plus one incremental update: each slot's XObject
replaced by the same run with the candidate's values (shaped by WeasyPrint in one small
document per pack, so any script and emoji come out as in a full render), the document
info and XMP metadata with the values put in, and a cross-reference stream pointing back
to the cached one. The cached part only ever holds the placeholders: no candidate's value
is in another's file, not even in its history.

Where that would not give the same document, the PDF is rendered whole with the real
values, as before: when the templates use a value other than by printing it as it is
(the placeholder HTML with the values put in must be the real HTML), when a value is
wider than the placeholder's room, when a placeholder ends up anywhere but in a text run
(a link, a bookmark, an alt text) or in a styled run we do not reproduce.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import escape

NAME = "WWWWWWWWWWWWWWWWWWWWWWWW"
"""The candidate's name (or, in an anonymous scorecard, nothing: see LABEL)."""
CID = "HHHHHHHHHHHHHHHH"
"""The candidate id (also in the anonymous label, ``Candidate <id>``)."""
PACK = "00000000-" + "m" * 32 + "-00000000"
"""The pack id: as long as the longest a pack id can be."""
TOKENS = (NAME, CID, PACK)
SLOT_PREFIX = "RubricsSlot"
CACHE_FORMAT = 2

_cache: dict[str, Cached] = {}


@dataclass(frozen=True)
class Slot:
    number: int  # the XObject's object number in the cached PDF
    text: str  # the run's text, placeholders in it
    css: str  # the run's style, for the per-pack document
    x: float
    y: float
    width: float


@dataclass(frozen=True)
class Cached:
    pdf: bytes
    slots: tuple[Slot, ...]
    stampable: bool
    info_number: int = 0
    info: tuple[tuple[str, str], ...] = ()
    xmp_number: int = 0
    xmp: bytes = b""
    root: int = 0
    size: int = 0
    prev: int = 0
    ids: bytes = b""


@dataclass
class Job:
    """One PDF of a pack: its HTML with the real values and with the placeholders."""

    name: str
    html: str
    placeholder_html: str
    base: Path
    forms: bool = False
    variant: str | None = None
    keywords: str | None = None  # with placeholders in it
    pdf: bytes = field(default=b"", repr=False)
    stamped: bool = False


def cache_clear() -> None:
    _cache.clear()


def cache_items() -> dict[str, Cached]:
    """The cached renders, to hand to worker processes."""
    return dict(_cache)


def cache_load(entries: dict[str, Cached]) -> None:
    """Start a worker with the renders its parent made."""
    _cache.update(entries)


def _values(name: str, cid: str, pack: str) -> dict[str, str]:
    return {NAME: name, CID: cid, PACK: pack}


_TOKEN = re.compile("|".join(re.escape(t) for t in TOKENS))


def _put(text: str, values: dict[str, str]) -> str:
    """``text`` with each placeholder replaced by its value, in one pass: a value is never
    read again as a placeholder (a name holding the id's placeholder stays the name)."""
    return _TOKEN.sub(lambda found: values.get(found[0], found[0]), text)


def _holds_a_placeholder(values: dict[str, str]) -> bool:
    """Whether a value itself holds a placeholder: such a candidate's PDFs are rendered
    whole, so that no other candidate's file, not even its kept render, holds their value."""
    return any(_TOKEN.search(value) for value in values.values())


def corresponds(placeholder_html: str, real_html: str, values: dict[str, str]) -> bool:
    """Whether ``real_html`` is ``placeholder_html`` with each placeholder replaced by its
    value as HTML or CSS prints it: then the template only printed the values, and
    stamping them into the placeholder render gives the real document."""
    from rubrics.render import css_str

    pattern = re.compile("|".join(re.escape(t) for t in values))
    parts = pattern.split(placeholder_html)
    tokens = pattern.findall(placeholder_html)
    if not real_html.startswith(parts[0]) or not real_html.endswith(parts[-1]):
        return False
    pos = len(parts[0])
    end = len(real_html) - len(parts[-1])
    for i, token in enumerate(tokens):
        value = values[token]
        forms = {value, str(escape(value)), css_str(value)[1:-1]}
        nxt = parts[i + 1]
        last = i == len(tokens) - 1
        for form in sorted(forms, key=len, reverse=True):
            if not real_html.startswith(form, pos):
                continue
            after = pos + len(form)
            if (last and after == end) or (not last and real_html.startswith(nxt, after)):
                pos = after + len(nxt)
                break
        else:
            return False
    return pos == len(real_html)


def _key(job: Job) -> str:
    from importlib.metadata import version

    from rubrics import __version__
    from rubrics.render import emoji_font

    digest = hashlib.sha256()
    for part in (str(CACHE_FORMAT), __version__, version("weasyprint"), version("pydyf"),
                 str(emoji_font()), str(job.base.resolve()), str(job.forms), str(job.variant),
                 str(job.keywords), job.placeholder_html):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def render_pdfs(jobs: Sequence[Job], *, name: str, cid: str, pack: str,
                allowed: Sequence[Path]) -> None:
    """Set ``job.pdf`` for each job: stamped into the cached render where it gives the
    same document, rendered whole otherwise."""
    values = _values(name, cid, pack)
    entries: dict[int, Cached] = {}
    for n, job in enumerate(jobs):
        if _holds_a_placeholder(values) or not corresponds(job.placeholder_html, job.html,
                                                           values):
            continue
        entry = cached(job, allowed)
        if entry.stampable:
            entries[n] = entry
    # Runs are shaped in one small document per set of values they show, and a PDF gets
    # the fonts of its set only: an anonymous scorecard never holds the glyphs (or emoji)
    # of the name that the candidate packet shows.
    groups: dict[frozenset[str], list[int]] = {}
    for n, entry in entries.items():
        shown = frozenset(t for slot in entry.slots for t in TOKENS if t in slot.text)
        groups.setdefault(shown, []).append(n)
    shaped: dict[int, tuple[dict[tuple[str, str], Run], dict[int, bytes]]] = {}
    for members in groups.values():
        wanted = {(slot.css, _put(slot.text, values)) for n in members
                  for slot in entries[n].slots}
        result = _shape(sorted(wanted))
        for n in members:
            shaped[n] = result
    for n, job in enumerate(jobs):
        stamp = entries.get(n)
        pdf = None
        if stamp is not None:
            pdf = _stamp(stamp, values, *shaped[n])
        if pdf is None:
            job.pdf = _render(job.html, job, allowed,
                              _put(job.keywords, values) if job.keywords else None)
        else:
            job.pdf, job.stamped = pdf, True


def _render(html_text: str, job: Job, allowed: Sequence[Path], keywords: str | None,
            finisher: Callable[[Any, Any], None] | None = None) -> bytes:
    from rubrics.pdfforms import form_finisher
    from rubrics.render import html_to_pdf

    tidy = form_finisher(keywords) if job.forms or keywords else None

    def finish(document: Any, pdf: Any) -> None:
        if tidy is not None:
            tidy(document, pdf)
        if finisher is not None:
            finisher(document, pdf)

    return html_to_pdf(html_text, base=job.base, allowed=allowed, forms=job.forms,
                       variant=job.variant, finisher=finish)


def cached(job: Job, allowed: Sequence[Path]) -> Cached:
    """The placeholder render of a job: from this process's cache, from the cache on disk
    (so that each `rubrics pack` after the first for a role is fast too), or made now."""
    key = _key(job)
    entry = _cache.get(key) or disk_load(key)
    if entry is None:
        found: dict[str, Any] = {}
        with keep_tags():
            pdf = _render(job.placeholder_html, job, allowed, job.keywords,
                          finisher=lambda document, doc_pdf: found.update(_make_slots(doc_pdf)))
        entry = _finish_entry(pdf, found)
        disk_store(key, entry)
    _cache[key] = entry
    return entry


# --------------------------------------------------------------------------- on disk


def cache_dir() -> Path | None:
    """Where placeholder renders are kept between runs: ``$RUBRICS_CACHE_DIR`` (empty:
    nowhere), else ``$XDG_CACHE_HOME/rubrics/pdf``, else ``~/.cache/rubrics/pdf``. They
    hold placeholders only, never a candidate's values; deleting the folder is safe."""
    if "RUBRICS_CACHE_DIR" in os.environ:
        chosen = os.environ["RUBRICS_CACHE_DIR"]
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rubrics" / "pdf"


def disk_store(key: str, entry: Cached) -> None:
    """Keep a render for later runs; a cache that cannot be written is no cache."""
    from rubrics.fsutil import atomic_write

    folder = cache_dir()
    if folder is None:
        return
    record = {"format": CACHE_FORMAT, "key": key, "stampable": entry.stampable,
              "pdf": base64.b64encode(entry.pdf).decode("ascii"),
              "slots": [[s.number, s.text, s.css, s.x, s.y, s.width] for s in entry.slots],
              "info_number": entry.info_number, "info": [list(kv) for kv in entry.info],
              "xmp_number": entry.xmp_number, "xmp": base64.b64encode(entry.xmp).decode("ascii"),
              "root": entry.root, "size": entry.size, "prev": entry.prev,
              "ids": base64.b64encode(entry.ids).decode("ascii")}
    record["record_sha256"] = _record_hash(record)
    with suppress(OSError):
        atomic_write(folder / f"{key}.json", json.dumps(record).encode("utf-8"))


def _record_hash(record: dict[str, Any]) -> str:
    """The SHA-256 of a kept render's whole record but this field: an entry edited in any
    part (its slots, metadata or PDF) is a miss."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def disk_load(key: str) -> Cached | None:
    """A render kept by an earlier run, or None when there is none or it is not whole
    (any doubt is a miss: the PDF is then rendered again)."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.json"
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 64 * 2**20:
            return None
        record = json.loads(path.read_bytes())
        if (not isinstance(record, dict) or record.get("format") != CACHE_FORMAT
                or record.get("key") != key or record.get("record_sha256") != _record_hash(record)):
            return None
        pdf = base64.b64decode(record["pdf"], validate=True)
        slots = tuple(Slot(int(n), str(t), str(c), float(x), float(y), float(w))
                      for n, t, c, x, y, w in record["slots"])
        return Cached(pdf, slots, bool(record["stampable"]), int(record["info_number"]),
                      tuple((str(k), str(v)) for k, v in record["info"]),
                      int(record["xmp_number"]), base64.b64decode(record["xmp"], validate=True),
                      int(record["root"]), int(record["size"]), int(record["prev"]),
                      base64.b64decode(record["ids"], validate=True))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


# --------------------------------------------------------------------------- the cached render


@contextmanager
def keep_tags() -> Iterator[None]:
    """While rendering, keep each page's map of text runs to marked-content ids where a
    finisher can read it (WeasyPrint empties its own while building the structure tree).
    Without it (another WeasyPrint) no slot is found and documents are rendered whole."""
    import weasyprint.pdf

    original = getattr(weasyprint.pdf, "add_tags", None)
    if original is None:
        yield
        return

    def add_tags(pdf: Any, document: Any, version: Any, page_streams: Any) -> Any:
        for stream in page_streams:
            if isinstance(getattr(stream, "_tags", None), dict):
                stream.rubrics_tags = dict(stream._tags)
        return original(pdf, document, version, page_streams)

    weasyprint.pdf.add_tags = add_tags
    try:
        yield
    finally:
        weasyprint.pdf.add_tags = original


def _ops_of(stream: Any) -> list[Any]:
    return stream.stream  # type: ignore[no-any-return]


def _marked_range(ops: list[Any], mcid: int) -> tuple[int, int] | None:
    """Where the marked-content sequence with ``mcid`` starts (its tag) and ends (EMC)."""
    for k in range(1, len(ops) - 1):
        prop = ops[k]
        if isinstance(prop, dict) and prop.get("MCID") == mcid and ops[k + 1] == b"BDC":
            depth = 0
            for end in range(k + 2, len(ops)):
                op = ops[end]
                if op in (b"BDC", b"BMC"):
                    depth += 1
                elif op == b"EMC":
                    if depth == 0:
                        return k - 1, end
                    depth -= 1
            return None
    return None


def _plain_path_to(ops: list[Any], start: int) -> bool:
    """Whether nothing before ``start`` changes the coordinates but the page's own two
    transforms (to CSS pixels), so a slot and a run shaped elsewhere share them."""
    stack: list[list[bytes]] = [[]]
    for op in ops[:start]:
        if op == b"q":
            stack.append([])
        elif op == b"Q" and len(stack) > 1:
            stack.pop()
        elif isinstance(op, bytes) and op.endswith(b" cm"):
            stack[-1].append(op)
    active = [op for level in stack for op in level]
    return len(active) == 2 and ops[0] == active[0]


_GENERIC = frozenset({"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
                      "ui-serif", "ui-sans-serif", "ui-monospace", "math", "emoji"})
_STYLE_OK = {"text_transform": "none", "visibility": "visible"}


def _css_of(box: Any) -> str | None:
    """The style of a text run as CSS for the per-pack document, or None when the run is
    styled in a way it does not reproduce."""
    style = box.style
    for key, want in _STYLE_OK.items():
        if style[key] != want:
            return None
    if style["text_decoration_line"] not in ("none", frozenset(), None, ()):
        return None
    if style["letter_spacing"] != "normal" or style["word_spacing"] != 0:
        return None
    color = style["color"]
    rgba = (*tuple(color.to("srgb").coordinates), color.alpha)
    family = ", ".join(f if f in _GENERIC else '"' + f.replace('"', "").replace("\\", "") + '"'
                       for f in style["font_family"])
    return (f"font-family: {family}; font-size: {style['font_size']!r}px; "
            f"font-weight: {style['font_weight']}; font-style: {style['font_style']}; "
            f"font-stretch: {style['font_stretch']}; "
            f"color: rgba({rgba[0] * 255:.4f}, {rgba[1] * 255:.4f}, {rgba[2] * 255:.4f}, "
            f"{rgba[3]:.4f}); direction: {style['direction']}; "
            f"font-kerning: {style['font_kerning']}; "
            f"font-variant-ligatures: {_css_value(style['font_variant_ligatures'])}; "
            f"font-variant-numeric: {_css_value(style['font_variant_numeric'])}; "
            f"font-variant-caps: {style['font_variant_caps']}")


def _css_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return " ".join(value)


def _token_in(data: bytes) -> bool:
    for token in TOKENS:
        utf16 = token.encode("utf-16-be")
        if (token.encode("ascii") in data or utf16 in data or utf16.hex().encode() in data
                or utf16.hex().upper().encode() in data):
            return True
    return False


def _make_slots(pdf: Any) -> dict[str, Any]:
    """WeasyPrint finisher work for a placeholder render: move each run that holds a
    placeholder into a slot XObject; note what a stamp needs."""
    import pydyf

    slots: list[Slot] = []
    result: dict[str, Any] = {"slots": slots, "stampable": True}
    resources_ref = None
    page_streams = set()
    for page_number in pdf.pages["Kids"][::3]:
        page = pdf.objects[page_number]
        resources_ref = page["Resources"]
        stream = pdf.objects[int(page["Contents"].split()[0])]
        page_streams.add(id(stream))
        tags = getattr(stream, "rubrics_tags", None)
        if tags is None:
            return _refuse(result, "untagged")
        resources = pdf.objects[int(resources_ref.split()[0])]
        for box, tag in list(tags.items()):
            text = getattr(box, "text", None)
            if not isinstance(text, str) or not any(t in text for t in TOKENS):
                continue
            ops = _ops_of(stream)
            span = _marked_range(ops, tag["mcid"])
            css = _css_of(box)
            if span is None or css is None or not _plain_path_to(ops, span[0]):
                return _refuse(result, f"run {text!r}: span {span}, css {css is not None}")
            start, end = span
            name = f"{SLOT_PREFIX}{len(slots)}"
            xobject = pydyf.Stream(ops[start + 3:end], pydyf.Dictionary({
                "Type": "/XObject", "Subtype": "/Form",
                "BBox": pydyf.Array([-100000, -100000, 100000, 100000]),
                "Resources": resources_ref}), compress=True)
            pdf.add_object(xobject)
            ops[start + 3:end] = [f"/{name} Do".encode()]
            resources["XObject"][name] = xobject.reference
            slots.append(Slot(xobject.number, text, css, box.position_x, box.position_y,
                              box.width))
    # A placeholder anywhere else (a link, a bookmark, an alt text, a field's tooltip)
    # would keep it, or need more than a stamp: render such documents whole.
    xmp = pdf.catalog.get("Metadata")
    xmp_number = int(xmp.split()[0]) if xmp is not None else 0
    for obj in pdf.objects[1:]:
        if isinstance(obj, pydyf.Stream) or obj.number in (None, xmp_number):
            continue
        if id(obj) not in page_streams and _token_in(obj.data):
            return _refuse(result, f"placeholder in object {obj.number}: {obj.data[:200]!r}")
    result["info"] = tuple((str(k), v.string if isinstance(v, pydyf.String) else str(v))
                           for k, v in pdf.info.items())
    if xmp_number:
        stream = pdf.objects[xmp_number]
        result["xmp_number"] = xmp_number
        result["xmp"] = b"\n".join(pydyf._to_bytes(op) for op in stream.stream)
    return result


def _refuse(result: dict[str, Any], why: str) -> dict[str, Any]:
    import logging

    logging.getLogger(__name__).debug("rendered whole: %s", why)
    result["stampable"] = False
    result["why"] = why
    return result


_TRAILER = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def _finish_entry(pdf: bytes, found: dict[str, Any]) -> Cached:
    if not found.get("stampable") or not found.get("slots"):
        return Cached(pdf, (), False)
    match = _TRAILER.search(pdf[-64:])
    if match is None:
        return Cached(pdf, (), False)
    prev = int(match[1])
    head = pdf[prev:pdf.index(b"stream", prev)]
    size, root = re.search(rb"/Size (\d+)", head), re.search(rb"/Root (\d+) 0 R", head)
    info = re.search(rb"/Info (\d+) 0 R", head)
    ids = re.search(rb"/ID \[([^\]]*)\]", head)
    if b"/XRef" not in head or not size or not root or not info:
        return Cached(pdf, (), False)
    return Cached(pdf, tuple(found["slots"]), True, int(info[1]), found["info"],
                  found.get("xmp_number", 0), found.get("xmp", b""), int(root[1]),
                  int(size[1]), prev, ids[1] if ids else b"")


# --------------------------------------------------------------------------- one pack's runs


@dataclass(frozen=True)
class Run:
    ops: bytes
    x: float
    y: float
    width: float


def _shape(wanted: list[tuple[str, str]]
           ) -> tuple[dict[tuple[str, str], Run], dict[int, bytes]]:
    """Shape each (style, text) run in one small document: the runs' drawing operators
    and where they sit, and the objects their drawing uses (fonts, emoji images) by
    number."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pages = "".join(f'<p style="{html.escape(css)}">{html.escape(text)}</p>'
                    for css, text in wanted)
    document = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><style>"
                "@page { size: 4000px 200px; margin: 0 } body { margin: 0 } "
                "p { margin: 0; padding: 0; white-space: pre; break-after: page; "
                "unicode-bidi: isolate; line-height: normal }</style></head><body>"
                f"{pages}</body></html>")
    found: dict[str, Any] = {}

    def finish(doc: Any, pdf: Any) -> None:
        import pydyf

        runs: list[Run | None] = []
        resources_ref = None
        for page_number in pdf.pages["Kids"][::3]:
            page = pdf.objects[page_number]
            resources_ref = page["Resources"]
            stream = pdf.objects[int(page["Contents"].split()[0])]
            boxes = [(box, tag) for box, tag in getattr(stream, "rubrics_tags", {}).items()
                     if isinstance(getattr(box, "text", None), str)]
            if len(boxes) != 1:
                runs.append(None)
                continue
            box, tag = boxes[0]
            ops = stream.stream
            span = _marked_range(ops, tag["mcid"])
            if span is None or not _plain_path_to(ops, span[0]):
                runs.append(None)
                continue
            body = b"\n".join(pydyf._to_bytes(op) for op in ops[span[0] + 3:span[1]])
            runs.append(Run(body, box.position_x, box.position_y, box.width))
        found["runs"] = runs
        found["graph"] = _graph(pdf, int(resources_ref.split()[0])) if resources_ref else {}
        found["resources"] = int(resources_ref.split()[0]) if resources_ref else 0

    with keep_tags():
        HTML(string=document, base_url=str(Path.cwd()) + "/").write_pdf(
            pdf_tags=True, finisher=finish)
    runs = found.get("runs", [])
    shaped = {w: r for w, r in zip(wanted, runs, strict=False) if r is not None}
    graph = found.get("graph", {})
    graph[0] = str(found.get("resources", 0)).encode()  # the resources' own number
    return shaped, graph


def _graph(pdf: Any, start: int) -> dict[int, bytes]:
    """The serialized objects reachable from object ``start``, by number."""
    import pydyf

    out: dict[int, bytes] = {}
    todo = [start]
    while todo:
        number = todo.pop()
        if number in out:
            continue
        obj = pdf.objects[number]
        data = obj.data
        out[number] = data
        head = data.split(b"\nstream\n", 1)[0] if isinstance(obj, pydyf.Stream) else data
        todo += [int(n) for n in _REF.findall(head)]
    return out


_REF = re.compile(rb"(?<![\d.])(\d+) 0 R\b")


# --------------------------------------------------------------------------- the stamp


def _pdf_text(value: str) -> bytes:
    return b"<feff" + value.encode("utf-16-be").hex().encode() + b">"


def _stamp(entry: Cached, values: dict[str, str], runs: dict[tuple[str, str], Run],
           graph: dict[int, bytes]) -> bytes | None:
    """The cached PDF with one incremental update that puts the values in, or None when
    a value does not fit its slot."""
    if len(graph) < 2:
        return None
    objects: dict[int, bytes] = {}
    next_number = entry.size
    renumber: dict[int, int] = {}
    for old in sorted(n for n in graph if n):
        renumber[old] = next_number
        next_number += 1

    def moved(data: bytes) -> bytes:
        return _REF.sub(lambda m: b"%d 0 R" % renumber.get(int(m[1]), int(m[1])), data)

    for old, data in graph.items():
        if old == 0:
            continue
        if b"\nstream\n" in data:
            head, rest = data.split(b"\nstream\n", 1)
            objects[renumber[old]] = moved(head) + b"\nstream\n" + rest
        else:
            objects[renumber[old]] = moved(data)
    resources = renumber[int(graph[0])]
    for slot in entry.slots:
        run = runs.get((slot.css, _put(slot.text, values)))
        if run is None or run.width > slot.width + 0.01:
            return None
        content = b"1 0 0 1 %s %s cm\n" % (_num(slot.x - run.x), _num(slot.y - run.y)) + run.ops
        packed = zlib.compress(content, 9)
        objects[slot.number] = (
            b"<</Type /XObject /Subtype /Form /BBox [-100000 -100000 100000 100000] "
            b"/Resources %d 0 R /Filter /FlateDecode /Length %d>>\nstream\n" % (
                resources, len(packed)) + packed + b"\nendstream")
    info = b"".join(b"/" + key.encode("ascii") + b" " + _pdf_text(_put(value, values))
                    for key, value in entry.info)
    objects[entry.info_number] = b"<<" + info + b">>"
    if entry.xmp_number:
        xml_values = {t: html.escape(v, quote=False) for t, v in values.items()}
        xmp = _put(entry.xmp.decode("utf-8"), xml_values).encode("utf-8")
        objects[entry.xmp_number] = (b"<</Type /Metadata /Subtype /XML /Length %d>>\nstream\n"
                                     % len(xmp) + xmp + b"\nendstream")
    return _append(entry, objects, next_number)


def _num(value: float) -> bytes:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode()


def _append(entry: Cached, objects: dict[int, bytes], xref_number: int) -> bytes:
    out = bytearray(entry.pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    offsets[xref_number] = len(out)
    numbers = sorted(offsets)
    rows = b"".join(b"\x01" + offsets[n].to_bytes(4, "big") + b"\x00\x00" for n in numbers)
    index = b" ".join(b"%d 1" % n for n in numbers)
    ids = b""
    if entry.ids:
        first = entry.ids.split(b">")[0] + b">"
        ids = b" /ID [" + first + b" <" + hashlib.md5(bytes(out), usedforsecurity=False
                                                        ).hexdigest().encode() + b">]"
    out += (b"%d 0 obj\n<</Type /XRef /Size %d /Root %d 0 R /Info %d 0 R /Prev %d "
            b"/W [1 4 2] /Index [%s] /Length %d%s>>\nstream\n" % (
                xref_number, xref_number + 1, entry.root, entry.info_number, entry.prev,
                index, len(rows), ids))
    out += rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)
