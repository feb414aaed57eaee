"""Safe reading of the YAML and JSON files users give us.

Every read goes through :func:`read_document`, which returns the data together
with the line and column of every value, so that later validation can point at
``path:line:col``. It refuses what would be unsafe or silently wrong: tags that
construct objects, alias bombs, recursive aliases, duplicate keys, binary data,
oversized files. YAML 1.1's ``yes``/``no``/``on``/``off`` stay strings (only
``true``/``false`` are booleans), so ``recommendation: no`` means what it says.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rubrics.errors import InvalidInput, Problem, Severity, problem, shorten

Loc = tuple[str | int, ...]

MAX_BYTES = 8 * 1024 * 1024
MAX_NODES = 200_000
SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2 core schema), whose
    dates stay text (the models parse them, with clear messages), and which reads a tab
    between two tokens of a line as a space and keeps one between two words of a text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.separator_tabs: list[tuple[int, int]] = []
        """(line, column), 0-based, of each tab read as a space."""
        self.inner_tabs: list[tuple[int, int]] = []
        """(line, column), 0-based, of the first tab kept inside each unquoted text."""

    def scan_to_next_token(self) -> None:
        """PyYAML's, except that a tab after text on its line ('-\t"text"', 'key:\tvalue')
        is separator whitespace, as YAML 1.2 and js-yaml read it. A tab in indentation
        still fails, and scalars are scanned elsewhere, so tabs inside quoted texts and
        block scalars are never seen here."""
        if self.index == 0 and self.peek() == "\uFEFF":
            self.forward()
        while True:
            while self.peek() == " " or (self.peek() == "\t" and self._after_text()):
                if self.peek() == "\t":
                    self.separator_tabs.append((self.line, self.column))
                self.forward()
            if self.peek() == "#":
                while self.peek() not in "\0\r\n\x85\u2028\u2029":
                    self.forward()
            if not self.scan_line_break():  # type: ignore[no-untyped-call]
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain(self) -> yaml.ScalarToken:
        """PyYAML's, except that a tab between two words of an unquoted text is kept in it,
        as YAML 1.2 and js-yaml read it (PyYAML forbids tabs in plain scalars)."""
        token: yaml.ScalarToken = super().scan_plain()
        if "\t" in token.value:
            start = token.start_mark
            raw = self.buffer[start.pointer : token.end_mark.pointer]
            before = raw[: raw.index("\t")]
            line = start.line + before.count("\n")
            column = len(before) - before.rfind("\n") - 1 if "\n" in before else (
                start.column + len(before))
            self.inner_tabs.append((line, column))
        return token

    def scan_plain_spaces(self, indent: int, start_mark: yaml.Mark) -> list[str] | None:
        """Spaces and tabs between two words of a plain scalar; at the end of a line or
        before a comment, PyYAML's (the tab is then a separator)."""
        length = 0
        while self.peek(length) in " \t":
            length += 1
        if "\t" not in self.prefix(length) or not self._plain_goes_on(length):
            return super().scan_plain_spaces(indent, start_mark)
        whitespace = self.prefix(length)
        self.forward(length)
        return [whitespace]

    def _plain_goes_on(self, at: int) -> bool:
        """Whether the character ``at`` ahead continues a plain scalar (as scan_plain asks)."""
        ch = self.peek(at)
        if ch in "\0\r\n\x85\u2028\u2029#" or (self.flow_level and ch in ",?[]{}"):
            return False
        ends = "\0 \t\r\n\x85\u2028\u2029" + (",[]{}" if self.flow_level else "")
        return not (ch == ":" and self.peek(at + 1) in ends)

    def _after_text(self) -> bool:
        start = self.pointer - self.column
        return bool(self.buffer[start : self.pointer].strip(" \t"))


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass
class Document:
    """Data read from one file, with where each value came from."""

    path: str
    data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    text: str = ""
    body: str = ""
    raw: bytes = b""

    def locate(self, loc: Loc) -> tuple[int | None, int | None]:
        """Line and column of ``loc``, or of its nearest located ancestor."""
        key = tuple(loc)
        while True:
            if key in self.positions:
                return self.positions[key]
            if not key:
                return (None, None)
            key = key[:-1]

    def problem(self, loc: Loc, message: str, severity: Severity = Severity.ERROR) -> Problem:
        line, col = self.locate(loc)
        return Problem(self.path, line, col, message, severity)


