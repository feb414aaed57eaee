"""Hostile templates (issue 8, items 1 and 7; docs/decisions/0008-templates-are-sandboxed.md).

A ``--templates`` folder (or a workspace's ``templates/``) is code from whoever wrote it.
These tests check that such a template runs in the sandbox: it cannot reach Python
internals, pydantic's loaders, classes, modules, path objects or files outside the
template folders, and a refused template fails the command with one line and no output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rubrics.cli import app
from rubrics.errors import TemplateError, UnsafeResource
from rubrics.render import Templates, html_to_pdf, kind_label
from rubrics.workspace import Workspace
from tests.conftest import FIXTURES, ROLE_ID, ROOT, rel

TINY_WS = FIXTURES / "ws"
TINY_ROLE = "tiny-engineer"
PACKET = (ROOT / "templates" / "candidate-packet.html.j2").read_text(encoding="utf-8")
PACKET_MAIN_LINE = PACKET.splitlines().index("<main>") + 1
REFUSED = "refused by the template sandbox"
SECRET = "SECRET-MARKER-7f3a"

runner = CliRunner()


def invoke(args: list[str | Path]) -> Result:
    """Run the CLI in-process, ignoring any RUBRICS_WORKSPACE of the caller."""
    return runner.invoke(app, [str(a) for a in args], env={"RUBRICS_WORKSPACE": None})


def one_error_line(result: Result) -> str:
    """The single line a failed command printed (exit 1, nothing on stdout, no traceback)."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def packet_override(folder: Path, body: str) -> Path:
    """A --templates folder whose candidate packet has ``body`` at the start of <main>."""
    folder.mkdir(parents=True, exist_ok=True)
    text = PACKET.replace("<main>", "<main>" + body, 1)
    assert text != PACKET
    (folder / "candidate-packet.html.j2").write_text(text, encoding="utf-8")
    return folder


class Holder:
    """An object of the kind a context could hold: a public value, a private one, a class
    and a module."""

    public = "public value"
    _secret = "private value"
    maker = Path
    module = os


def helper(value: object) -> str:
    """A plain Python function passed in the context, as the panel report's helpers are."""
    return f"helped {value}"


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    loop, _ = Workspace.open(None).loop(ROLE_ID)
    return {"role": loop.role, "framework": loop.framework, "x": "text", "items": [1, 2],
            "table": {"a": 1}, "fn": helper, "obj": Holder(), "p": Path("/etc/passwd")}


def render(folder: Path, source: str, context: dict[str, Any]) -> str:
    (folder / "page.html.j2").write_text(source, encoding="utf-8")
    return Templates([folder]).render("page.html.j2", **context)


# --------------------------------------------------------------------------- 1. escapes


ESCAPES = [
    ("{{ lipsum.__globals__['os'].popen('cat /etc/passwd').read() }}",
     "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}",
     "access to attribute '__init__' of 'type' object is unsafe"),
    ("{{ joiner.__init__.__globals__ }}",
     "access to attribute '__init__' of 'type' object is unsafe"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}",
     "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ self._TemplateReference__context }}",
     "access to attribute '_TemplateReference__context' of 'TemplateReference' object is unsafe"),
    ("{{ range.__init__.__globals__ }}",
     "access to attribute '__init__' of 'function' object is unsafe"),
    ("{{ fn.__globals__ }}", "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{{ obj._secret }}", "access to attribute '_secret' of 'Holder' object is unsafe"),
    ("{{ role.__dict__ }}", "access to attribute '__dict__' of 'Role' object is unsafe"),
    ("{{ items['__class__'] }}", "access to attribute '__class__' of 'list' object is unsafe"),
    ("{{ x|attr('__class__') }}", "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ fn|attr('__globals__') }}", "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{{ items|map(attribute='__class__')|list }}",
     "access to attribute '__class__' of 'int' object is unsafe"),
    ("{{ lipsum.__globals__|default('quiet') }}",
     "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{% if lipsum.__globals__ is defined %}yes{% endif %}",
     "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{{ '{0.__class__.__mro__}'.format(x) }}",
     "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ ('{0.' ~ '__globals__}').format(fn) }}",
     "access to attribute '__globals__' of 'function' object is unsafe"),
    ("{{ '{a.__class__}'.format_map({'a': x}) }}",
     "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ role.parse_file('/etc/passwd') }}", "access to attribute 'parse_file' of 'Role' object is unsafe"),
    ("{{ role.model_fields['title'].annotation }}",
     "access to attribute 'model_fields' of 'Role' object is unsafe"),
    ("{{ role['model_config'] }}", "access to attribute 'model_config' of 'Role' object is unsafe"),
    ("{{ role|attr('model_validate_json') }}",
     "access to attribute 'model_validate_json' of 'Role' object is unsafe"),
    ("{{ role.stages[0].model_copy() }}", "access to attribute 'model_copy' of 'Stage' object is unsafe"),
    ("{{ obj.maker('/etc/passwd').read_text() }}",
     "access to attribute 'maker' of 'Holder' object is unsafe"),
    ("{{ obj.module.system('id') }}", "access to attribute 'module' of 'Holder' object is unsafe"),
    ("{{ p.read_text() }}",
     f"access to attribute 'read_text' of '{type(Path()).__name__}' object is unsafe"),
    ("{{ items.append(3) }}", "access to attribute 'append' of 'list' object is unsafe"),
    ("{{ table.update(b=2) }}", "access to attribute 'update' of 'dict' object is unsafe"),
    ("{{ range(100001)|length }}", "range() of more than 100000 numbers"),
    ("{{ range(10**30) }}", "range() of more than 100000 numbers"),
]


