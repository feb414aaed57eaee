"""PDFs laid out once per role and stamped per candidate (ADR 0010).

What must hold: the stamped PDFs are byte-reproducible; a stamp from the cache is the
same bytes as one made right after a fresh placeholder render; no candidate's value is
anywhere in another candidate's PDF (text, metadata, form fields, fonts, or the history
an incremental update keeps); values the templates do not just print, and values too
wide for their room, are rendered whole; filled stamped scorecards read back.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from rubrics import pdfcache
from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
from rubrics.submissions import read_submission
from rubrics.workspace import Workspace
from tests.conftest import FIXTURES, ROLE_ID

pytestmark = pytest.mark.slow

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = Candidate("Quintessa Wolfhart", id="QW-7731")
BOB = Candidate("Bob Ng", id="BN-2")
TINY_WS = FIXTURES / "ws"
TINY_ROLE = "tiny-engineer"


def _pack(out: Path, candidate: Candidate, pack_id: str, *, anonymous: bool = False,
          role: str = ROLE_ID, ws_root: Path | None = None,
          templates: Path | None = None) -> Path:
    ws = Workspace.open(ws_root)
    loop, role_path = ws.loop(role)
    result = build_pack(loop, role_path.read_bytes(), candidate,
                        PackOptions(out=out, formats=("pdf",), anonymous=anonymous,
                                    templates=templates),
                        pack_templates(ws, templates), pack_id=pack_id, now=NOW)
    return result.path


def _pdfs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*.pdf"))}


def _everything(pdf: bytes) -> bytes:
    """The file's bytes and every stream in it inflated: all a reader could find."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            parts.append(zlib.decompressobj().decompress(pdf[match.end():]))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _forms(value: str) -> list[bytes]:
    """The ways a value can be spelled inside a PDF."""
    utf16 = value.encode("utf-16-be")
    return [value.encode("utf-8"), utf16, utf16.hex().encode(), utf16.hex().upper().encode()]


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Alice from a cold cache, Bob stamped into the same renders, and Bob again after
    the cache is emptied (a fresh placeholder render)."""
    base = tmp_path_factory.mktemp("cache")
    pdfcache.cache_clear()
    built = {"alice": _pack(base / "a", ALICE, "20260101-alice-00000001"),
             "bob": _pack(base / "b", BOB, "20260101-bob-00000002")}
    assert pdfcache.cache_items(), "the renders were cached"
    built["bob-again"] = _pack(base / "b2", BOB, "20260101-bob-00000002")
    pdfcache.cache_clear()
    built["bob-fresh"] = _pack(base / "b3", BOB, "20260101-bob-00000002")
    return built


def test_stamped_pdfs_are_reproducible_cached_or_fresh(packs: dict[str, Path]) -> None:
    """With pack id and time fixed, a candidate's PDFs from the same cached renders are
    the same bytes. After a fresh placeholder render they are equivalent (same text on
    every page, form fields, metadata), not identical: WeasyPrint itself does not write
    the same bytes twice in one process (its embedded form-font stream varies), with or
    without the cache."""
    from rubrics.pdfforms import read_form

    bob = _pdfs(packs["bob"])
    assert len(bob) == 9  # seven scorecards, the packet and the plan
    assert _pdfs(packs["bob-again"]) == bob
    fresh = packs["bob-fresh"]
    for name in bob:
        assert _text(fresh / name) == _text(packs["bob"] / name), name
        assert read_form((fresh / name).read_bytes()) == read_form(bob[name]), name


WHOLE = "candidate-packet.pdf"
"""Rendered whole for each candidate: a stamped greeting sat 2 pt off its line."""


def test_all_pdfs_are_stamped_and_share_the_placeholder_render(packs: dict[str, Path]) -> None:
    """Each PDF but the candidate packet is the cached placeholder render, byte for byte,
    and one incremental update after it: the part two candidates share holds the
    placeholders and no candidate. The packet is rendered whole, with no update."""
    alice, bob = _pdfs(packs["alice"]), _pdfs(packs["bob"])
    assert bob[WHOLE].count(b"%%EOF") == 1
    for name, data in bob.items():
        if name == WHOLE:
            continue
        assert data.count(b"%%EOF") == 2, name  # the render and one update
        base = data[:data.index(b"%%EOF") + len(b"%%EOF\n")]
        assert alice[name].startswith(base), name
        shared = _everything(base)
        for value in ("Quintessa", "QW-7731", "alice", "Bob Ng", "BN-2", "bob-0"):
            assert not any(spelled in shared for spelled in _forms(value)), (name, value)


def test_no_trace_of_one_candidate_in_anothers_pdfs(packs: dict[str, Path]) -> None:
    """Bob's PDFs hold Alice's name, id and pack id nowhere: not in the text, the
    metadata, the form fields, any stream, nor the history the update keeps; Bob's own
    values are there, in the text and the metadata."""
    for name, data in _pdfs(packs["bob"]).items():
        found = _everything(data)
        for value in ("Quintessa", "Wolfhart", "QW-7731", "20260101-alice-00000001"):
            for spelled in _forms(value):
                assert spelled not in found, (name, value)
        path = packs["bob"] / name
        text = _text(path)
        assert "Quintessa" not in text and "Bob Ng" in text, name
        reader = PdfReader(path)
        meta = " ".join(str(v) for v in (reader.metadata or {}).values())
        assert "Quintessa" not in meta and "alice" not in meta, name
        fields = reader.get_fields() or {}
        assert not any("Quintessa" in str(f.get("/V", "")) for f in fields.values()), name
    plan = PdfReader(packs["bob"] / "interview-plan.pdf")
    assert plan.metadata is not None and "Bob Ng" in str(plan.metadata.title)
    xmp = plan.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"Bob Ng" in xmp and pdfcache.NAME.encode() not in xmp


def test_stamped_scorecard_is_tagged_and_filled_one_reads_back(packs: dict[str, Path],
                                                                tmp_path: Path) -> None:
    """A stamped scorecard is still tagged, names its pack and stage in its keywords, and
    filled by pypdf reads back as a submission for Bob's pack."""
    from pypdf import PdfWriter

    from rubrics.roles import read_role

    folder = packs["bob"]
    path = folder / "scorecards" / "system-design-money-movement.pdf"
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE)
    assert re.search(r"^Form:\s+AcroForm$", info, re.MULTILINE)
    writer = PdfWriter(clone_from=path)
    for page in writer.pages:
        if "/Annots" in page:
            writer.update_page_form_field_values(
                page, {"interviewer": "Ingrid", "rating-1": "/3", "recommendation": "/yes"},
                auto_regenerate=False)
    filled = tmp_path / "filled.pdf"
    writer.write(filled)
    role, _ = read_role(folder / "source" / "role.yaml")
    fields = {s.id: {"criteria": list(s.assesses), "red_flags": list(s.red_flags)}
              for s in role.stages}
    submission, _ = read_submission(filled, stage_fields=fields)
    assert submission.pack_id == "20260101-bob-00000002"
    assert submission.stage == "system-design-money-movement"
    assert submission.interviewer == "Ingrid"


