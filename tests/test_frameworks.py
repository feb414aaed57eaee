"""Loading frameworks: the seed file as it is, each quirk of the format, and the native format."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rubrics.errors import Severity
from rubrics.frameworks import framework_to_yaml, load_framework
from rubrics.ids import criterion_id, disambiguate
from tests.conftest import FIXTURES, SEED, rel


def test_seed_loads_with_mojibake_repaired() -> None:
    """The seed file loads as it is; its text says we’re/don’t and its titles show emoji."""
    fw, warnings = load_framework(SEED)
    assert fw.id == "backend"
    assert fw.title == "🛠️ Backend Engineering Framework"
    titles = {t.id: t.title for t in fw.topics}
    assert titles == {
        "communication": "Communication",
        "impact": "Impact",
        "leadership": "👩‍💼 Leadership",
        "influence": "✨ Influence",
        "mastery": "🛠️ Mastery",
    }
    texts = [c.text + " ".join(c.examples) for t in fw.topics for c in t.criteria]
    assert any("don’t result" in t for t in texts)
    assert not any("‚Äô" in t or "Ä" in t for t in texts)
    assert [str(w) for w in warnings] == [
        f"{rel(SEED)}: warning: repaired mojibake: the file's UTF-8 had been read as Mac Roman"
    ]


def test_seed_structure() -> None:
    """Six levels, sub-levels A–E from the prose, leadership from level 3, example criteria
    counted as criteria."""
    fw, _ = load_framework(SEED)
    assert [lv.number for lv in fw.levels] == [1, 2, 3, 4, 5, 6]
    assert fw.sub_levels == ["A", "B", "C", "D", "E"]
    topic = {t.id: t for t in fw.topics}
    assert topic["leadership"].levels == [3, 4, 5, 6]
    assert sum(len(t.criteria) for t in fw.topics) == 135
    race = next(c for c in topic["mastery"].criteria if c.text.startswith("Mitigates race"))
    assert race.id == "mastery.l3.mitigates-race-conditions-and-partial-failure-states-in"
    assert race.examples[0].startswith("Uses locking where appropriate")
    assert "“self-healing”" in race.examples[0]


def test_quirks_fixture() -> None:
    """Empty titles are derived from the name; a levels count that disagrees warns."""
    path = FIXTURES / "frameworks" / "quirks.md"
    fw, warnings = load_framework(path)
    assert fw.title == "Quirks"
    assert [t.title for t in fw.topics] == ["Craft and care", "Leadership"]
    assert fw.topics[1].levels == [3]
    assert [c.id for c in fw.topics[0].criteria] == [
        "craft-and-care.l1.writes-tests",
        "craft-and-care.l2.reviews-code-kindly",
        "craft-and-care.l2.explains-trade-offs-in-prs",
    ]
    assert fw.topics[0].criteria[2].examples == ["I chose X over Y because Z"]
    assert [str(w) for w in warnings] == [
        f"{rel(path)}:7:1: warning: levels: says 4, but criteria go up to level 3; using 4"
    ]
    assert [lv.number for lv in fw.levels] == [1, 2, 3, 4]
    assert fw.sub_levels == ["A", "B", "C"]


def test_generic_base_is_inherited() -> None:
    """A topic whose name is in the sibling generic framework inherits its title and criteria,
    listed after the file's own at each level, as the format's site lists them."""
    fw, _ = load_framework(FIXTURES / "generic" / "web.md")
    comm = fw.topic("communication")
    assert comm is not None
    assert comm.title == "💬 Communication"
    assert [c.text for c in comm.criteria] == [
        "Asks for help",
        "Writes clear PR descriptions",
        "Gives feedback",
        "Presents to the wider team",
    ]
    craft = fw.topic("craft")
    assert craft is not None and [c.text for c in craft.criteria] == ["Builds accessible pages"]


def test_native_format_round_trips(tmp_path: Path) -> None:
    """A framework exported in the native format loads back identical."""
    fw, _ = load_framework(SEED)
    out = tmp_path / "backend.yaml"
    out.write_text(framework_to_yaml(fw), encoding="utf-8")
    again, warnings = load_framework(out)
    assert again == fw
    assert warnings == []


def test_native_fixture() -> None:
    """The native format keeps explicit ids and level names."""
    fw, warnings = load_framework(FIXTURES / "native.yaml")
    assert warnings == []
    assert fw.level(3).label == "Level 3 (Senior)"
    assert fw.topics[0].criteria[2].examples == ["A payment ledger"]


def test_mojibake_warns_and_cp1252_is_repaired_too(tmp_path: Path) -> None:
    """A file whose UTF-8 was read as Windows-1252 is repaired as well."""
    text = "---\ntitle: \"Caf\u00e9 \u2014 we\u2019re\"\ntopics:\n  - name: a\n    content:\n" \
        "      - level: 1\n        criteria: [\"x\"]\n---\n"
    path = tmp_path / "cafe.md"
    path.write_text(text.encode("utf-8").decode("cp1252", errors="strict"), encoding="utf-8")
    fw, warnings = load_framework(path)
    assert fw.title == "Café — we’re"
    assert warnings[0].severity is Severity.WARNING


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="abcdefgh ", min_size=3, max_size=40).filter(str.strip),
                min_size=1, max_size=12, unique_by=str.strip), st.randoms())
def test_ids_survive_reordering_and_additions(texts: list[str], rnd: random.Random) -> None:
    """A criterion's id depends only on its topic, level and text: shuffling the list or
    adding new criteria never changes it."""
    ids, _ = disambiguate("t", 2, texts)
    before = dict(zip(texts, ids, strict=True))
    shuffled = texts[:]
    rnd.shuffle(shuffled)
    ids2, _ = disambiguate("t", 2, shuffled)
    assert dict(zip(shuffled, ids2, strict=True)) == before
    assert len(set(ids)) == len(ids)


def test_id_rule_is_readable() -> None:
    """Ids are topic.l<level>.<first words>, ASCII-folded."""
    assert criterion_id("impact", 4, "Solves ambiguous problems") == "impact.l4.solves-ambiguous-problems"
    assert criterion_id("x", 1, "Évalue l'équipe à fond") == "x.l1.evalue-lequipe-a-fond"
