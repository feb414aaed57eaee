"""Loading frameworks: the seed file as it is, each quirk of the format, and the native format."""

from __future__ import annotations

import random
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.errors import InvalidInput, Severity
from rubrics.frameworks import framework_to_yaml, load_framework
from rubrics.ids import criterion_id, disambiguate
from rubrics.model import ID_PATTERN, Framework
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


def test_text_a_repair_would_turn_into_control_characters_is_kept() -> None:
    """Good text that merely looks garbled is kept when the "repair" would yield a
    control character (ftfy reads "čĀ¸©" as "č" + U+008F + "©")."""
    from rubrics.mojibake import repair

    assert repair("čĀ¸©") == ("čĀ¸©", None)
    assert repair("we‚Äôre")[0] == "we’re"


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


# ------------------------------------------------- progression files as users have them

PROGRESSION = FIXTURES / "progression"


def validate_workspace(runner: CliRunner, name: str) -> tuple[int, list[str]]:
    """`rubrics validate --workspace` on one fixture workspace: exit code and lines."""
    result = runner.invoke(app, ["validate", "--workspace", str(PROGRESSION / name)])
    return result.exit_code, result.output.splitlines()


def at(name: str, file: str) -> str:
    return rel(PROGRESSION / name / "frameworks" / file)


def texts_by_level(path: Path, topic: str) -> dict[int, list[str]]:
    fw, _ = load_framework(path)
    found = fw.topic(topic)
    assert found is not None
    return {lv: [c.text for c in found.at_level(lv)] for lv in found.levels}


def test_inherited_criteria_stop_at_the_files_levels(runner: CliRunner) -> None:
    """A file with `levels: 2` inherits the base's criteria at levels 1-2 only, as the site
    shows it; its own criteria above `levels` extend it with a warning."""
    assert validate_workspace(runner, "inheritance") == (0, [
        f"{at('inheritance', 'web.md')}:4:1: warning: levels: says 2, but criteria go up to "
        "level 3; using 3",
        "ok: no problems found (1 warning)",
    ])
    frameworks = PROGRESSION / "inheritance" / "frameworks"
    assert texts_by_level(frameworks / "backend.md", "communication") == {
        1: ["Asks for help"], 2: ["Writes clear design notes", "Gives feedback"]}
    assert len(load_framework(frameworks / "backend.md")[0].levels) == 2
    assert texts_by_level(frameworks / "web.md", "communication")[3] == [
        "Presents to the wider company", "Runs a retrospective"]


def test_levels_supplied_by_the_base_count(runner: CliRunner) -> None:
    """`levels: 4` with the file's own criteria at level 1 only does not warn when the base
    supplies levels 2-4."""
    frameworks = PROGRESSION / "inheritance" / "frameworks"
    fw, warnings = load_framework(frameworks / "data.md")
    assert (len(fw.levels), warnings) == (4, [])
    assert sorted(texts_by_level(frameworks / "data.md", "communication")) == [1, 2, 3, 4]


def test_base_title_wins_and_warnings_name_the_base_line(runner: CliRunner) -> None:
    """The base's topic title is shown, as on the site, and a criterion whose id collides
    with an inherited one names the base's file and line."""
    generic = at("base-lines", "generic.md")
    assert validate_workspace(runner, "base-lines") == (0, [
        f"{at('base-lines', 'mobile.md')}:7:5: warning: topics[0].title: shown as the base's "
        f"'💬 Communication' ({generic}:7), as the format's site shows it",
        f"{at('base-lines', 'mobile.md')}:11:13: warning: topics[0].content[0].criteria[0]: "
        "shares the id 'communication.l1.asks-for-help-early-and-often-when-stuck' with "
        f"{generic}:11; each got a hash suffix (reword one opening to keep ids readable)",
        "ok: no problems found (2 warnings)",
    ])
    fw, _ = load_framework(PROGRESSION / "base-lines" / "frameworks" / "mobile.md")
    assert [t.title for t in fw.topics] == ["💬 Communication"]


def test_a_broken_base_is_reported_at_its_own_line(runner: CliRunner) -> None:
    """An error in the base names the base file and its line; the child loads without it."""
    assert validate_workspace(runner, "broken-base") == (1, [
        f"{at('broken-base', 'generic.md')}:11:20: invalid YAML: while parsing a block "
        "collection, expected <block end>, but found '<scalar>'; hint: a ' inside a "
        "'-quoted text must be doubled ('') or the text quoted with \" instead",
        f"{at('broken-base', 'mobile.md')}:5:1: warning: topics: the base framework "
        f"{at('broken-base', 'generic.md')} does not load, so nothing is inherited from it: "
        f"{at('broken-base', 'generic.md')}:11:20: invalid YAML: while parsing a block "
        "collection, expected <block end>, but found '<scalar>'; hint: a ' inside a "
        "'-quoted text must be doubled ('') or the text quoted with \" instead",
        "1 problem found",
    ])