def test_anonymous_scorecards_hold_no_glyph_of_the_name(tmp_path: Path) -> None:
    """An anonymous pack's scorecards are stamped from runs that never held the name: not
    its text, and not the emoji in it (the packet, which greets the candidate, may)."""
    folder = _pack(tmp_path / "o", Candidate("Zoë 🚀 Ångström", id="C-ANON-9"), "p-anon-1",
                   anonymous=True)
    for path in sorted((folder / "scorecards").glob("*.pdf")):
        text = _text(path)
        assert "C-ANON-9" in text and "Zoë" not in text and "🚀" not in text, path.name
        found = _everything(path.read_bytes())
        for spelled in (*_forms("Zoë"), *_forms("Ångström")):
            assert spelled not in found, path.name
    assert "Zoë 🚀 Ångström" in _text(folder / "candidate-packet.pdf")


def test_values_that_do_not_fit_or_are_transformed_are_rendered_whole(tmp_path: Path) -> None:
    """A name wider than the placeholder's room, or one a template changes (here upper
    case), gets the PDFs rendered whole with the real values, never a stamp."""
    long_name = ("Maximiliana Wilhelmina Bartholomew-Montgomery of Castle "
                 "Wolfenbuettel-Hohenstaufen")
    jobs_seen: list[pdfcache.Job] = []
    original = pdfcache.render_pdfs

    def spy(jobs: list[pdfcache.Job], **kwargs: object) -> None:
        original(jobs, **kwargs)  # type: ignore[arg-type]
        jobs_seen.extend(jobs)

    pdfcache.render_pdfs = spy  # type: ignore[assignment]
    import rubrics.packs

    rubrics.packs.pdfcache.render_pdfs = spy  # type: ignore[assignment]
    try:
        folder = _pack(tmp_path / "o", Candidate(long_name), "p-long-1", role=TINY_ROLE,
                       ws_root=TINY_WS)
        wide = {j.name: j.stamped for j in jobs_seen}
        jobs_seen.clear()
        tpl = tmp_path / "tpl"
        tpl.mkdir()
        packet = (Path(__file__).resolve().parents[1] / "templates" /
                  "candidate-packet.html.j2").read_text(encoding="utf-8")
        (tpl / "candidate-packet.html.j2").write_text(
            packet.replace("{{ candidate_name }}", "{{ candidate_name|upper }}"),
            encoding="utf-8")
        upper = _pack(tmp_path / "u", Candidate("Ada Lovelace"), "p-upper-1", role=TINY_ROLE,
                      ws_root=TINY_WS, templates=tpl)
        transformed = {j.name: j.stamped for j in jobs_seen}
    finally:
        pdfcache.render_pdfs = original  # type: ignore[assignment]
        rubrics.packs.pdfcache.render_pdfs = original  # type: ignore[assignment]
    assert wide["candidate-packet.pdf"] is False
    packet = _text(folder / "candidate-packet.pdf")
    assert "Maximiliana Wilhelmina" in packet and "Hohenstaufen" in packet
    assert transformed["candidate-packet.pdf"] is False
    assert transformed["interview-plan.pdf"] is True
    assert "ADA LOVELACE" in _text(upper / "candidate-packet.pdf")