def read_bytes(path: Path, *, max_bytes: int = MAX_BYTES, what: str = "the limit is"
               ) -> bytes:
    """The bytes of a user's file: a regular file, at most ``max_bytes`` of it.

    Raise InvalidInput (one line) for a missing file, a folder, a device such as
    /dev/zero, a named pipe or socket (opened without waiting, so a pipe nobody writes to
    never hangs us), and a file over the limit, whether it says so when asked
    (``st_size``) or grows while we read: at most ``max_bytes`` + 1 bytes are ever read.
    The file is checked through the descriptor it is read from, so a symlink swapped
    between a check and the read cannot slip a device in. ``what`` words the limit in
    the too-large message.
    """
    name = str(path)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        _check_kind(name, os.stat(path))  # a device is refused before it is even opened
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInput([problem(name, "file not found")]) from None
    except IsADirectoryError:  # (Windows; elsewhere a folder opens and fstat says so)
        raise InvalidInput([problem(name, "is a folder, not a file")]) from None
    except PermissionError:
        raise InvalidInput([problem(name, "permission denied")]) from None
    except OSError as exc:  # a socket (ENXIO), a symlink loop (ELOOP), a name too long ...
        raise InvalidInput([problem(name, f"cannot read file: {exc.strerror or exc}")]
                           ) from None
    try:
        info = os.fstat(fd)
        _check_kind(name, info)  # again: what was opened is what is read
        if info.st_size > max_bytes:
            raise InvalidInput([problem(name, f"file is too large ({info.st_size:,} bytes; "
                                        f"{what} {max_bytes:,})")])
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(max_bytes + 1)  # a file that grows is read no further
        if len(raw) > max_bytes:
            raise InvalidInput([problem(name, f"file is too large (more than {max_bytes:,} "
                                        "bytes)")])
        return raw
    except OSError as exc:  # EIO, or EAGAIN from something that is not a plain file
        raise InvalidInput([problem(name, f"cannot read file: {exc.strerror or exc}")]
                           ) from None
    finally:
        os.close(fd)