@pytest.mark.parametrize(("source", "reason"), ESCAPES, ids=[s for s, _ in ESCAPES])
def test_unsafe_access_is_refused(source: str, reason: str, tmp_path: Path,
                                  context: dict[str, Any]) -> None:
    """Each classic sandbox escape fails with one TemplateError naming the template file, line and what was refused."""
    with pytest.raises(TemplateError) as info:
        render(tmp_path, "first line\n" + source, context)
    assert str(info.value) == f"{rel(tmp_path / 'page.html.j2')}:2: {REFUSED}: {reason}"


def test_what_templates_need_still_works(tmp_path: Path, context: dict[str, Any]) -> None:
    """Fields, our models' own properties and methods, context functions, filters, loops, namespaces and printf-style format still render."""
    source = ("{{ role.title }}|{{ role.stages|sum(attribute='duration_minutes') > 0 }}|"
              "{{ role.stage('no-such-stage') }}|{{ framework.level(framework.min_level).label }}|"
              "{{ role.stages[0].kind|kind_label }}|{{ fn(x) }}|{{ table.items()|list|length }}|"
              "{{ '%g'|format(1.50) }}|{{ '%(a)s'|format(a=x) }}|{{ '{0}-{1}'.format(x, 2) }}|"
              "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}"
              "{% endfor %}{{ ns.n }}|{{ dict(a=1).a }}|{{ obj.public }}|{{ p }}|"
              "{{ items|map('string')|join(',') }}|{{ lipsum is defined }}")
    expected = (f"{context['role'].title}|True|None|"
                f"{context['framework'].level(context['framework'].min_level).label}|"
                f"{kind_label(context['role'].stages[0].kind)}|"
                "helped text|1|1.5|text|text-2|3|1|public value|/etc/passwd|1,2|True")
    assert render(tmp_path, source, context) == expected


@pytest.mark.parametrize(("source", "message"), [
    ("{{ '{0.__class__}'|format(x) }}",
     "template error: TypeError: not all arguments converted during string formatting"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
     "template error: RecursionError: maximum recursion depth exceeded"),
    ("{{ 1 / 0 }}", "template error: ZeroDivisionError: division by zero"),
])
def test_other_template_failures_are_one_line(source: str, message: str, tmp_path: Path,
                                              context: dict[str, Any]) -> None:
    """What else a template's own code raises (|format with a str.format pattern, runaway recursion) is one TemplateError at the template line, not a traceback."""
    with pytest.raises(TemplateError) as info:
        render(tmp_path, source, context)
    assert str(info.value).startswith(f"{rel(tmp_path / 'page.html.j2')}:1: {message}")


@pytest.mark.parametrize("name", ["request", "config", "settings", "os", "environ", "__builtins__"])
def test_no_framework_style_globals(name: str, tmp_path: Path, context: dict[str, Any]) -> None:
    """No request, config or module-like global is there for a template to reach: each is undefined."""
    with pytest.raises(TemplateError) as info:
        render(tmp_path, "{{ " + name + " }}", context)
    assert str(info.value) == f"template 'page.html.j2': '{name}' is undefined"


