"""Candidate packs: golden HTML, what a candidate may see, escaping, fetching, safe writes, batches.

Golden files
------------
``tests/golden/<role id>/`` holds the HTML (and blank YAML) a pack of the bundled role
renders with a fixed pack id and time. After an intended change to a template, the
bundled role or the version, regenerate them and review the diff::

    RUBRICS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_packs.py -k golden
    git diff tests/golden/

PDFs are built only by the tests that need them (module-scoped fixtures), and the
fetcher tests use the two-stage workspace in ``tests/fixtures/ws`` to stay fast.
"""

from __future__ import annotations

import csv
import difflib
import itertools
import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from markupsafe import escape
from typer.testing import CliRunner, Result

from rubrics.cli import app
from rubrics.errors import TemplateError
from rubrics.fsutil import sha256_file
from rubrics.packs import Candidate, PackOptions, PackResult, build_pack, pack_templates
from rubrics.render import Templates
from rubrics.roles import InterviewLoop
from rubrics.workspace import Workspace
from tests.conftest import FIXTURES, ROLE_ID, ROOT, rel
from tests.test_debrief import STAGES, returns

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("RUBRICS_UPDATE_GOLDEN") == "1"
GOLDEN_PACK_ID = "20260101-golden-00000000"
GOLDEN_NOW = datetime(2026, 1, 1, tzinfo=UTC)
GOLDEN_CANDIDATE = Candidate(name="Siobhán O'Brien & Zoë")
TINY_WS = FIXTURES / "ws"
TINY_ROLE = "tiny-engineer"
BUNDLED_ROLES = sorted(role.id for role, _ in Workspace.open(None).roles())

ANON_NAME = "Zoë 🚀 Ångström"
ANON_ID = "C-ANON-7"

ESCAPE_NAMES = [
    "<script>alert(1)</script>",
    "../../x",
    "a/b\\c",
    "Zoë 🚀 Ångström",
    "مريم الحسن",
]

runner = CliRunner()


def invoke(args: list[str]) -> Result:
    """Run the CLI in-process, ignoring any RUBRICS_WORKSPACE of the caller."""
    return runner.invoke(app, args, env={"RUBRICS_WORKSPACE": None})


def pack_dir(out: Path) -> Path:
    """The one pack folder in ``out`` (and nothing else there, hidden or not)."""
    entries = sorted(out.iterdir())
    assert len(entries) == 1, entries
    return entries[0]


def files_of(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def norm(text: str) -> str:
    """Text for comparing: NFKC, one space for any whitespace, no break after a hyphen, casefolded."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return re.sub(r"-\s+", "-", text).casefold()


class _HTMLText(HTMLParser):
    """Visible text and attribute values of a page (not CSS, JS or the CSP), and its headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[int] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        is_csp = any(name == "http-equiv" for name, _ in attrs)
        for name, value in attrs:
            if value and not (is_csp and name == "content"):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> tuple[str, list[int]]:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return " ".join(parser.parts), parser.headings


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def pdf_is_tagged(path: Path) -> bool:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                              check=True).stdout
        return re.search(r"^Tagged:\s+yes$", info, re.MULTILINE) is not None
    from pypdf import PdfReader

    root: Any = PdfReader(path).trailer["/Root"]
    return bool(root.get("/MarkInfo", {}).get("/Marked")) and "/StructTreeRoot" in root


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bundled() -> tuple[Workspace, InterviewLoop, bytes]:
    ws = Workspace.open(None)
    loop, role_path = ws.loop(ROLE_ID)
    return ws, loop, role_path.read_bytes()


def _golden_build(out: Path, templates_override: Path | None = None) -> PackResult:
    ws = Workspace.open(None)
    loop, role_path = ws.loop(ROLE_ID)
    return build_pack(loop, role_path.read_bytes(), GOLDEN_CANDIDATE,
                      PackOptions(out=out, formats=("html",)),
                      pack_templates(ws, templates_override),
                      pack_id=GOLDEN_PACK_ID, now=GOLDEN_NOW)


@pytest.fixture(scope="module")
def golden_pack(tmp_path_factory: pytest.TempPathFactory) -> PackResult:
    return _golden_build(tmp_path_factory.mktemp("golden") / "packs")