def test_a_tab_after_dash_or_colon_is_a_space(runner: CliRunner) -> None:
    """`-<tab>"text"` and `title:<tab>"x"` load with a warning naming line and field; tabs
    inside quoted texts and block scalars are kept as they are."""
    people = at("tabs", "people.md")
    assert validate_workspace(runner, "tabs") == (0, [
        f"{people}:3:7: warning: title: tab after ':' read as a space (YAML separates with "
        "spaces)",
        f"{people}:11:12: warning: topics[0].content[0].criteria[0]: tab after '-' read as "
        "a space (YAML separates with spaces)",
        f"{people}:18:16: warning: topics[0].content[1].exampleCriteria[0].examples[0]: tab "
        "after '-' read as a space (YAML separates with spaces)",
        "ok: no problems found (3 warnings)",
    ])
    fw, _ = load_framework(PROGRESSION / "tabs" / "frameworks" / "people.md")
    assert fw.title == "People"
    assert [c.text for c in fw.topics[0].criteria] == [
        "Understands people risk", "Keeps\ttabs in quotes", "Reads\ta block scalar"]
    assert fw.topics[0].criteria[2].examples == ["Keeps a risk log"]


def test_a_tab_in_indentation_stays_an_error(runner: CliRunner) -> None:
    """A tab that indents is refused with its line."""
    assert validate_workspace(runner, "tab-indent") == (1, [
        f"{at('tab-indent', 'indent.md')}:7:1: tab character in indentation; YAML indents "
        "with spaces only",
        "1 problem found",
    ])


def test_placeholder_criteria_are_skipped(runner: CliRunner) -> None:
    """`- ""`, a bare `-` and an empty example criterion are skipped, one warning each."""
    draft = at("placeholders", "draft.md")
    skipped = "empty criterion skipped (a placeholder for a level not yet written?)"
    assert validate_workspace(runner, "placeholders") == (0, [
        f"{draft}:14:13: warning: topics[0].content[1].criteria[0]: {skipped}",
        f"{draft}:17:12: warning: topics[0].content[2].criteria[0]: {skipped}",
        f"{draft}:19:13: warning: topics[0].content[2].exampleCriteria[0].criteria: {skipped}",
        "ok: no problems found (3 warnings)",
    ])


def test_long_and_letterless_names_give_valid_ids(runner: CliRunner) -> None:
    """A long topic name, an emoji name and texts with no ASCII letters load with valid ids."""
    assert validate_workspace(runner, "long-names") == (0, ["ok: no problems found"])
    fw, _ = load_framework(PROGRESSION / "long-names" / "frameworks" / "long.md")
    ids = [t.id for t in fw.topics] + [c.id for t in fw.topics for c in t.criteria]
    assert ids[2] == ("communication-transparent-communication-giving-and-receiving.l2."
                      "communicates-transparently-with-stakeholders-about-trade")
    assert all(re.fullmatch(ID_PATTERN, i) and len(i) <= 120 for i in ids)
    assert len(set(ids)) == len(ids) == 6


def test_topics_without_criteria_follow_base_md(runner: CliRunner) -> None:
    """With no generic.md, a base.md next to the file gives its empty topics their title and
    criteria; a topic nothing fills warns."""
    assert validate_workspace(runner, "empty-topics") == (0, [
        f"{at('empty-topics', 'data-science.md')}:10:5: warning: topics[2]: topic "
        f"'statistics' has no criteria, and its base {at('empty-topics', 'base.md')} has no "
        "topic of that name",
        "ok: no problems found (1 warning)",
    ])
    fw, _ = load_framework(PROGRESSION / "empty-topics" / "frameworks" / "data-science.md")
    assert [(t.title, [c.text for c in t.criteria]) for t in fw.topics] == [
        ("🔍 Analytical", ["Breaks a problem into parts"]),
        ("📈 Quality", ["Debugs issues at speed"]),
        ("Statistics", []),
    ]


def test_a_topic_without_criteria_or_base_warns(runner: CliRunner) -> None:
    """With no base at all, an empty topic is one warning, not silence."""
    assert validate_workspace(runner, "no-base") == (0, [
        f"{at('no-base', 'lonely.md')}:12:5: warning: topics[1]: topic 'quality' has no "
        "criteria, and no base framework (generic.md or base.md) is next to the file",
        "ok: no problems found (1 warning)",
    ])