# --------------------------------------------------------------------------- 2. files


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the template folder, holding a secret."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    return folder


@pytest.mark.parametrize("tag", [
    "{% include '/etc/passwd' %}",
    "{% include '../outside/secret.txt' %}",
    "{% import '../../x' as m %}",
    "{% from '../outside/secret.txt' import y %}",
    "{% extends '/etc/passwd' %}",
    "{% include ['/etc/passwd', '../outside/secret.txt'] %}",
])
def test_no_template_by_path_outside_the_folders(tag: str, tmp_path: Path, outside: Path) -> None:
    """Include, import, from and extends of an absolute or '..' name find nothing outside the template folders."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "page.html.j2").write_text(tag, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        Templates([tpl]).render("page.html.j2")
    name = tag.split("'")[-2]
    assert str(info.value) == f"template '{name}' not found in {tpl}"


@pytest.mark.parametrize("how", ["include", "extends", "import", "linked-folder", "top-level"])
def test_links_out_of_the_folders_are_refused(how: str, tmp_path: Path, outside: Path) -> None:
    """A template that is a link to a file outside the template folders (or sits in a linked folder) is refused before it is read."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "evil.html.j2").symlink_to(outside / "secret.txt")
    (tpl / "sub").symlink_to(outside)
    name = "sub/secret.txt" if how == "linked-folder" else "evil.html.j2"
    link = tpl / name
    tags = {"include": "{% include 'evil.html.j2' %}", "extends": "{% extends 'evil.html.j2' %}",
            "import": "{% import 'evil.html.j2' as m %}",
            "linked-folder": "{% include 'sub/secret.txt' %}"}
    (tpl / "page.html.j2").write_text("x\n" + tags.get(how, ""), encoding="utf-8")
    page = "evil.html.j2" if how == "top-level" else "page.html.j2"
    with pytest.raises(TemplateError) as info:
        Templates([tpl]).render(page)
    where = "template 'evil.html.j2'" if how == "top-level" else f"{rel(tpl / 'page.html.j2')}:2"
    assert str(info.value) == (f"{where}: {REFUSED}: {rel(link)} is a link to "
                               f"{(outside / 'secret.txt').resolve()}, outside the template folders")
    assert SECRET not in str(info.value)


def test_links_inside_the_folders_are_followed(tmp_path: Path) -> None:
    """A link from one template folder to a file in another (or the same) folder still works."""
    tpl, shared = tmp_path / "tpl", tmp_path / "shared"
    tpl.mkdir()
    shared.mkdir()
    (shared / "part.html.j2").write_text("shared part", encoding="utf-8")
    (tpl / "part.html.j2").symlink_to(shared / "part.html.j2")
    (tpl / "page.html.j2").write_text("{% include 'part.html.j2' %}", encoding="utf-8")
    assert Templates([tpl, shared]).render("page.html.j2") == "shared part"


# --------------------------------------------------------------------------- 3. commands


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_pack_with_hostile_template_fails_with_one_line(fmt: str, tmp_path: Path) -> None:
    """`rubrics pack --templates` with the lipsum escape exits 1 with one line naming the file and what was refused, and writes nothing."""
    tpl = packet_override(tmp_path / "tpl",
                          "<pre>{{ lipsum.__globals__['os'].popen('cat /etc/passwd').read() }}</pre>")
    out = tmp_path / "out"
    result = invoke(["pack", TINY_ROLE, "--workspace", TINY_WS, "--candidate", "Ada",
                     "--templates", tpl, "--out", out, "--format", fmt])
    assert one_error_line(result) == (
        f"{rel(tpl / 'candidate-packet.html.j2')}:{PACKET_MAIN_LINE}: {REFUSED}: "
        "access to attribute '__globals__' of 'function' object is unsafe")
    assert not out.exists() or list(out.iterdir()) == []