@pytest.fixture(scope="module")
def pdf_pack(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """One anonymous HTML+PDF pack per bundled role, built on first use through the CLI.

    The candidate packet does not depend on --anonymous (it greets the candidate by name
    either way), so the leak tests and the anonymous-scorecard test share these packs.
    """
    built: dict[str, Path] = {}

    def get(role_id: str) -> Path:
        if role_id not in built:
            out = tmp_path_factory.mktemp("pdf") / "packs"
            result = invoke(["pack", role_id, "--candidate", ANON_NAME, "--candidate-id", ANON_ID,
                             "--anonymous", "--out", str(out)])
            assert result.exit_code == 0, result.output
            built[role_id] = pack_dir(out)
        return built[role_id]

    return get


# --------------------------------------------------------------------------- 1. golden files


def _golden_outputs(folder: Path) -> dict[str, bytes]:
    return {rel_path: path.read_bytes() for rel_path, path in files_of(folder).items()
            if rel_path.endswith(".html") or rel_path.startswith("scorecards/")}


def test_golden_files(golden_pack: PackResult, bundled: tuple[Workspace, InterviewLoop, bytes]) -> None:
    """Every scorecard (HTML and blank YAML), the candidate packet and the interview plan render byte for byte as the golden files."""
    _, loop, _ = bundled
    got = _golden_outputs(golden_pack.path)
    expected_names = {f"scorecards/{s.id}.{ext}" for s in loop.role.stages for ext in ("html", "yaml")}
    assert set(got) == expected_names | {"candidate-packet.html", "interview-plan.html"}
    golden_dir = GOLDEN / ROLE_ID
    if UPDATE_GOLDEN:
        if golden_dir.exists():
            shutil.rmtree(golden_dir)
        for name, data in got.items():
            (golden_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / name).write_bytes(data)
    assert golden_dir.is_dir(), "no golden files: run with RUBRICS_UPDATE_GOLDEN=1"
    have = {name: path.read_bytes() for name, path in files_of(golden_dir).items()}
    assert sorted(have) == sorted(got), "golden files missing or stale: RUBRICS_UPDATE_GOLDEN=1"
    for name, data in got.items():
        if have[name] != data:
            diff = "".join(list(difflib.unified_diff(
                have[name].decode("utf-8").splitlines(keepends=True),
                data.decode("utf-8").splitlines(keepends=True),
                f"golden/{ROLE_ID}/{name}", "rendered"))[:60])
            pytest.fail(f"{name} differs from its golden file "
                        f"(RUBRICS_UPDATE_GOLDEN=1 to accept):\n{diff}")


def test_manifest_structure(golden_pack: PackResult,
                            bundled: tuple[Workspace, InterviewLoop, bytes]) -> None:
    """manifest.json names the format, pack, role version, framework hash, candidate and stages, and lists every file with its true sha256."""
    _, loop, role_bytes = bundled
    folder = golden_pack.path
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "rubrics-pack/1"
    assert manifest["pack_id"] == GOLDEN_PACK_ID == golden_pack.pack_id
    assert manifest["created_at"] == "2026-01-01T00:00:00+00:00"
    assert manifest["tool"]["name"] == "rubrics"
    role = manifest["role"]
    assert role["id"] == ROLE_ID and role["title"] == loop.role.title
    assert re.fullmatch(r"[0-9a-f]{12}", role["version"])
    assert role["file"] == "source/role.yaml"
    assert (folder / "source/role.yaml").read_bytes() == role_bytes
    assert sha256_file(folder / "source/role.yaml").startswith(role["version"])
    fw = manifest["framework"]
    assert fw["id"] == loop.framework.id == loop.role.framework
    assert re.fullmatch(r"[0-9a-f]{12}", fw["hash"])
    assert fw["file"] == "source/framework.yaml"
    assert sha256_file(folder / "source/framework.yaml").startswith(fw["hash"])
    cand = manifest["candidate"]
    assert cand["name"] == GOLDEN_CANDIDATE.name
    assert re.fullmatch(r"C-[0-9A-F]{6}", cand["id"])
    assert cand["email"] is None and cand["anonymous"] is False
    assert manifest["stages"] == [{"id": s.id, "title": s.title, "criteria": list(s.assesses)}
                                  for s in loop.role.stages]
    on_disk = files_of(folder)
    listed = [f["path"] for f in manifest["files"]]
    assert listed == sorted(listed)
    # the log the pack is made with changes as it is used, so it is not listed; its genesis
    # entry records the manifest's own SHA-256 instead
    assert set(listed) == set(on_disk) - {"manifest.json", "submissions/log.jsonl",
                                          "submissions/head.json"}
    assert manifest["log"] == "submissions/log.jsonl"
    (genesis,) = [json.loads(x) for x in
                  (folder / "submissions" / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert (genesis["kind"], genesis["seq"], genesis["pack_id"]) == ("genesis", 0, GOLDEN_PACK_ID)
    assert genesis["manifest_sha256"] == sha256_file(folder / "manifest.json")
    for entry in manifest["files"]:
        path = on_disk[entry["path"]]
        assert entry["sha256"] == sha256_file(path), entry["path"]
        assert entry["bytes"] == path.stat().st_size, entry["path"]
    assert golden_pack.files == ["manifest.json", *listed]
    assert golden_pack.path.name == "siobhan-obrien-zoe"


# --------------------------------------------------------------------------- 2. candidate packet


def _internal_strings(loop: InterviewLoop) -> list[str]:
    role = loop.role
    out = [role.summary]
    for stage in role.stages:
        out.append(stage.interviewer_profile)
        out += stage.red_flags
        for q in stage.questions:
            out.append(q.text)
            out += q.probes
            out += [a.text for a in q.what_good_looks_like]
        for cid in stage.assesses:
            crit = loop.criteria[cid][1]
            out += [cid, crit.text, *crit.examples]
    return list(dict.fromkeys(out))


INTERNAL_WORDS = re.compile(r"\btarget[\s_-]*levels?\b|\bbands?\b|\bweight", re.IGNORECASE)


@pytest.mark.parametrize("role_id", BUNDLED_ROLES)
def test_candidate_packet_leaks_nothing_internal(role_id: str, pdf_pack: Callable[[str], Path]) -> None:
    """The candidate packet (HTML and PDF text) shows the candidate-facing texts and none of the role's internal ones."""
    loop, _ = Workspace.open(None).loop(role_id)
    folder = pdf_pack(role_id)
    html_visible, _ = html_text((folder / "candidate-packet.html").read_text(encoding="utf-8"))
    texts = {"candidate-packet.html": norm(html_visible),
             "candidate-packet.pdf": norm(pdf_text(folder / "candidate-packet.pdf"))}
    role = loop.role
    shown = [role.title, role.candidate_summary, role.adjustments, *role.preparation,
             *(s.candidate_description for s in role.stages), "Zoë", "Ångström"]
    for name, text in texts.items():
        # Positive controls: the extraction and normalisation can find long texts at all.
        for s in shown:
            assert norm(s) in text, f"{name} lacks candidate-facing text {s[:60]!r}"
        leaked = [s for s in _internal_strings(loop) if norm(s) in text]
        assert leaked == [], f"{name} shows internal text"
        assert INTERNAL_WORDS.findall(text) == [], name


@pytest.mark.parametrize("role_id", BUNDLED_ROLES)
def test_candidate_packet_accessible(role_id: str, pdf_pack: Callable[[str], Path]) -> None:
    """The candidate packet PDF is tagged and its HTML headings go h1 → h2 → h3 without skipping a level."""
    folder = pdf_pack(role_id)
    assert pdf_is_tagged(folder / "candidate-packet.pdf")
    _, headings = html_text((folder / "candidate-packet.html").read_text(encoding="utf-8"))
    assert headings[0] == 1 and headings.count(1) == 1, headings
    for before, after in itertools.pairwise(headings):
        assert after <= before + 1, headings
    assert set(headings) == {1, 2, 3}


# --------------------------------------------------------------------------- 3. escaping


@pytest.fixture(scope="module")
def escaped_packs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    """An HTML-only pack per awkward name, named and anonymous, each in its own --out."""
    stages = len(Workspace.open(None).loop(ROLE_ID)[0].role.stages)
    n_files = 1 + 2 + 2 * stages + 2  # manifest, sources, HTML+YAML scorecards, packet and plan
    packs = {}
    for i, name in enumerate(ESCAPE_NAMES):
        for anonymous in (False, True):
            out = tmp_path_factory.mktemp(f"esc{i}") / "out"
            args = ["pack", ROLE_ID, "--candidate", name, "--out", str(out), "--format", "html"]
            result = invoke([*args, "--anonymous"] if anonymous else args)
            assert result.exit_code == 0, result.output
            folder = pack_dir(out)
            assert result.stdout.startswith("wrote pack ")
            assert result.stdout.endswith(f" to {folder}/ ({n_files} files)\n")
            packs[name, anonymous] = folder
    return packs


@pytest.mark.parametrize("name", ESCAPE_NAMES)
def test_awkward_name_makes_safe_folder(name: str, escaped_packs: dict[tuple[str, bool], Path]) -> None:
    """A candidate name never escapes --out: the pack is a direct child named with [a-z0-9-] only."""
    for anonymous in (False, True):
        folder = escaped_packs[name, anonymous]
        out = folder.parent
        assert out.name == "out" and pack_dir(out) == folder
        assert folder.resolve().parent == out.resolve()
        assert re.fullmatch(r"[a-z0-9-]+", folder.name), folder.name
        assert not any(p.name.startswith(".") for p in out.iterdir())


@pytest.mark.parametrize("name", ESCAPE_NAMES)
def test_awkward_name_shown_as_typed(name: str, escaped_packs: dict[tuple[str, bool], Path]) -> None:
    """The name appears exactly as typed, HTML-escaped, in the packet and plan, and never as markup."""
    folder = escaped_packs[name, False]
    expected = str(escape(name))
    for page in ("candidate-packet.html", "interview-plan.html"):
        html = (folder / page).read_text(encoding="utf-8")
        assert expected in html, page
        assert "<script" not in html.lower(), page
        visible, _ = html_text(html)
        assert name in visible, page
    for path in folder.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert "<script>alert" not in html.lower(), path
        assert html.lower().count("<script") == (1 if path.parent.name == "scorecards" else 0), path
    if "<" in name:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (folder / "candidate-packet.html").read_text(
            encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["candidate"]["name"] == name
    for path in (folder / "scorecards").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["candidate_id"] == manifest["candidate"]["id"]
        assert f"# Candidate: {name}\n" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ESCAPE_NAMES)
def test_anonymous_scorecards_html_yaml(name: str, escaped_packs: dict[tuple[str, bool], Path]) -> None:
    """With --anonymous no HTML or YAML scorecard contains the name, each contains the candidate id, and the plan still names the candidate."""
    folder = escaped_packs[name, True]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    cid = manifest["candidate"]["id"]
    assert manifest["candidate"]["anonymous"] is True
    scorecards = sorted((folder / "scorecards").iterdir())
    assert scorecards
    for path in scorecards:
        text = path.read_text(encoding="utf-8")
        for form in {name, str(escape(name))}:
            assert form not in text, path
        assert cid in text, path
    assert str(escape(name)) in (folder / "interview-plan.html").read_text(encoding="utf-8")


def test_anonymous_scorecards_do_not_carry_name_slug(tmp_path: Path) -> None:
    """With --anonymous and no --candidate-id, no scorecard carries the name in any form (not even its slug in the pack id)."""
    out = tmp_path / "out"
    result = invoke(["pack", ROLE_ID, "--candidate", "Ada Lovelace", "--anonymous", "--out", str(out),
                     "--format", "html"])
    assert result.exit_code == 0, result.output
    for path in (pack_dir(out) / "scorecards").iterdir():
        assert "lovelace" not in path.read_text(encoding="utf-8").lower(), path


def test_anonymous_scorecard_pdfs(pdf_pack: Callable[[str], Path]) -> None:
    """With --anonymous the PDF scorecards' text and metadata show the candidate id and never the name."""
    from pypdf import PdfReader

    folder = pdf_pack(ROLE_ID)
    pdfs = sorted((folder / "scorecards").glob("*.pdf"))
    assert len(pdfs) == len(list((folder / "scorecards").glob("*.yaml"))) > 0
    for path in pdfs:
        text = norm(pdf_text(path))
        meta = norm(" ".join(str(v) for v in (PdfReader(path).metadata or {}).values()))
        for part in ("Zoë", "Ångström", "zoe", "angstrom", "🚀"):
            assert norm(part) not in text, (path.name, part)
            assert norm(part) not in meta, (path.name, part)
        assert norm(ANON_ID) in text, path.name
    assert norm(ANON_NAME) in norm(pdf_text(folder / "interview-plan.pdf"))


def test_role_text_is_escaped_in_scorecards(workspace: Path, tmp_path: Path) -> None:
    """Markup in a role's question text or red flag (text and attribute contexts) is rendered escaped in the scorecard."""
    role_file = workspace / "roles" / f"{ROLE_ID}.yaml"
    data = yaml.safe_load(role_file.read_text(encoding="utf-8"))
    stage = data["stages"][0]
    stage["questions"][0]["text"] = "<img src=x onerror=alert(1)> " + stage["questions"][0]["text"]
    stage["red_flags"][0] = "\"'><img src=y onerror=alert(2)>"
    role_file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(["pack", ROLE_ID, "--workspace", str(workspace), "--candidate", "X",
                     "--out", str(out), "--format", "html"])
    assert result.exit_code == 0, result.output
    html = (pack_dir(out) / "scorecards" / f"{stage['id']}.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#34;&#39;&gt;&lt;img src=y onerror=alert(2)&gt;" in html
    assert "<img" not in html
    visible, _ = html_text(html)
    assert "<img src=x onerror=alert(1)>" in visible
    assert "\"'><img src=y onerror=alert(2)>" in visible


# --------------------------------------------------------------------------- 4. fetcher

PACKET = (ROOT / "templates" / "candidate-packet.html.j2").read_text(encoding="utf-8")


def _override(folder: Path, head: str = "", body: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = PACKET
    if head:
        text = text.replace("</head>", head + "\n</head>", 1)
    if body:
        text = text.replace("<main>", "<main>" + body, 1)
    assert text != PACKET or not (head or body)
    (folder / "candidate-packet.html.j2").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", ["passwd-attachment", "remote-image", "both", "symlink-out"])
def test_fetcher_refuses_outside_resources(case: str, tmp_path: Path) -> None:
    """A template that asks for a file outside the template folders or a network URL fails the PDF run with one line and leaves nothing in --out."""
    tpl = tmp_path / "tpl"
    passwd = '<link rel="attachment" href="file:///etc/passwd">'
    image = '<img src="http://example.com/x.png" alt="">'
    if case == "passwd-attachment":
        _override(tpl, head=passwd)
        url = "file:///etc/passwd"
    elif case == "remote-image":
        _override(tpl, body=image)
        url = "http://example.com/x.png"
    elif case == "both":
        _override(tpl, head=passwd, body=image)
        url = ""
    else:
        url = (tpl.resolve() / "leak.png").as_uri()
        _override(tpl, body=f'<img src="{url}" alt="">')
        (tpl / "leak.png").symlink_to("/etc/passwd")
    out = tmp_path / "out"
    result = invoke(["pack", TINY_ROLE, "--workspace", str(TINY_WS), "--candidate", "Ada",
                     "--templates", str(tpl), "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: a template asked for ")
    if url:
        assert lines[0] == (f"error: a template asked for {url}; templates may only use data: "
                            "URLs and files inside the template folders")
    assert not out.exists() or list(out.iterdir()) == []


# A 1x1 transparent PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")


def test_fetcher_allows_files_in_template_folders(tmp_path: Path) -> None:
    """An image inside the override folder, named by absolute file URL, is fetched and the PDF run succeeds."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "logo.png").write_bytes(PNG)
    _override(tpl, body=f'<img src="{(tpl.resolve() / "logo.png").as_uri()}" alt="Logo">')
    out = tmp_path / "out"
    result = invoke(["pack", TINY_ROLE, "--workspace", str(TINY_WS), "--candidate", "Ada",
                     "--templates", str(tpl), "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 0, result.output
    assert (pack_dir(out) / "candidate-packet.pdf").stat().st_size > 0


def test_fetcher_resolves_relative_urls_in_override_folder(tmp_path: Path) -> None:
    """An override template can use an image next to it by a relative URL."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "logo.png").write_bytes(PNG)
    _override(tpl, body='<img src="logo.png" alt="Logo">')
    out = tmp_path / "out"
    result = invoke(["pack", TINY_ROLE, "--workspace", str(TINY_WS), "--candidate", "Ada",
                     "--templates", str(tpl), "--out", str(out), "--format", "pdf"])
    assert result.exit_code == 0, result.output


def test_override_template_used_by_name(tmp_path: Path, golden_pack: PackResult) -> None:
    """An override folder replaces only the templates it names; every other page comes from the bundled set."""
    tpl = _override(tmp_path / "tpl", body='<p id="override-marker">from the override</p>')
    templates = pack_templates(Workspace.open(None), tpl)
    assert templates.folders[0] == tpl
    result = _golden_build(tmp_path / "out", templates_override=tpl)
    packet = (result.path / "candidate-packet.html").read_text(encoding="utf-8")
    assert '<p id="override-marker">from the override</p>' in packet
    golden = (golden_pack.path / "candidate-packet.html").read_text(encoding="utf-8")
    assert packet.replace('<p id="override-marker">from the override</p>', "") == golden
    ours, theirs = _golden_outputs(result.path), _golden_outputs(golden_pack.path)
    assert set(ours) == set(theirs)
    for name in ours:
        if name != "candidate-packet.html":
            assert ours[name] == theirs[name], name


# --------------------------------------------------------------------------- 5. safe writes


def _pack_args(out: Path, *extra: str) -> list[str]:
    return ["pack", ROLE_ID, "--candidate", "Ada Lovelace", "--candidate-id", "A-1",
            "--out", str(out), "--format", "html", *extra]


def _pack_id(folder: Path) -> str:
    return str(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["pack_id"])


def test_a_pack_made_again_is_kept_and_force_remakes_it_under_its_pack_id(tmp_path: Path) -> None:
    """Run again for the same candidate and role, pack says the pack is unchanged (exit 0)
    and leaves it alone; --force replaces it whole under the same pack id."""
    out = tmp_path / "out"
    made = invoke(_pack_args(out))
    assert made.exit_code == 0
    folder = out / "a-1"
    first = _pack_id(folder)
    assert made.stdout.startswith(f"wrote pack {first} to {folder}/ (")
    files = made.stdout.rsplit("(", 1)[1]
    (folder / "interviewer-notes.txt").write_text("keep me", encoding="utf-8")

    again = invoke(_pack_args(out))
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == (f"kept pack {first} in {folder}/: unchanged (made for this "
                            "candidate from this version of the role); --force remakes it "
                            "under the same pack id\n")
    assert (folder / "interviewer-notes.txt").read_text(encoding="utf-8") == "keep me"

    forced = invoke(_pack_args(out, "--force"))
    assert forced.exit_code == 0, forced.output
    assert forced.stdout == (f"remade pack {first} in {folder}/ ({files.rstrip()[:-1]}), "
                             "under the same pack id: scorecards already sent still submit\n")
    assert _pack_id(folder) == first
    assert not (folder / "interviewer-notes.txt").exists()
    assert [p.name for p in out.iterdir()] == ["a-1"]


def test_a_folder_holding_another_candidates_pack_is_refused(tmp_path: Path) -> None:
    """A candidate whose folder holds someone else's pack (the same id) is refused naming
    that candidate, with or without --force, and the pack is left as it was."""
    out = tmp_path / "out"
    assert invoke(_pack_args(out)).exit_code == 0
    before = {k: p.read_bytes() for k, p in files_of(out).items()}
    for extra in ([], ["--force"]):
        other = invoke(["pack", ROLE_ID, "--candidate", "Grace Hopper", "--candidate-id", "a-1",
                        "--out", str(out), "--format", "html", *extra])
        assert (other.exit_code, other.stdout) == (1, "")
        assert other.stderr == (f"error: {out / 'a-1'}: holds the pack of another candidate, "
                                "'Ada Lovelace' (id 'A-1'); give this candidate an id of their "
                                "own\n")
    assert {k: p.read_bytes() for k, p in files_of(out).items()} == before


@pytest.mark.parametrize("force", [False, True])
def test_failed_run_leaves_nothing(tmp_path: Path, force: bool) -> None:
    """A run that fails after writing some pages (undefined variable in the last template) leaves --out as it was."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    plan = (ROOT / "templates" / "interview-plan.html.j2").read_text(encoding="utf-8")
    (tpl / "interview-plan.html.j2").write_text(plan.replace("<main>", "<main>{{ no_such_variable }}"),
                                                encoding="utf-8")
    out = tmp_path / "out"
    if force:
        assert invoke(_pack_args(out)).exit_code == 0
        before = {k: p.read_bytes() for k, p in files_of(out).items()}
    result = invoke(_pack_args(out, "--templates", str(tpl), *(["--force"] if force else [])))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: template 'interview-plan.html.j2': 'no_such_variable' is undefined\n"
    if force:
        assert {k: p.read_bytes() for k, p in files_of(out).items()} == before
        assert [p.name for p in out.iterdir()] == ["a-1"]
    else:
        assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(("source", "message"), [
    ("{{ nope }}", "'nope' is undefined"),
    ("{% if nope %}x{% endif %}", "'nope' is undefined"),
    ("{% for x in nope %}{% endfor %}", "'nope' is undefined"),
    ("{{ nope.attr }}", "'nope' is undefined"),
    ("{{ role.nope }}", "'rubrics.model.Role object' has no attribute 'nope'"),
])
def test_undefined_variables_are_errors(source: str, message: str, tmp_path: Path,
                                        bundled: tuple[Workspace, InterviewLoop, bytes]) -> None:
    """Any use of an undefined variable or attribute in a template is an error naming the template, never empty text."""
    (tmp_path / "page.html.j2").write_text(source, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        Templates([tmp_path]).render("page.html.j2", role=bundled[1].role)
    assert str(info.value) == f"template 'page.html.j2': {message}"


# --------------------------------------------------------------------------- 6. batches


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_batch_reports_bad_rows(tmp_path: Path) -> None:
    """A batch writes the good packs and names each bad row by CSV file and line, with the exact summary line and exit 1."""
    sheet = _write_csv(tmp_path / "candidates.csv", [
        ["name", "id", "email"],
        ["Ada Lovelace", "A-1", "ada@example.com"],
        ["", "A-2", ""],
        ["Grace Hopper", "G-1", ""],
        ["Ada Twin", "A-1", ""],
    ])
    out = tmp_path / "out"
    result = invoke(["pack", ROLE_ID, "--candidates", str(sheet), "--out", str(out),
                     "--format", "html", "--jobs", "2"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"wrote {out / 'a-1'}/ (Ada Lovelace)",
        f"wrote {out / 'g-1'}/ (Grace Hopper)",
        "2 packs written, 0 unchanged, 0 kept with differences, 2 failed",
    ]
    failures = [line for line in result.stderr.splitlines() if line.strip()]
    assert failures == [
        f"{rel(sheet)}:3: candidate name is empty",
        f"{rel(sheet)}:5: duplicate id 'A-1' as line 2; give each an id of its own",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["a-1", "g-1"]
    manifest = json.loads((out / "a-1" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["candidate"] == {"name": "Ada Lovelace", "id": "A-1",
                                     "email": "ada@example.com", "notes": None, "anonymous": False}


def _batch(sheet: Path, out: Path, *extra: str, ws: Path = TINY_WS) -> Result:
    return invoke(["pack", TINY_ROLE, "-w", str(ws), "--candidates", str(sheet), "--out",
                   str(out), "--format", "html", "--jobs", "2", *extra])


def _snapshot(out: Path) -> dict[str, bytes]:
    return {k: p.read_bytes() for k, p in files_of(out).items()}


def test_a_batch_run_again_with_added_rows_keeps_its_packs_and_writes_the_new_ones(
        tmp_path: Path) -> None:
    """Rows added to the CSV and the batch run again: the packs already made are kept byte
    for byte under their pack ids and reported unchanged, the new rows get packs, exit 0."""
    rows = [["name", "id", "email"], ["Ada Lovelace", "A-1", "ada@example.com"],
            ["Grace Hopper", "", ""]]
    sheet, out = _write_csv(tmp_path / "candidates.csv", rows), tmp_path / "out"
    assert _batch(sheet, out).exit_code == 0
    before = _snapshot(out)
    ids = {name: _pack_id(out / name) for name in ("a-1", "grace-hopper")}

    _write_csv(sheet, [*rows, ["Katherine Johnson", "K-1", ""], ["Mary Jackson", "", ""]])
    again = _batch(sheet, out)
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout.splitlines() == [
        f"unchanged {out / 'a-1'}/ (Ada Lovelace)",
        f"unchanged {out / 'grace-hopper'}/ (Grace Hopper)",
        f"wrote {out / 'k-1'}/ (Katherine Johnson)",
        f"wrote {out / 'mary-jackson'}/ (Mary Jackson)",
        "2 packs written, 2 unchanged, 0 kept with differences, 0 failed",
    ]
    assert {k: v for k, v in _snapshot(out).items() if k.split("/")[0] in ids} == before
    assert {name: _pack_id(out / name) for name in ids} == ids
    assert sorted(p.name for p in out.iterdir()) == ["a-1", "grace-hopper", "k-1",
                                                     "mary-jackson"]


def test_an_anonymous_batch_without_ids_run_again_finds_its_packs(tmp_path: Path) -> None:
    """Anonymous rows without an id get random ids (nothing derives from the name); run
    again, each finds the pack its candidate already has instead of getting a second one."""
    rows = [["name", "email"], ["Ada Lovelace", "ada@example.com"], ["Grace Hopper", ""]]
    sheet, out = _write_csv(tmp_path / "candidates.csv", rows), tmp_path / "out"
    assert _batch(sheet, out, "--anonymous").exit_code == 0
    folders = sorted(p.name for p in out.iterdir())
    assert len(folders) == 2 and all(f.startswith("c-") for f in folders)
    before = _snapshot(out)

    _write_csv(sheet, [*rows, ["Katherine Johnson", ""]])
    again = _batch(sheet, out, "--anonymous")
    assert (again.exit_code, again.stderr) == (0, "")
    lines = again.stdout.splitlines()
    assert lines[-1] == "1 pack written, 2 unchanged, 0 kept with differences, 0 failed"
    assert sorted(lines[:-1]) == sorted(
        [f"unchanged {out / f}/ ({manifest_name(out / f)})" for f in folders]
        + [f"wrote {out / new}/ (Katherine Johnson)"
           for new in {p.name for p in out.iterdir()} - set(folders)])
    assert {k: v for k, v in _snapshot(out).items() if k.split("/")[0] in folders} == before


def manifest_name(folder: Path) -> str:
    return str(json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
               ["candidate"]["name"])


def test_force_remakes_a_batch_under_its_pack_ids_so_sent_scorecards_still_submit(
        tmp_path: Path) -> None:
    """--force over a batch remakes each pack under the pack id it had, so a scorecard
    filled in before still submits; after that the pack holds a submission and --force
    refuses to replace it (the row fails, naming why)."""
    sheet = _write_csv(tmp_path / "candidates.csv", [["name", "id"], ["Ada Lovelace", "ada"]])
    out = tmp_path / "out"
    args = ["pack", ROLE_ID, "--candidates", str(sheet), "--out", str(out), "--format", "html"]
    assert invoke(args).exit_code == 0
    first = _pack_id(out / "ada")
    sent = returns(out / "ada", tmp_path / "returned", lambda c: 3, stages=[STAGES[0]])

    forced = invoke([*args, "--force"])
    assert (forced.exit_code, forced.stderr) == (0, "")
    assert forced.stdout == (f"remade {out / 'ada'}/ (Ada Lovelace; same pack id)\n"
                             "1 pack written, 0 unchanged, 0 kept with differences, 0 failed\n")
    assert _pack_id(out / "ada") == first
    submitted = invoke(["submit", str(out / "ada"), *map(str, sent)])
    assert submitted.exit_code == 0, submitted.output

    refused = invoke([*args, "--force"])
    assert refused.exit_code == 1
    assert refused.stderr == (f"{rel(sheet)}:2: {out / 'ada'}: pack has submitted scorecards "
                              "or a recorded decision; --force would lose them. Move the pack "
                              "away first if you really mean to replace it\n")
    assert refused.stdout == "0 packs written, 0 unchanged, 0 kept with differences, 1 failed\n"
    assert invoke(args).stdout == f"unchanged {out / 'ada'}/ (Ada Lovelace)\n" \
        "0 packs written, 1 unchanged, 0 kept with differences, 0 failed\n"


def test_a_respelt_name_or_new_email_is_the_same_candidate_and_said_so(tmp_path: Path) -> None:
    """The same id with the name respelt (case, order, accents folded as for interviewers)
    and another email is the same candidate: the pack is kept, naming what differs, and
    --force remakes it under its pack id."""
    out = tmp_path / "out"
    first = _write_csv(tmp_path / "a.csv", [["name", "id", "email"],
                                            ["Ada Lovelace", "A-1", "ada@example.com"]])
    assert _batch(first, out).exit_code == 0
    pack_id = _pack_id(out / "a-1")
    sheet = _write_csv(tmp_path / "b.csv", [["name", "id", "email"],
                                            ["LOVELACE, Adá", "a-1", "ada@lovelace.example"]])
    again = _batch(sheet, out)
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == (f"kept {out / 'a-1'}/ (LOVELACE, Adá): the pack records the "
                            "name 'Ada Lovelace'; the pack records the email "
                            "'ada@example.com'; --force remakes it under the same pack id\n"
                            "0 packs written, 0 unchanged, 1 kept with differences, 0 failed\n")
    assert _batch(sheet, out, "--force").exit_code == 0
    assert _pack_id(out / "a-1") == pack_id


def test_a_row_whose_folder_holds_another_candidates_pack_fails_alone(tmp_path: Path) -> None:
    """A second CSV giving another person an id already used fails on that row, naming the
    CSV line, the folder and whose pack is there; the other rows are written, exit 1."""
    out = tmp_path / "out"
    assert _batch(_write_csv(tmp_path / "first.csv", [["name", "id"], ["Ada Lovelace", "A-1"]]),
                  out).exit_code == 0
    before = _snapshot(out)
    sheet = _write_csv(tmp_path / "second.csv", [["name", "id"], ["Grace Hopper", "G-1"],
                                                 ["Ada Byron", "a-1"]])
    result = _batch(sheet, out)
    assert result.exit_code == 1
    assert result.stderr == (f"{rel(sheet)}:3: {out / 'a-1'}: holds the pack of another "
                             "candidate, 'Ada Lovelace' (id 'A-1'); give this candidate an id "
                             "of their own\n")
    assert result.stdout == (f"wrote {out / 'g-1'}/ (Grace Hopper)\n"
                             "1 pack written, 0 unchanged, 0 kept with differences, 1 failed\n")
    assert {k: v for k, v in _snapshot(out).items() if k.startswith("a-1/")} == before


def test_a_pack_from_an_older_role_version_is_kept_and_reported(tmp_path: Path) -> None:
    """After the role file changes, a batch run again keeps the packs made from the old
    version, says so and what --force would do (exit 0); --force remakes them under a new
    pack id."""
    ws = Path(shutil.copytree(TINY_WS, tmp_path / "ws"))
    sheet = _write_csv(tmp_path / "candidates.csv", [["name", "id"], ["Ada Lovelace", "A-1"]])
    out = tmp_path / "out"
    assert _batch(sheet, out, ws=ws).exit_code == 0
    before, first = _snapshot(out), _pack_id(out / "a-1")
    role = ws / "roles" / f"{TINY_ROLE}.yaml"
    role.write_text(role.read_text(encoding="utf-8") + "# reviewed again\n", encoding="utf-8")

    again = _batch(sheet, out, ws=ws)
    assert (again.exit_code, again.stderr) == (0, "")
    assert again.stdout == (f"kept {out / 'a-1'}/ (Ada Lovelace): made from another version "
                            "of the role; --force remakes it with a new pack id (scorecards "
                            "already sent for it are then refused)\n"
                            "0 packs written, 0 unchanged, 1 kept with differences, 0 failed\n")
    assert _snapshot(out) == before

    forced = _batch(sheet, out, "--force", ws=ws)
    assert forced.stdout == (f"remade {out / 'a-1'}/ (Ada Lovelace) with a new pack id (the "
                             f"role changed); scorecards sent for the old one ({first}) will "
                             "be refused\n"
                             "1 pack written, 0 unchanged, 0 kept with differences, 0 failed\n")
    assert _pack_id(out / "a-1") != first


def test_a_scorecard_sent_before_the_role_changed_is_refused_saying_so(tmp_path: Path) -> None:
    """After a role edit and pack --force (a new pack id), a scorecard filled in for the old
    pack of the same candidate is refused saying the pack was made again after it was sent
    and what to do, not that it may be another candidate's."""
    ws = tmp_path / "ws"
    for part in ("frameworks", "roles", "templates"):
        shutil.copytree(ROOT / part, ws / part)
    args = ["pack", ROLE_ID, "-w", str(ws), "--candidate", "Lin Wei", "--candidate-id", "lin",
            "--out", str(tmp_path / "out"), "--format", "html"]
    assert invoke(args).exit_code == 0
    pack = tmp_path / "out" / "lin"
    first = _pack_id(pack)
    sent = returns(pack, tmp_path / "returned", lambda c: 3, stages=[STAGES[0]])
    role = ws / "roles" / f"{ROLE_ID}.yaml"
    role.write_text(role.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    forced = invoke([*args, "--force"])
    now = _pack_id(pack)
    assert forced.stdout.startswith(f"remade pack {now} in {pack}/ (")
    assert forced.stdout.endswith(f" files) with a new pack id (the role changed); scorecards "
                                  f"sent for the old one ({first}) will be refused\n")
    refused = invoke(["submit", str(pack), *map(str, sent)])
    assert refused.exit_code == 1
    assert (f"pack_id: '{first}' is this candidate's earlier pack: it was made again from "
            f"another version of the role or framework (now '{now}') after this scorecard was "
            "sent; send the interviewer the new scorecard, or copy these ratings into it"
            ) in refused.stderr
    assert "another candidate" not in refused.stderr


def test_topic_emoji_print_in_the_pdf_scorecard(pdf_pack: Callable[[str], Path]) -> None:
    """With the emoji font scripts/setup installs, a topic title's emoji prints in the PDF
    scorecard as in the HTML (the text layer carries it too)."""
    from pypdf import PdfReader

    from rubrics.render import emoji_font

    assert emoji_font(), "scripts/setup installs fonts-noto-color-emoji"
    pack = pdf_pack(ROLE_ID)
    pdf = pack / "scorecards" / "system-design-money-movement.pdf"
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    html = (pack / "scorecards" / "system-design-money-movement.html").read_text(encoding="utf-8")
    assert "\U0001f6e0\ufe0f Mastery \u00b7 Level 5" in text
    assert "\U0001f6e0\ufe0f Mastery \u00b7 Level 5" in html


def test_without_an_emoji_font_the_pdf_leaves_emoji_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no font can draw emoji, PDF text drops them rather than print empty boxes."""
    from rubrics import render

    monkeypatch.setattr(render, "emoji_font", lambda: False)
    assert render.plain("\U0001f6e0\ufe0f  Mastery") == "Mastery"
    monkeypatch.setattr(render, "emoji_font", lambda: True)
    assert render.plain("\U0001f6e0\ufe0f  Mastery") == "\U0001f6e0\ufe0f Mastery"


def test_the_interview_plan_holds_the_framework_around_every_criterion(
        golden_pack: PackResult, bundled: tuple[Workspace, InterviewLoop, bytes]) -> None:
    """The plan lists, per assessed area, the behaviours one level below and above what the
    loop assesses, each assessed criterion in bold exactly once: the anchors scorecards no
    longer repeat per criterion."""
    _, loop, _ = bundled
    html = (golden_pack.path / "interview-plan.html").read_text(encoding="utf-8")
    section = html[html.index('id="lv-h"'):]
    assessed = {cid for s in loop.role.stages for cid in s.assesses}
    for cid in assessed:
        text = str(escape(loop.criteria[cid][1].text))
        assert section.count(f"<strong>{text}</strong>") == 1, cid
    for cid in assessed:
        below, above = loop.anchors(cid)
        for neighbour in [*below, *above]:
            assert str(escape(neighbour.text)) in section, (cid, neighbour.id)


def test_every_blank_pdf_scorecard_of_the_bundled_role_fits_three_pages(
        pdf_pack: Callable[[str], Path]) -> None:
    """A stage of five focus criteria prints on at most three pages, and the notes box is
    never alone on the last one (the recommendation stays with it)."""
    from pypdf import PdfReader

    pack = pdf_pack(ROLE_ID)
    pages = {}
    for pdf in sorted((pack / "scorecards").glob("*.pdf")):
        reader = PdfReader(pdf)
        pages[pdf.stem] = len(reader.pages)
        last = reader.pages[-1].extract_text()
        assert "Notes" in last and "Should we hire" in last, pdf.stem
    assert len(pages) == 7 and max(pages.values()) <= 3, pages


# --------------------------------------------------------------------------- 6b. who a row is


def _lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def test_an_anonymous_batch_never_gives_a_pack_to_another_name_with_a_shared_email(
        tmp_path: Path) -> None:
    """Anonymous rows sharing an agency's email are different people: run again, each keeps
    their own pack, a newcomer with that email gets one, and --force remakes each pack for
    its own candidate (never two rows on one folder)."""
    rows = [["name", "email"], ["Grace Hopper", "cv@agency.com"], ["Alan Turing", "cv@agency.com"],
            ["John Smith", ""]]
    sheet, out = _write_csv(tmp_path / "a.csv", rows), tmp_path / "out"
    assert _batch(sheet, out, "--anonymous").exit_code == 0
    owners = {p.name: manifest_name(p) for p in out.iterdir()}
    assert sorted(owners.values()) == ["Alan Turing", "Grace Hopper", "John Smith"]

    again = _batch(sheet, out, "--anonymous")
    assert (again.exit_code, again.stderr) == (0, "")
    assert _lines(again)[-1] == "0 packs written, 3 unchanged, 0 kept with differences, 0 failed"
    _write_csv(sheet, [*rows, ["Edsger Dijkstra", "cv@agency.com"]])
    added = _batch(sheet, out, "--anonymous", "--force")
    assert (added.exit_code, added.stderr) == (0, "")
    assert _lines(added)[-1] == "4 packs written, 0 unchanged, 0 kept with differences, 0 failed"
    assert {p.name: manifest_name(p) for p in out.iterdir() if p.name in owners} == owners
    assert sorted(manifest_name(p) for p in out.iterdir()) == [
        "Alan Turing", "Edsger Dijkstra", "Grace Hopper", "John Smith"]


@pytest.mark.parametrize("row", [["Grace Hopper", "", "grace@other.example"],
                                 ["Grace Brewster", "grace", "gb@example.com"]],
                         ids=["same name, no id, other email", "same id, other name and email"])
@pytest.mark.parametrize("force", [False, True])
def test_a_row_that_may_be_another_person_fails_and_never_takes_the_pack(
        tmp_path: Path, row: list[str], force: bool) -> None:
    """A row whose pack records the same name with another email (no id), or the same id
    with another name and email, may be someone else: it fails saying what the pack
    records and how to go on, with or without --force, and the pack is left alone."""
    out = tmp_path / "out"
    first = ["Grace Hopper", "grace" if row[1] else "", "grace@example.com"]
    assert _batch(_write_csv(tmp_path / "a.csv", [["name", "id", "email"], first]),
                  out).exit_code == 0
    before, folder = _snapshot(out), next(out.iterdir())
    sheet = _write_csv(tmp_path / "b.csv", [["name", "id", "email"], row])
    result = _batch(sheet, out, *(["--force"] if force else []))
    assert result.exit_code == 1
    cid, differs = (" (id 'grace')", "another name and email") if row[1] else ("", "another email")
    assert result.stderr == (
        f"{rel(sheet)}:2: {folder}: holds the pack of 'Grace Hopper' <grace@example.com>{cid}, "
        f"and this row gives {differs} ({row[2]}): it cannot tell whether they are one "
        "person. If they are, give the email the pack records; if not, give this candidate an "
        "id of their own, or use another --out\n")
    assert _lines(result) == ["0 packs written, 0 unchanged, 0 kept with differences, 1 failed"]
    assert _snapshot(out) == before


def test_benign_differences_are_kept_and_said(tmp_path: Path) -> None:
    """An email added where the pack recorded none, a name spaced otherwise, and notes: the
    pack is kept, each difference said in words (a name differing only in spacing is none)."""
    out = tmp_path / "out"
    assert _batch(_write_csv(tmp_path / "a.csv", [["name", "id"], ["Ada Lovelace", "a-1"],
                                                  ["Grace Hopper", "g-1"]]), out).exit_code == 0
    sheet = _write_csv(tmp_path / "b.csv", [["name", "id", "email", "notes"],
                                            ["Ada  Lovelace", "a-1", "ada@example.com", ""],
                                            ["Grace   Hopper", "G-1", "", ""],
                                            ["Grace Hopper", "g-1", "", "Referred"]])
    result = _batch(sheet, out)
    assert result.exit_code == 1
    assert _lines(result) == [
        f"kept {out / 'a-1'}/ (Ada  Lovelace): the pack records no email; --force remakes it "
        "under the same pack id",
        f"unchanged {out / 'g-1'}/ (Grace   Hopper)",
        "0 packs written, 1 unchanged, 1 kept with differences, 1 failed"]
    assert result.stderr == (f"{rel(sheet)}:4: duplicate id 'g-1' as line 3; give each an id "
                             "of its own\n")
    notes = _batch(_write_csv(tmp_path / "c.csv", [["name", "id", "notes"],
                                                   ["Grace Hopper", "g-1", "Referred"]]), out)
    assert _lines(notes)[0] == (f"kept {out / 'g-1'}/ (Grace Hopper): the pack records no "
                                "notes; --force remakes it under the same pack id")


def test_a_pack_for_another_role_is_refused_even_with_force(tmp_path: Path) -> None:
    """A second role for the same candidate in the same --out fails the row naming whose
    pack of which role is there, with or without --force, and leaves that pack alone."""
    ws = Path(shutil.copytree(TINY_WS, tmp_path / "ws"))
    role = ws / "roles" / f"{TINY_ROLE}.yaml"
    other = role.read_text(encoding="utf-8").replace(f"id: {TINY_ROLE}", "id: tiny-staff", 1)
    assert "id: tiny-staff" in other
    (ws / "roles" / "tiny-staff.yaml").write_text(other, encoding="utf-8")
    sheet = _write_csv(tmp_path / "c.csv", [["name", "id"], ["Lin Wei", "lin"]])
    out = tmp_path / "out"
    assert _batch(sheet, out, ws=ws).exit_code == 0
    before = _snapshot(out)
    for extra in ([], ["--force"]):
        result = invoke(["pack", "tiny-staff", "-w", str(ws), "--candidates", str(sheet),
                         "--out", str(out), "--format", "html", *extra])
        assert result.exit_code == 1
        assert result.stderr == (f"{rel(sheet)}:2: {out / 'lin'}: holds Lin Wei's pack for role "
                                 f"'{TINY_ROLE}' (a folder holds one pack, even with --force); "
                                 "use another --out for role 'tiny-staff'\n")
    assert _snapshot(out) == before


def test_a_name_in_another_word_order_finds_its_pack(tmp_path: Path) -> None:
    """A row without an id whose name is in another word order finds the pack made for it
    (ADR 13: names agree ignoring word order); in one CSV two such rows are one person
    twice, and the second fails naming the first's line."""
    out = tmp_path / "out"
    assert _batch(_write_csv(tmp_path / "a.csv", [["name", "email"], ["Mary Major", "mm@a.com"]]),
                  out).exit_code == 0
    again = _batch(_write_csv(tmp_path / "b.csv", [["name", "email"], ["Major Mary", "mm@a.com"]]),
                   out)
    assert (again.exit_code, again.stderr) == (0, "")
    assert _lines(again) == [
        f"kept {out / 'mary-major'}/ (Major Mary): the pack records the name 'Mary Major'; "
        "--force remakes it under the same pack id",
        "0 packs written, 0 unchanged, 1 kept with differences, 0 failed"]
    assert [p.name for p in out.iterdir()] == ["mary-major"]
    sheet = _write_csv(tmp_path / "c.csv", [["name", "email"], ["Sam Lee", "s@a.com"],
                                            ["Lee Sam", "s@a.com"]])
    for extra in ([], ["--anonymous"]):
        both = _batch(sheet, tmp_path / f"both{len(extra)}", *extra)
        assert both.exit_code == 1
        assert both.stderr == (f"{rel(sheet)}:3: candidate 'Lee Sam' has the same name as line "
                               "2 ('Sam Lee') and neither has an id; remove the repeated row, "
                               "or give each an id of its own\n")
        assert len(list((tmp_path / f"both{len(extra)}").iterdir())) == 1


def test_a_kept_pack_with_submissions_does_not_suggest_force(tmp_path: Path) -> None:
    """A kept pack holding a submission is reported without suggesting --force (which would
    refuse it), as one pack and in a batch."""
    out = tmp_path / "out"
    assert invoke(_pack_args(out)).exit_code == 0
    sent = returns(out / "a-1", tmp_path / "returned", lambda c: 3, stages=[STAGES[0]])
    assert invoke(["submit", str(out / "a-1"), *map(str, sent)]).exit_code == 0
    again = invoke(_pack_args(out))
    assert again.stdout == (f"kept pack {_pack_id(out / 'a-1')} in {out / 'a-1'}/: unchanged "
                            "(made for this candidate from this version of the role); it holds "
                            "submitted scorecards or a decision, so --force will not replace "
                            "it either\n")
    sheet = _write_csv(tmp_path / "c.csv", [["name", "id", "email"],
                                            ["Ada Lovelace", "A-1", "ada@example.com"]])
    batch = invoke(["pack", ROLE_ID, "--candidates", str(sheet), "--out", str(out),
                    "--format", "html"])
    assert _lines(batch)[0] == (f"kept {out / 'a-1'}/ (Ada Lovelace): the pack records no "
                                "email; it holds submitted scorecards or a decision, so --force "
                                "will not replace it either")


@pytest.mark.parametrize(("recorded", "row", "verdict"), [
    (("Ada Lovelace", "a-1", "ada@x.com"), ("LOVELACE, Adá", "A-1", None), "same"),
    (("Ada Lovelace", "a-1", "ada@x.com"), ("Ada King", "a-1", "ADA@x.com"), "same"),
    (("Ada Lovelace", "a-1", "ada@x.com"), ("Ada King", "a-1", "king@x.com"), "unsure"),
    (("Ada Lovelace", "a-1", None), ("Ada King", "a-1", "king@x.com"), "other"),
    (("Ada Lovelace", "a-1", None), ("Ada Lovelace", "a-2", None), "other"),
    (("Grace Hopper", "c-1", "cv@agency.com"), ("Alan Turing", None, "cv@agency.com"), "other"),
    (("Grace Hopper", "c-1", "cv@agency.com"), ("Hopper Grace", None, None), "same"),
    (("Grace Hopper", "c-1", None), ("Grace Hopper", None, "g@x.com"), "same"),
    (("Grace Hopper", "c-1", "g@x.com"), ("Grace Hopper", None, "other@x.com"), "unsure"),
])
def test_who_a_pack_is_for(recorded: tuple[str, str, str | None],
                           row: tuple[str, str | None, str | None], verdict: str) -> None:
    """The identity rules of ADR 13: an id with a name or email agreeing; without an id, the
    name alone, and a shared email never joins two names."""
    from rubrics.packmatch import compare

    name, cid, email = recorded
    assert compare({"name": name, "id": cid, "email": email},
                   Candidate(row[0], row[1], row[2])) == verdict


def test_a_batch_puts_back_a_pack_a_killed_force_set_aside(tmp_path: Path) -> None:
    """A pack that a killed --force set aside (its replacement never arrived) is put back by
    the next batch, found once in the listing of --out, and reported unchanged."""
    sheet = _write_csv(tmp_path / "c.csv", [["name", "id"], ["Ada Lovelace", "a-1"],
                                            ["Grace Hopper", "g-1"]])
    out = tmp_path / "out"
    assert _batch(sheet, out).exit_code == 0
    before = _snapshot(out)
    (out / "a-1").rename(out / ".a-1.0badf00d.replaced")
    stale = out / ".g-1.deadbeef.partial"
    stale.mkdir()
    os.utime(stale, (1, 1))
    again = _batch(sheet, out)
    assert (again.exit_code, _lines(again)) == (0, [
        f"unchanged {out / 'a-1'}/ (Ada Lovelace)", f"unchanged {out / 'g-1'}/ (Grace Hopper)",
        "0 packs written, 2 unchanged, 0 kept with differences, 0 failed"])
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["a-1", "g-1"]