def test_broken_files_are_refused_with_a_hint(runner: CliRunner) -> None:
    """Files that are really broken stay refused, each with its line and a hint."""
    assert validate_workspace(runner, "broken") == (1, [
        f"{at('broken', 'dot.md')}:10:27: invalid YAML: while parsing a block collection, "
        "expected <block end>, but found '<scalar>'; hint: remove the '.' after the closing "
        "quote, or move it inside the quotes",
        f"{at('broken', 'indent.md')}:11:10: invalid YAML: while parsing a block mapping, "
        "expected <block end>, but found '<block mapping start>'; hint: 'exampleCriteria:' "
        "is not lined up with the keys of the entry it belongs to; indent it with exactly as "
        "many spaces as they have",
        f"{at('broken', 'quote.md')}:10:20: invalid YAML: while parsing a block collection, "
        "expected <block end>, but found '<scalar>'; hint: a \" inside a \"-quoted text must "
        "be written \\\" or the text quoted with ' instead",
        f"{at('broken', 'stub.md')}:6:1: levels: 0 and no topics: a blank stub, not a "
        "framework; hint: write its topics and levels, or move the file out of the "
        "frameworks folder",
        "4 problems found",
    ])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(min_size=1, max_size=160).filter(str.strip),
       texts=st.lists(st.text(min_size=1, max_size=300).filter(str.strip), min_size=1,
                      max_size=4),
       level=st.integers(1, 20))