def test_corresponds_accepts_only_printed_values() -> None:
    """The check behind every stamp: the real HTML is the placeholder HTML with each value
    put in as HTML or CSS prints it, and nothing else differs."""
    values = {pdfcache.NAME: "O'Brien & <Zoë>", pdfcache.CID: "C-1", pdfcache.PACK: "p-1"}
    ph = f"<p>{pdfcache.NAME}</p><style>x {{ content: \"{pdfcache.NAME}\" }}</style>{pdfcache.CID}"
    real = "<p>O&#39;Brien &amp; &lt;Zoë&gt;</p><style>x { content: \"O'Brien & \\3c Zoë\\3e \" }</style>C-1"
    assert pdfcache.corresponds(ph, real, values)
    assert not pdfcache.corresponds(ph, real.replace("<p>O", "<p>o"), values)
    assert not pdfcache.corresponds(ph, real + " ", values)
    assert not pdfcache.corresponds(ph, real.replace("C-1", "C-2"), values)


def test_batch_warms_the_cache_once(tmp_path: Path) -> None:
    """A batch renders the role's PDFs once in the parent and the workers only stamp: two
    candidates' packs share the placeholder render byte for byte."""
    from rubrics.packs import build_batch

    sheet = tmp_path / "c.csv"
    sheet.write_text("name,id\nAda Lovelace,A-1\nGrace Hopper,G-1\n", encoding="utf-8")
    outcome = build_batch(TINY_WS, TINY_ROLE, sheet,
                          PackOptions(out=tmp_path / "out", formats=("pdf",)), jobs=2)
    assert [r.path.name for r in outcome.written] == ["a-1", "g-1"] and not outcome.failed
    a, g = (_pdfs(tmp_path / "out" / n) for n in ("a-1", "g-1"))
    for name in a:
        if name == WHOLE:
            continue
        assert a[name].count(b"%%EOF") == 2, name
        base = a[name][:a[name].index(b"%%EOF")]
        assert g[name].startswith(base), name
    assert shutil.which("pdftotext")
    assert "Grace Hopper" in _text(tmp_path / "out" / "g-1" / "interview-plan.pdf")


