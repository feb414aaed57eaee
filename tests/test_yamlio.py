"""Safe reading of user YAML: every bad input is one clear, located problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rubrics.errors import InvalidInput
from rubrics.yamlio import parse_yaml, read_document
from tests.conftest import FIXTURES, rel

BAD = FIXTURES / "bad"


def messages(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        read_document(path)
    return [str(p) for p in info.value.problems]


def test_alias_bomb_is_refused_quickly() -> None:
    """A billion-laughs document is refused before anything expands it."""
    assert messages(BAD / "bomb.yaml") == [
        f"{rel(BAD / 'bomb.yaml')}: document expands to more than 200,000 values "
        "(too many aliases: an alias bomb?)"
    ]


def test_python_object_tag_is_refused() -> None:
    """A !!python/object tag is reported with its line, and nothing is constructed."""
    assert messages(BAD / "python-tag.yaml") == [
        f"{rel(BAD / 'python-tag.yaml')}:3:9: unsupported YAML tag "
        "'!!python/object/apply:os.system' (only plain YAML is read)"
    ]


def test_empty_file() -> None:
    """An empty file is one clear line."""
    assert messages(BAD / "empty.yaml") == [f"{rel(BAD / 'empty.yaml')}: file is empty"]


def test_binary_file() -> None:
    """A binary file is recognised as such, not parsed."""
    assert messages(BAD / "binary.yaml") == [f"{rel(BAD / 'binary.yaml')}: binary file, not text"]


def test_utf16_yaml_is_named_as_such(tmp_path: Path) -> None:
    """A YAML file saved as UTF-16 is named as such, not as a binary file or a stray byte."""
    path = tmp_path / "role.yaml"
    path.write_bytes("id: x\n".encode("utf-16"))
    assert messages(path) == [f"{rel(path)}:1:1: not UTF-8 text: saved as UTF-16 (Excel's "
                              "\"Unicode Text\"); save it as UTF-8 (\"CSV UTF-8\" in Excel)"]


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is one clear line."""
    assert messages(tmp_path / "nope.yaml") == [f"{rel(tmp_path / 'nope.yaml')}: file not found"]


def test_too_large_file(tmp_path: Path) -> None:
    """A file over the size limit is refused without being read."""
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 10)
    with pytest.raises(InvalidInput) as info:
        read_document(big, max_bytes=20)
    assert str(info.value) == f"{big}: file is too large (50 bytes; the limit is 20)"


def test_tabs_in_indentation_name_the_line() -> None:
    """PyYAML's tab rejection becomes a message naming each offending line."""
    assert messages(BAD / "tabs.md") == [
        f"{rel(BAD / 'tabs.md')}:6:1: tab character in indentation; YAML indents with spaces only"
    ]


def test_syntax_error_is_located() -> None:
    """A YAML syntax error names its line and column."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    assert str(info.value) == (
        "x.yaml:3:2: invalid YAML: while parsing a flow sequence, "
        "expected ',' or ']', but got ':'"
    )


def test_control_character_is_located() -> None:
    """A control character PyYAML refuses is reported with its line."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "a: 1\nb: \x1f\n")
    assert str(info.value) == "x.yaml:2: control character U+001F is not allowed in YAML"


def test_duplicate_keys_are_errors() -> None:
    """A key given twice is an error, not a silent overwrite."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "a: 1\nb: 2\na: 3\n")
    assert str(info.value) == "x.yaml:3:1: duplicate key 'a'"


def test_recursive_alias_is_refused() -> None:
    """A self-referencing alias is refused, not looped over."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "a: &a [*a]\n")
    assert "recursive YAML alias" in str(info.value)


def test_yes_and_no_stay_strings() -> None:
    """YAML 1.1 booleans like yes/no/on/off are read as text; true/false are booleans."""
    doc = parse_yaml("x.yaml", "a: yes\nb: no\nc: on\nd: true\ne: False\n")
    assert doc.data == {"a": "yes", "b": "no", "c": "on", "d": True, "e": False}