@pytest.fixture(scope="module")
def tiny_packs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two blank packs of the tiny role, for `rubrics aggregate`."""
    out = tmp_path_factory.mktemp("packs")
    for cid in ("ada", "bo"):
        result = invoke(["pack", TINY_ROLE, "--workspace", TINY_WS, "--candidate", cid.title(),
                         "--candidate-id", cid, "--out", out, "--format", "html"])
        assert result.exit_code == 0, result.output
    return [out / "ada", out / "bo"]


@pytest.mark.parametrize(("fmt", "pipeline"), [("html", False), ("pdf", False), ("html", True)])
def test_aggregate_with_hostile_template_fails_with_one_line(fmt: str, pipeline: bool, tmp_path: Path,
                                                             tiny_packs: list[Path]) -> None:
    """`rubrics aggregate --templates` with a format-string escape in the panel report or pipeline exits 1 with one line and writes no report."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    page = "pipeline.html.j2" if pipeline else "panel-report.html.j2"
    attack = "'{0.__class__}'.format(rows)" if pipeline else "'{0.__init__}'.format(level_label)"
    (tpl / page).write_text("<p>\n{{ " + attack + " }}</p>", encoding="utf-8")
    report = tmp_path / f"report.{fmt}"
    packs = tiny_packs if pipeline else tiny_packs[:1]
    result = invoke(["aggregate", *packs, "--templates", tpl, "--format", fmt, "--out", report])
    what = "'__class__' of 'list'" if pipeline else "'__init__' of 'function'"
    assert one_error_line(result) == (f"{rel(tpl / page)}:2: {REFUSED}: access to attribute "
                                      f"{what} object is unsafe")
    assert not report.exists()


def test_panel_report_template_can_call_its_helpers(tmp_path: Path, tiny_packs: list[Path]) -> None:
    """A panel report template still calls the functions passed in its context (level_label, panel_label, when, resolved_ids, flag_status)."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "panel-report.html.j2").write_text(
        "{{ level_label(r) }}|{{ panel_label(r) }}|{{ when('2026-01-02T03:04:05+00:00') }}|"
        "{{ resolved_ids(r)|list }}|{% for f in r.flags %}{{ flag_status(r, f) }}{% endfor %}|"
        "{{ chart.width }}", encoding="utf-8")
    report = tmp_path / "report.html"
    result = invoke(["aggregate", tiny_packs[0], "--templates", tpl, "--format", "html",
                     "--out", report])
    assert result.exit_code == 0, result.output
    assert report.read_text(encoding="utf-8") == "-|-|2026-01-02 03:04 UTC|[]||700"


def test_every_bundled_template_renders_in_the_sandbox(tiny_packs: list[Path], tmp_path: Path) -> None:
    """The bundled panel report and pipeline render through the sandboxed environment, as HTML and PDF."""
    for packs in (tiny_packs[:1], tiny_packs):
        for fmt in ("html", "pdf"):
            report = tmp_path / f"{len(packs)}.{fmt}"
            result = invoke(["aggregate", *packs, "--format", fmt, "--out", report])
            assert result.exit_code == 0, result.output
            assert report.stat().st_size > 0



# --------------------------------------------------------------------------- 4. fetching (item 7)

# A 1x1 transparent PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082")
HOST = "dns-exfil-test.invalid"
LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo",
           "create_connection")


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup or connection the test makes, each also failing where it happens."""
    import socket

    calls: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{name}{args}")
            raise OSError(f"test: {name} called")
        return call

    for name in LOOKUPS:
        monkeypatch.setattr(socket, name, refuse(name))
    return calls


def refusal(url: str) -> str:
    return (f"a template asked for {url}; templates may only use data: URLs and files "
            "inside the template folders")


def hostile_folders(tmp_path: Path) -> tuple[Path, Path]:
    """A template folder with an image, an SVG and a link out, and a folder beside it with
    secrets (an image, a style sheet, a text file)."""
    tpl, outside = tmp_path / "tpl", tmp_path / "outside"
    tpl.mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    (outside / "secret.css").write_text(f"body::after {{ content: '{SECRET}' }}", encoding="utf-8")
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (tpl / "logo.png").write_bytes(PNG)
    (tpl / "link.png").symlink_to(outside / "secret.png")
    (tpl / "in.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
                                f'<image href="{(outside / "secret.png").resolve().as_uri()}" '
                                'width="4" height="4"/></svg>', encoding="utf-8")
    return tpl, outside


def pack_pdf(tpl: Path, out: Path) -> Result:
    return invoke(["pack", TINY_ROLE, "--workspace", TINY_WS, "--candidate", "Ada",
                   "--templates", tpl, "--out", out, "--format", "pdf"])