def test_renders_kept_on_disk_make_the_next_pack_run_stamp(tmp_path: Path) -> None:
    """Two `rubrics pack` runs, each its own process: the first keeps the placeholder
    renders in the cache folder, the second stamps into them (its PDFs begin with the kept
    bytes) and adds none; the kept renders hold neither candidate; a damaged entry is a
    miss, rendered again, never an error."""
    import json
    import os
    import sys

    cache = tmp_path / "cache"
    env = {**os.environ, "RUBRICS_CACHE_DIR": str(cache)}

    def pack(name: str, cid: str) -> Path:
        subprocess.run([sys.executable, "-m", "rubrics", "pack", TINY_ROLE, "--workspace",
                        str(TINY_WS), "--candidate", name, "--candidate-id", cid, "--out",
                        str(tmp_path / "packs"), "--format", "pdf", "--force"],
                       env=env, check=True, capture_output=True)
        return tmp_path / "packs" / cid.lower()

    first = pack(ALICE.name, "qw-7731")
    kept = sorted(cache.glob("*.json"))
    assert len(_pdfs(first)) == 5 and len(kept) == 4  # three scorecards and the plan
    renders = [__import__("base64").b64decode(json.loads(p.read_bytes())["pdf"]) for p in kept]
    for render in renders:
        assert b"Quintessa" not in _everything(render) and b"Bob" not in _everything(render)

    second = pack(BOB.name, "bn-2")
    assert sorted(cache.glob("*.json")) == kept
    for name, pdf in _pdfs(second).items():
        if name == WHOLE:
            continue
        assert any(pdf.startswith(render) and len(pdf) > len(render) for render in renders), name
        assert b"Quintessa" not in _everything(pdf), name

    planted = json.loads(kept[1].read_bytes())
    planted["xmp"] = __import__("base64").b64encode(b"Planted Other Person").decode()
    kept[1].write_text(json.dumps(planted), encoding="utf-8")  # its PDF hash still matches
    kept[0].write_text('{"format": 1, "pdf": "not base64!"}', encoding="utf-8")
    kept[2].write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    third = pack("Carla Diaz", "cd-3")
    assert len(_pdfs(third)) == 5
    for name, pdf in _pdfs(third).items():
        assert b"Planted" not in _everything(pdf), name
    for entry in kept[:3]:  # each a miss, rendered again and kept again
        assert json.loads(entry.read_bytes())["format"] == pdfcache.CACHE_FORMAT


def test_an_empty_cache_dir_setting_keeps_nothing_on_disk(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """RUBRICS_CACHE_DIR="" (as the tests run) keeps renders in memory only; unset, they
    go under $XDG_CACHE_HOME/rubrics/pdf."""
    monkeypatch.setenv("RUBRICS_CACHE_DIR", "")
    assert pdfcache.cache_dir() is None
    monkeypatch.delenv("RUBRICS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert pdfcache.cache_dir() == tmp_path / "rubrics" / "pdf"


def test_a_value_is_never_read_again_as_a_placeholder() -> None:
    """Values go in in one pass: a name holding the id's or the pack id's placeholder
    stays exactly the name."""
    values = {pdfcache.NAME: f"Bob {pdfcache.CID} Smith", pdfcache.CID: "hname2",
              pdfcache.PACK: "20261122-x-1"}
    text = f"Hello {pdfcache.NAME} ({pdfcache.CID}, {pdfcache.PACK})"
    assert pdfcache._put(text, values) == (
        f"Hello Bob {pdfcache.CID} Smith (hname2, 20261122-x-1)")


def test_a_name_holding_a_placeholder_is_rendered_whole_and_right(tmp_path: Path) -> None:
    """A candidate named with a placeholder's characters gets PDFs rendered whole, with
    the name exactly as typed (a stamp replaced it by the id), and no kept render."""
    name = f"Bob {pdfcache.CID} Smith"
    pdfcache.cache_clear()
    folder = _pack(tmp_path / "p", Candidate(name, id="hname2"), "20261122-hname2-00000001",
                   role=TINY_ROLE, ws_root=TINY_WS)
    packet = PdfReader(folder / "candidate-packet.pdf")
    text = "".join(page.extract_text() for page in packet.pages)
    assert name in text and "Bob hname2 Smith" not in text
    plan = PdfReader(folder / "interview-plan.pdf")
    assert plan.metadata.title == f"Interview plan: {name} \u2013 Tiny engineer"
    assert not pdfcache.cache_items()  # nothing rendered with placeholders for it