def test_positions_are_one_based_with_front_matter_offset(tmp_path: Path) -> None:
    """Positions count from 1 and include the front matter's opening line."""
    md = tmp_path / "f.md"
    md.write_text("---\ntitle: x\ntopics:\n  - name: a\n---\nbody\n", encoding="utf-8")
    doc = read_document(md)
    assert doc.locate(("topics", 0, "name")) == (4, 5)
    assert doc.body == "body\n"


def test_deep_nesting_is_refused() -> None:
    """Pathologically deep nesting is one error, not a crash."""
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "[" * 5000 + "]" * 5000)
    assert "nested too deeply" in str(info.value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises_anything_but_invalid_input(text: str) -> None:
    """Whatever text a user gives us, reading it either works or raises InvalidInput."""
    try:
        parse_yaml("x.yaml", text)
    except InvalidInput as exc:
        assert exc.problems


YAML_ALPHABET = st.sampled_from(
    [*list(":-[]{}&*!|>'\"#%@`,? \n\t"), "a", "b", "1", "yes", "- ", "&x ", "*x", "!!str ", "!!python/object ", "<<: ", "---\n", "...\n"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(YAML_ALPHABET, max_size=60).map("".join))
def test_yaml_like_noise_never_raises_anything_but_invalid_input(text: str) -> None:
    """YAML-shaped garbage (anchors, tags, flow syntax) never yields a traceback."""
    try:
        parse_yaml("x.yaml", text)
    except InvalidInput as exc:
        assert exc.problems


def test_separator_tabs_are_spaces_and_scalars_keep_theirs() -> None:
    """A tab between tokens of a line is a space, one warning per line; tabs inside quoted
    texts, block scalars and after the indentation of a flow list are kept or refused as
    before."""
    doc = parse_yaml("x.yaml", 'a:\t[1,\t2]\t# note\nb: "x\ty"\nc: |\n  p\tq\nd:\t\'e\tf\'\n')
    assert doc.data == {"a": [1, 2], "b": "x\ty", "c": "p\tq\n", "d": "e\tf"}
    assert [str(w) for w in doc.warnings] == [
        "x.yaml:1:3: warning: a: tab after ':' read as a space (YAML separates with spaces)",
        "x.yaml:5:3: warning: d: tab after ':' read as a space (YAML separates with spaces)",
    ]
    with pytest.raises(InvalidInput) as info:
        parse_yaml("x.yaml", "a:\n\t- 1\n")
    assert str(info.value) == ("x.yaml:2:1: tab character in indentation; YAML indents with "
                               "spaces only")


def test_a_tab_in_block_scalar_content_does_not_hide_the_real_error() -> None:
    """A tab-indented line inside a block scalar is legal; the error elsewhere is reported
    at its own line with its hint, not as a tab in indentation."""
    text = "c:\n  - |\n    \tcode line\n  - 'Doesn't work'\n"
    with pytest.raises(InvalidInput) as info:
        parse_yaml("p.md", text, line_offset=1)
    assert str(info.value) == (
        "p.md:5:12: invalid YAML: while parsing a block collection, expected <block end>, "
        "but found '<scalar>'; hint: a ' inside a '-quoted text must be doubled ('') or the "
        "text quoted with \" instead")


def test_a_tab_between_words_of_an_unquoted_text_is_kept() -> None:
    """`- Writes tests<TAB>and docs` reads as written (YAML 1.2, js-yaml), one warning at the
    tab naming the field; a tab before a comment or a `: ` stays a separator."""
    doc = parse_yaml("x.yaml", "c:\n  - Writes tests\tand docs\nk\t: v\t# note\n")
    assert doc.data == {"c": ["Writes tests\tand docs"], "k": "v"}
    assert [str(w) for w in doc.warnings] == [
        "x.yaml:3:2: warning: k: tab between values read as a space (YAML separates with "
        "spaces)",
        "x.yaml:2:17: warning: c[0]: tab inside an unquoted text kept as written (as YAML 1.2 "
        "reads it)",
    ]