def test_any_topic_name_and_criterion_text_give_valid_ids(
        name: str, texts: list[str], level: int) -> None:
    """Whatever a topic is called and its criteria say, every derived id matches the id
    pattern, fits in 120 characters, and the loaded framework validates."""
    front = {"title": "Any", "levels": level, "topics": [
        {"name": name, "title": "T", "content": [{"level": level, "criteria": texts}]}]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.md"
        path.write_text("---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n",
                        encoding="utf-8")
        fw, _ = load_framework(path)
    ids = [t.id for t in fw.topics] + [c.id for t in fw.topics for c in t.criteria]
    assert all(re.fullmatch(ID_PATTERN, i) and len(i) <= 120 for i in ids), ids
    assert Framework.model_validate(fw.model_dump()) == fw


def test_ordinary_ids_are_unchanged_and_long_ones_cut_at_a_word() -> None:
    """An id that fitted before is the same; one that would pass 120 characters is cut at a
    word, and a hash suffix still fits."""
    topic = "t" * 60
    assert criterion_id("mastery", 3, "Mitigates race conditions and partial failure states "
                        "in distributed systems") == (
        "mastery.l3.mitigates-race-conditions-and-partial-failure-states-in")
    long_id = criterion_id(topic, 20, "word " * 30)
    assert len(long_id) <= 120 and long_id.endswith("-word")
    ids, collided = disambiguate(topic, 20, ["word " * 30 + "a", "word " * 30 + "b"])
    assert collided and all(len(i) <= 120 for i in ids) and len(set(ids)) == 2


def test_every_problem_of_a_progression_file_at_once(runner: CliRunner, tmp_path: Path) -> None:
    """A bad `levels`, two topics with one id and a criterion that is not a text are all
    reported, each with its line."""
    (tmp_path / "frameworks").mkdir()
    path = tmp_path / "frameworks" / "dup.md"
    path.write_text('---\ntitle: "Dup"\nlevels: "two"\ntopics:\n  - name: "Communication"\n'
                    '    content:\n      - level: 1\n        criteria: ["a"]\n'
                    '  - name: "communication"\n    content:\n      - level: 1\n'
                    '        criteria: ["b", {x: 1}]\n---\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", "--workspace", str(tmp_path)])
    assert (result.exit_code, result.output.splitlines()) == (1, [
        f"{rel(path)}:3:1: levels: must be a positive whole number (got 'two'); hint: set it "
        "to how many levels the framework has",
        f"{rel(path)}:9:5: topics[1].name: gives the topic id 'communication', as topics[0] "
        "does; rename one of them",
        f"{rel(path)}:12:25: topics[1].content[0].criteria[1]: must be a text",
        "3 problems found",
    ])


def test_a_native_base_is_inherited(tmp_path: Path) -> None:
    """A generic.yaml in the native format is a base too."""
    fw, _ = load_framework(FIXTURES / "native.yaml")
    (tmp_path / "generic.yaml").write_text(framework_to_yaml(fw), encoding="utf-8")
    topic = fw.topics[0]
    child = tmp_path / "child.md"
    child.write_text(f'---\ntitle: "Child"\ntopics:\n  - name: "{topic.id}"\n    content:\n'
                     '      - level: 1\n        criteria: ["Own criterion"]\n---\n',
                     encoding="utf-8")
    loaded, warnings = load_framework(child)
    assert warnings == []
    own = loaded.topics[0]
    assert own.title == topic.title
    assert [c.text for c in own.criteria] == ["Own criterion", *(c.text for c in topic.criteria)]


def test_a_broken_base_says_one_true_thing_when_the_child_is_validated_alone(
        tmp_path: Path, runner: CliRunner) -> None:
    """`rubrics validate web.md` next to a broken base.md names the base's first problem,
    and an empty topic blames the broken base, not a missing one."""
    (tmp_path / "base.md").write_text(
        "---\ntopics:\n  - name: communication\n    content:\n      - level: 1\n"
        "        criteria:\n          - 'Doesn't work'\n          - 'Nor this'\n---\n",
        encoding="utf-8")
    web = tmp_path / "web.md"
    web.write_text("---\ntopics:\n  - name: communication\n  - name: craft\n    content:\n"
                   "      - level: 1\n        criteria: [Writes tests]\n---\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(web)])
    base = rel(tmp_path / "base.md")
    assert (result.exit_code, result.output.splitlines()) == (0, [
        f"{rel(web)}:2:1: warning: topics: the base framework {base} does not load, so "
        f"nothing is inherited from it: {base}:7:20: invalid YAML: while parsing a block "
        "collection, expected <block end>, but found '<scalar>'; hint: a ' inside a "
        "'-quoted text must be doubled ('') or the text quoted with \" instead",
        f"{rel(web)}:3:5: warning: topics[0]: topic 'communication' has no criteria, and "
        f"its base {base} does not load",
        "ok: no problems found (2 warnings)",
    ])


def test_an_ft_job_family_is_a_base_too(tmp_path: Path) -> None:
    """A generic.yml in the FT's shape is loaded as `load_framework` loads it (its first
    track) and its theme's competencies are inherited."""
    shutil.copy(FIXTURES / "ft" / "frameworks" / "product-engineering.yml",
                tmp_path / "generic.yml")
    family, _ = load_framework(tmp_path / "generic.yml")
    child = tmp_path / "web.md"
    child.write_text("---\ntopics:\n  - name: delivery\n---\n", encoding="utf-8")
    loaded, warnings = load_framework(child)
    assert warnings == []
    delivery = family.topic("delivery")
    assert delivery is not None
    assert [c.text for c in loaded.topics[0].criteria] == [c.text for c in delivery.criteria]
    assert loaded.topics[0].title == delivery.title


@pytest.mark.parametrize("value", ['""', "0", "false", "[]"])
def test_an_empty_criteria_value_is_a_placeholder(tmp_path: Path, value: str) -> None:
    """`criteria: ""`, `0`, `false` (and `exampleCriteria` so) are skipped with the docs'
    `empty criterion skipped` warning; `[]` is simply empty."""
    path = tmp_path / "draft.md"
    path.write_text("---\ntopics:\n  - name: craft\n    content:\n      - level: 1\n"
                    f"        criteria: {value}\n        exampleCriteria: {value}\n"
                    "      - level: 2\n        criteria: [Writes tests]\n---\n", encoding="utf-8")
    _, warnings = load_framework(path)
    expected = [] if value == "[]" else [
        f"{rel(path)}:{line}:9: warning: topics[0].content[0].{key}: empty criterion skipped "
        "(a placeholder for a level not yet written?)"
        for line, key in ((6, "criteria"), (7, "exampleCriteria"))]
    assert [str(w) for w in warnings] == expected


def test_a_criteria_text_instead_of_a_list_is_an_error(tmp_path: Path) -> None:
    """`criteria: "text"` is refused, naming the field: a list was meant."""
    path = tmp_path / "draft.md"
    path.write_text("---\ntopics:\n  - name: craft\n    content:\n      - level: 1\n"
                    "        criteria: Writes tests\n---\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_framework(path)
    assert str(info.value) == f"{rel(path)}:6:9: topics[0].content[0].criteria: must be a list"


def test_frameworks_show_says_1_level(tmp_path: Path, runner: CliRunner) -> None:
    """A framework of one level is shown as `1 level`, not `1 levels`."""
    (tmp_path / "frameworks").mkdir()
    (tmp_path / "frameworks" / "one.md").write_text(
        "---\ntitle: One\ntopics:\n  - name: craft\n    content:\n      - level: 1\n"
        "        criteria: [Writes tests]\n---\n", encoding="utf-8")
    result = runner.invoke(app, ["frameworks", "show", "one", "-w", str(tmp_path)])
    assert (result.exit_code, result.output.splitlines()[0]) == (0, "One  (one: 1 level)")