def test_file_url_with_a_host_is_refused_without_a_lookup(tmp_path: Path, no_dns: list[str]) -> None:
    """A file: URL with a host, naming a file inside the template folder, is refused before anything resolves the host: exit 1, one line, no DNS query, nothing written."""
    tpl, _ = hostile_folders(tmp_path)
    url = f"file://{HOST}{(tpl / 'logo.png').resolve()}"
    packet_override(tpl, f'<link rel="attachment" href="{url}">')
    out = tmp_path / "out"
    result = pack_pdf(tpl, out)
    assert no_dns == []
    assert one_error_line(result) == refusal(url)
    assert not out.exists() or list(out.iterdir()) == []


def test_aggregate_pdf_with_a_host_is_refused_without_a_lookup(tmp_path: Path, no_dns: list[str],
                                                               tiny_packs: list[Path]) -> None:
    """`rubrics aggregate --format pdf --templates` attaching its own template by a file://host URL exits 1 with one line, looks nothing up and writes no report."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    url = f"file://{HOST}{(tpl / 'panel-report.html.j2').resolve()}"
    (tpl / "panel-report.html.j2").write_text(
        f'<html><head><link rel="attachment" href="{url}"></head><body><p>{{{{ r.pack_id }}}}</p>'
        "</body></html>", encoding="utf-8")
    report = tmp_path / "report.pdf"
    result = invoke(["aggregate", tiny_packs[0], "--templates", tpl, "--format", "pdf",
                     "--out", report])
    assert no_dns == []
    assert one_error_line(result) == refusal(url)
    assert not report.exists()


# (name, what goes in <head>, what goes at the start of <main>, the URL refused); {T} is the
# template folder's file URL, {t} its path, {O} the secrets folder's file URL.
FETCHES = [
    ("host-localhost", '<link rel="attachment" href="file://localhost{t}/logo.png">', "",
     "file://localhost{t}/logo.png"),
    ("host-upper-scheme", f'<link rel="attachment" href="FILE://{HOST}/etc/passwd">', "",
     f"FILE://{HOST}/etc/passwd"),
    ("protocol-relative", "", f'<img src="//{HOST}/x.png" alt="">', f"file://{HOST}/x.png"),
    ("one-slash", '<link rel="attachment" href="file:/etc/passwd">', "", "file:/etc/passwd"),
    ("three-slashes", '<link rel="attachment" href="file:///etc/passwd">', "", "file:///etc/passwd"),
    ("four-slashes", '<link rel="attachment" href="file:////etc/passwd">', "", "file:////etc/passwd"),
    ("proc-environ", '<link rel="attachment" href="file:///proc/self/environ">', "",
     "file:///proc/self/environ"),
    ("dot-dot", '<link rel="attachment" href="../outside/secret.txt">', "", "{O}/secret.txt"),
    ("encoded-dot-dot", '<link rel="attachment" href="{T}/%2e%2e/outside/secret.txt">', "",
     "{T}/%2e%2e/outside/secret.txt"),
    ("encoded-slash", '<link rel="attachment" href="%2e%2e%2Foutside%2Fsecret.txt">', "",
     "{T}/%2e%2e%2Foutside%2Fsecret.txt"),
    ("symlink-out", "", '<img src="link.png" alt="">', "{T}/link.png"),
    ("img", "", '<img src="../outside/secret.png" alt="">', "{O}/secret.png"),
    ("css-url", "<style>body { background: url(../outside/secret.png) }</style>", "",
     "{O}/secret.png"),
    ("css-import", '<style>@import url("../outside/secret.css");</style>', "", "{O}/secret.css"),
    ("css-font-face", f"<style>@font-face {{ font-family: X; src: url(http://{HOST}/f.ttf) }}</style>",
     "", f"http://{HOST}/f.ttf"),
    ("stylesheet-link", '<link rel="stylesheet" href="../outside/secret.css">', "", "{O}/secret.css"),
    ("object", "", '<object data="../outside/secret.png" type="image/png"></object>', "{O}/secret.png"),
    ("embed", "", '<embed src="../outside/secret.png" type="image/png">', "{O}/secret.png"),
    ("svg-image", "", '<svg width="4" height="4"><image href="../outside/secret.png" width="4" '
     'height="4"/></svg>', "{O}/secret.png"),
    ("svg-file-in-folder", "", '<img src="in.svg" alt="">', "{O}/secret.png"),
    ("svg-data-url", "", '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22'
     '%3E%3Cimage href=%22{O}/secret.png%22 width=%224%22 height=%224%22/%3E%3C/svg%3E" alt="">',
     "{O}/secret.png"),
    ("anchor-attachment", "", '<a rel="attachment" href="../outside/secret.txt">x</a>',
     "{O}/secret.txt"),
    ("base-href", f'<base href="http://{HOST}/">', '<img src="logo.png" alt="">',
     f"http://{HOST}/logo.png"),
    ("https", "", f'<img src="https://{HOST}/x.png" alt="">', f"https://{HOST}/x.png"),
    ("ftp", "", f'<img src="ftp://{HOST}/x.png" alt="">', f"ftp://{HOST}/x.png"),
]


@pytest.mark.parametrize(("head", "body", "url"), [f[1:] for f in FETCHES],
                         ids=[f[0] for f in FETCHES])
def test_hostile_urls_are_refused(head: str, body: str, url: str, tmp_path: Path,
                                  no_dns: list[str]) -> None:
    """Every URL shape and element that fetches something outside the template folders, or over the network, is refused (UnsafeResource naming the URL) with no lookup."""
    tpl, outside = hostile_folders(tmp_path)
    values = {"{T}": tpl.resolve().as_uri(), "{t}": str(tpl.resolve()),
              "{O}": outside.resolve().as_uri()}
    for key, value in values.items():
        head, body, url = head.replace(key, value), body.replace(key, value), url.replace(key, value)
    html = f"<!doctype html><html><head>{head}</head><body>{body}<p>page</p></body></html>"
    with pytest.raises(UnsafeResource) as info:
        html_to_pdf(html, base=tpl, allowed=[tpl])
    assert str(info.value) == refusal(url)
    assert no_dns == []


def test_hostile_url_fails_the_pack_with_one_line(tmp_path: Path, no_dns: list[str]) -> None:
    """A refused URL in a pack's template (here CSS @import of a file beside the folder) exits 1 with one line and writes nothing."""
    tpl, outside = hostile_folders(tmp_path)
    text = PACKET.replace("</head>", '<style>@import url("../outside/secret.css");</style>\n</head>', 1)
    (tpl / "candidate-packet.html.j2").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = pack_pdf(tpl, out)
    assert one_error_line(result) == refusal(f"{outside.resolve().as_uri()}/secret.css")
    assert not out.exists() or list(out.iterdir()) == []
    assert no_dns == []