def _check_kind(name: str, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput([problem(name, "is a folder, not a file")])
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput([problem(name, "is not a regular file")])


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> tuple[str, list[Problem]]:
    """Read a user's text file, repairing mojibake; raise InvalidInput if it is not text."""
    return decode_text(str(path), read_bytes(path, max_bytes=max_bytes))


def decode_text(name: str, raw: bytes) -> tuple[str, list[Problem]]:
    """Decode bytes a user gave us as UTF-8 text, repairing Mac Roman/cp1252 mojibake."""
    if not raw.strip():
        raise InvalidInput([problem(name, "file is empty")])
    if (wide := wide_text(name, raw)) is not None:  # before the NULs UTF-16 is full of
        raise InvalidInput([wide])
    if b"\x00" in raw[:8192]:
        raise InvalidInput([problem(name, "binary file, not text")])
    if (bad := not_utf8(name, raw)) is not None:
        raise InvalidInput([bad])
    text = raw.decode("utf-8-sig")
    from rubrics.mojibake import repair

    repaired, note = repair(text)
    warnings = [problem(name, note, severity=Severity.WARNING)] if note else []
    return repaired.replace("\r\n", "\n").replace("\r", "\n"), warnings


def not_utf8(name: str, raw: bytes) -> Problem | None:
    """The first byte of ``raw`` that is not UTF-8 (after a byte order mark), named with
    its line and column and what it is in Windows-1252; None when all of it is UTF-8."""
    if (wide := wide_text(name, raw)) is not None:
        return wide
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # positions past the mark
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = body.rfind(b"\n", 0, exc.start) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        column = len(body[start:exc.start].decode("utf-8")) + 1
        byte = body[exc.start]
        seen = bytes([byte]).decode("cp1252", errors="ignore")
        what = f" ('{seen}' in Windows-1252 or Latin-1)" if seen and seen.isprintable() else ""
        return problem(name, f"not UTF-8 text: byte 0x{byte:02x}{what} is not valid UTF-8",
                       line, column)
    return None


WIDE_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
"""Byte order marks of the wide encodings, UTF-32's first: its little-endian mark begins
with UTF-16's."""


def wide_text(name: str, raw: bytes) -> Problem | None:
    """Text saved as UTF-16 (Excel's "Unicode Text", Notepad's "Unicode") or UTF-32, known
    by its byte order mark, named as such with what to save it as instead; else None."""
    for mark, encoding in WIDE_MARKS:
        if raw.startswith(mark):
            what = " (Excel's \"Unicode Text\")" if encoding == "UTF-16" else ""
            return problem(name, f"not UTF-8 text: saved as {encoding}{what}; save it as UTF-8 "
                           "(\"CSV UTF-8\" in Excel)", 1, 1)
    return None


def split_front_matter(name: str, text: str) -> tuple[str, str, int]:
    """Split a Markdown file into (front matter, body, line offset of the front matter)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InvalidInput(
            [problem(name, "no YAML front matter: the file must start with a '---' line", 1, 1)]
        )
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), 1
    raise InvalidInput([problem(name, "front matter is not closed by a '---' line", 1, 1)])


def parse_yaml(name: str, text: str, *, line_offset: int = 0) -> Document:
    """Parse YAML text safely into a located Document (raises InvalidInput)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        tabs, inner = loader.separator_tabs, loader.inner_tabs
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 + line_offset
        raise InvalidInput(
            [problem(name, f"control character U+{exc.character:04X} is not allowed in YAML", line)]
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise InvalidInput(_yaml_error_problems(name, text, exc, line_offset)) from None
    except yaml.YAMLError as exc:
        raise InvalidInput([problem(name, f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise InvalidInput([problem(name, "YAML is nested too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise InvalidInput([problem(name, "file has no content (only comments or blank lines)")])
    problems: list[Problem] = []
    _check_size(name, node, line_offset)
    positions: dict[Loc, tuple[int, int]] = {}
    _walk(name, node, (), positions, problems, line_offset)
    if problems:
        raise InvalidInput(problems)
    try:
        data = _Loader(text).construct_document(node)
    except yaml.YAMLError as exc:  # pragma: no cover - tags are checked in _walk
        raise InvalidInput([problem(name, f"invalid YAML: {exc}")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
        raise InvalidInput([problem(name, f"invalid value: {exc}")]) from None
    warnings = _tab_warnings(name, text, tabs, positions, line_offset)
    warnings += _inner_tab_warnings(name, inner, positions, line_offset)
    return Document(path=name, data=data, positions=positions, warnings=warnings, text=text)


def dotted(loc: Loc) -> str:
    """``topics[0].content[2].criteria``: a location as the user reads it."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _tab_warnings(name: str, text: str, tabs: list[tuple[int, int]],
                  positions: dict[Loc, tuple[int, int]], line_offset: int) -> list[Problem]:
    """One warning per line whose tabs were read as spaces, naming the value there."""
    lines = text.split("\n")
    out: list[Problem] = []
    for line, column in sorted({t[0]: t for t in reversed(tabs)}.values()):
        before = lines[line][:column].rstrip(" \t")
        mark = f"after '{before[-1]}'" if before[-1] in "-:," else "between values"
        where = _loc_near(positions, line + 1 + line_offset, column + 1, before[-1] == ":")
        field = f"{dotted(where)}: " if where else ""
        out.append(problem(name, f"{field}tab {mark} read as a space (YAML separates "
                           "with spaces)", line + 1 + line_offset, column + 1,
                           Severity.WARNING))
    return out


def _inner_tab_warnings(name: str, tabs: list[tuple[int, int]],
                        positions: dict[Loc, tuple[int, int]], line_offset: int
                        ) -> list[Problem]:
    """One warning per unquoted text that keeps a tab, at its first tab."""
    out = []
    for line, column in tabs:
        where = _loc_near(positions, line + 1 + line_offset, column + 1, False)
        field = f"{dotted(where)}: " if where else ""
        out.append(problem(name, f"{field}tab inside an unquoted text kept as written (as "
                           "YAML 1.2 reads it)",
                           line + 1 + line_offset, column + 1, Severity.WARNING))
    return out


def _loc_near(positions: dict[Loc, tuple[int, int]], line: int, column: int,
              key_first: bool) -> Loc:
    """The value a tab on ``line`` separates: the key before it (``key_first``), else the
    deepest value that starts after it, else the last one before it."""
    on_line = [(pos[1], -len(loc), loc) for loc, pos in positions.items() if pos[0] == line]
    after = sorted(x for x in on_line if x[0] > column)
    if after and not key_first:
        return after[0][2]
    before = sorted((x for x in on_line if x[0] < column), key=lambda x: (x[0], -x[1]))
    return before[-1][2] if before else ()


def _yaml_error_problems(
    name: str, text: str, exc: yaml.MarkedYAMLError, line_offset: int
) -> list[Problem]:
    if _at_indenting_tab(text, exc):
        assert exc.problem_mark is not None
        return [problem(name, "tab character in indentation; YAML indents with spaces only",
                        exc.problem_mark.line + 1 + line_offset, 1)]
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 + line_offset if mark else None
    col = mark.column + 1 if mark else None
    what = exc.problem or "invalid YAML"
    if exc.context:
        what = f"{exc.context}, {what}"
    hint = _hint(text, exc)
    return [problem(name, f"invalid YAML: {what}" + (f"; hint: {hint}" if hint else ""),
                    line, col)]


def _at_indenting_tab(text: str, exc: yaml.MarkedYAMLError) -> bool:
    """Whether the parser stopped at a tab in the indentation of its line."""
    mark = exc.problem_mark
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return False
    line = lines[mark.line]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return "\t" in indent[: mark.column + 1]


def _hint(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """What is likely wrong, for the mistakes people make in hand-written YAML."""
    mark = exc.problem_mark
    if mark is None or not exc.problem or not exc.problem.startswith("expected <block end>"):
        return None
    lines = text.split("\n")
    line = lines[mark.line] if mark.line < len(lines) else ""
    if exc.problem.endswith("'<scalar>'") and 0 < mark.column <= len(line):
        quote, rest = line[mark.column - 1], line[mark.column :].strip()
        if quote in "'\"" and rest and rest.strip(".,;:!?") == "":
            return f"remove the '{rest}' after the closing quote, or move it inside the quotes"
        if quote == "'":
            return ("a ' inside a '-quoted text must be doubled ('') or the text quoted "
                    "with \" instead")
        if quote == '"':
            return ("a \" inside a \"-quoted text must be written \\\" or the text quoted "
                    "with ' instead")
    key = line.strip().split(":")[0]
    if exc.problem.endswith(("'<block mapping start>'", "'?'")) and key:
        return (f"'{key}:' is not lined up with the keys of the entry it belongs to; "
                "indent it with exactly as many spaces as they have")
    return None


def _check_size(name: str, root: yaml.Node, line_offset: int) -> None:
    """Refuse alias bombs and recursive aliases before anything expands them."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise InvalidInput(
                [problem(name, "recursive YAML alias", node.start_mark.line + 1 + line_offset)]
            )
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        on_path.discard(key)
        if total > MAX_NODES:
            raise InvalidInput(
                [
                    problem(
                        name,
                        f"document expands to more than {MAX_NODES:,} values "
                        "(too many aliases: an alias bomb?)",
                    )
                ]
            )
        sizes[key] = total
        return total

    try:
        size(root)
    except RecursionError:
        raise InvalidInput([problem(name, "YAML is nested too deeply")]) from None


def _walk(
    name: str,
    node: yaml.Node,
    loc: Loc,
    positions: dict[Loc, tuple[int, int]],
    problems: list[Problem],
    line_offset: int,
) -> None:
    line = node.start_mark.line + 1 + line_offset
    col = node.start_mark.column + 1
    positions.setdefault(loc, (line, col))
    if node.tag not in SAFE_TAGS:
        tag = shorten(node.tag.replace("tag:yaml.org,2002:", "!!"))
        problems.append(
            problem(name, f"unsupported YAML tag '{tag}' (only plain YAML is read)", line, col)
        )
        return
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(name, child, (*loc, i), positions, problems, line_offset)
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(
                    problem(name, "YAML merge keys ('<<') are not supported", line, col)
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    problem(
                        name,
                        "mapping keys must be plain values",
                        key_node.start_mark.line + 1 + line_offset,
                        key_node.start_mark.column + 1,
                    )
                )
                continue
            key: str | int = key_node.value
            if key in seen:
                problems.append(
                    problem(
                        name,
                        f"duplicate key '{shorten(key)}'",
                        key_node.start_mark.line + 1 + line_offset,
                        key_node.start_mark.column + 1,
                    )
                )
            seen.add(key)
            positions.setdefault(
                (*loc, key),
                (key_node.start_mark.line + 1 + line_offset, key_node.start_mark.column + 1),
            )
            _walk(name, value_node, (*loc, key), positions, problems, line_offset)


def read_document(path: Path, *, max_bytes: int = MAX_BYTES, raw: bytes | None = None
                  ) -> Document:
    """Read a YAML, JSON or Markdown-with-front-matter file into a located Document.

    Pass ``raw`` when the bytes were already read. The Document keeps the bytes it was
    parsed from (``raw``), so that what is checked is exactly what is kept.
    """
    name = str(path)
    if raw is None:
        raw = read_bytes(path, max_bytes=max_bytes)
    text, warnings = decode_text(name, raw)
    body = ""
    offset = 0
    if path.suffix.lower() in (".md", ".markdown"):
        yaml_text, body, offset = split_front_matter(name, text)
    elif path.suffix.lower() == ".json":
        doc = _parse_json(name, text, warnings)
        doc.raw = raw
        return doc
    else:
        yaml_text = text
    doc = parse_yaml(name, yaml_text, line_offset=offset)
    doc.warnings = warnings + doc.warnings
    doc.text = text
    doc.body = body
    doc.raw = raw
    return doc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(ValueError):
    pass


LOCATE_JSON_BELOW = 256 * 1024


def _parse_json(name: str, text: str, warnings: list[Problem]) -> Document:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise InvalidInput([problem(name, f"invalid JSON: {exc.msg}", exc.lineno,
                                    exc.colno)]) from None
    except _DuplicateKey as exc:
        raise InvalidInput([problem(name, f"duplicate key '{shorten(exc.args[0])}'")]
                           ) from None
    except (ValueError, OverflowError) as exc:
        raise InvalidInput([problem(name, f"invalid value: {exc}")]) from None
    except RecursionError:
        raise InvalidInput([problem(name, "JSON is nested too deeply")]) from None
    # JSON is a subset of YAML: reparse for positions when it is small enough to be cheap.
    positions: dict[Loc, tuple[int, int]] = {}
    if len(text) < LOCATE_JSON_BELOW:
        try:
            positions = parse_yaml(name, text).positions
        except InvalidInput:
            positions = {}
    return Document(path=name, data=data, positions=positions, warnings=warnings, text=text)