def test_iframe_fetches_nothing(tmp_path: Path, no_dns: list[str]) -> None:
    """WeasyPrint does not load an <iframe>, so one naming a secret makes a PDF without it."""
    from io import BytesIO

    from pypdf import PdfReader

    tpl, _ = hostile_folders(tmp_path)
    pdf = html_to_pdf('<html><body><iframe src="../outside/secret.txt"></iframe><p>page</p>'
                      "</body></html>", base=tpl, allowed=[tpl])
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "page" in text
    assert SECRET not in text
    assert SECRET.encode() not in pdf
    assert no_dns == []


def test_links_within_the_folder_and_query_fragment_are_served(tmp_path: Path, no_dns: list[str]) -> None:
    """A link to a file inside the folder, and a file URL with a query and fragment, are fetched: the PDF is made."""
    tpl, _ = hostile_folders(tmp_path)
    (tpl / "alias.png").symlink_to(tpl / "logo.png")
    logo = (tpl / "logo.png").resolve().as_uri()
    pdf = html_to_pdf(f'<html><body><img src="alias.png" alt=""><img src="{logo}?v=1#top" alt="">'
                      "</body></html>", base=tpl, allowed=[tpl])
    assert pdf.startswith(b"%PDF")
    assert no_dns == []


def test_fetcher_answers_with_the_checked_file(tmp_path: Path) -> None:
    """The fetcher's response names the resolved file it checked (WeasyPrint reads images again from that name), whatever the URL's fragment or links."""
    from rubrics.render import _fetcher_class

    tpl, _ = hostile_folders(tmp_path)
    (tpl / "logo.png#").mkdir()  # so that a path read from the raw URL would lead outside
    (tpl / "alias.png").symlink_to(tpl / "logo.png")
    fetcher = _fetcher_class()([tpl])
    logo = (tpl / "logo.png").resolve()
    for url in (f"{logo.as_uri()}#/../../outside/secret.png", (tpl / "alias.png").as_uri()):
        response = fetcher.fetch(url)
        assert response.url == logo.as_uri()
        assert Path(response.path) == logo
        assert response.read() == PNG
        assert response.content_type == "image/png"
    assert fetcher.refused == []
