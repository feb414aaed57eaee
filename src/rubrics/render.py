"""Templates in, HTML and PDF out.

Templates are looked up by file name in the user's folders first (``--templates``,
then the workspace's ``templates/``), then the bundled ones, so one file can be
overridden by name. Autoescape is on and undefined variables are errors.

Templates are code from whoever wrote the folder, so every one runs in Jinja's immutable
sandbox, made stricter for what our contexts hold (docs/decisions/0008): no attribute
starting with ``_``, no pydantic machinery on models (``parse_file`` unpickles files), no
classes or modules reached through attributes, nothing of path objects, no mutating
the shared context, and no template file that resolves outside the template folders.
A refusal is a ``TemplateError`` naming the template file and line.

WeasyPrint is imported only when a PDF is made (``rubrics --help`` stays fast),
and it fetches nothing but ``data:`` URLs and files inside the template folders.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import mimetypes
import os
import traceback
import types
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jinja2
import jinja2.loaders
from jinja2.exceptions import SecurityError
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, safe_range
from markupsafe import Markup
from pydantic import BaseModel

from rubrics.errors import NotFound, RubricsError, TemplateError, UnsafeResource, display_path
from rubrics.model import BIDI_CONTROLS


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source for an inline <script> or <style> body."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def yaml_str(value: object) -> str:
    """A value as a one-line YAML scalar (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def css_str(value: object) -> str:
    """A CSS string literal that cannot end the string or the <style> element."""
    out = []
    for ch in str(value):
        if ch in '"\\<>' or ord(ch) < 0x20:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def oneline(value: object) -> str:
    """Text on one line (for YAML comments and table cells)."""
    return " ".join(str(value).split())


def plain(value: object) -> str:
    """Text as a PDF can draw it: with its emoji where a colour emoji font is installed
    (scripts/setup installs Noto Color Emoji), without them where none is (they would
    print as empty boxes)."""
    import unicodedata

    if emoji_font():
        return " ".join(str(value).split())
    kept = [ch for ch in str(value)
            if unicodedata.category(ch) != "So" and ch not in "\u200d\ufe0f\ufe0e"]
    return " ".join("".join(kept).split())


@functools.cache
def emoji_font() -> bool:
    """Whether fontconfig (which WeasyPrint draws text with) has a font for emoji."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run([fc_list, ":charset=1f680", "family"], capture_output=True,
                               text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.strip())


def kind_label(value: object) -> str:
    text = str(getattr(value, "value", value)).replace("_", " ")
    return text[:1].upper() + text[1:]


def duration(minutes: int) -> str:
    """Minutes as people say them, exactly: 45 minutes, 1 hour, 5 hours, 4 hours 30 minutes.
    Every duration rubrics shows (packet, plan, scorecard, ``roles show``) goes through here."""
    hours, rest = divmod(int(minutes), 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def shown_text(value: Any) -> Any:
    """Every value a template prints, without terminal controls or direction overrides: a
    name or a reason must not be able to reorder or hide the rest of a report."""
    return visible(value) if isinstance(value, str) else value


def visible(text: str) -> str:
    """``text`` with control characters (but newline and tab) and direction overrides
    removed."""
    if text.isprintable() or all(ch.isprintable() or ch in "\n\t" for ch in text):
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not (
        unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS))


def _sandboxed_range(*args: int) -> range:
    """``range`` as the sandbox allows it, refused (not an OverflowError) when too long."""
    try:
        return safe_range(*args)
    except OverflowError:
        raise SecurityError(f"range() of more than {MAX_RANGE} numbers") from None


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, and stricter where the objects we pass in need it.

    Jinja refuses ``_`` names, Python internals and methods that modify lists, dicts and
    sets. It allows any other attribute and calling it, which lets a template reach
    ``role.parse_file(path, proto="pickle", allow_pickle=True)`` (pydantic's deprecated
    loader: arbitrary code) or a class through ``model_fields[...].annotation``. So this
    also refuses pydantic's own attributes of a model (its fields, and the properties and
    methods our models define, stay), any attribute whose value is a class or a module,
    and every attribute of a path object. The names are checked before the attribute is
    read, so a refused one runs nothing, and a refusal raises at once (not an undefined
    value that ``default`` or ``is defined`` would quietly swallow).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _sandboxed_range

    @staticmethod
    def _refused_name(obj: Any, attr: str) -> bool:
        if isinstance(obj, os.PathLike):
            return True
        is_model = isinstance(obj, BaseModel) or (
            isinstance(obj, type) and issubclass(obj, BaseModel))
        return is_model and hasattr(BaseModel, attr)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not (isinstance(value, type | types.ModuleType) or self._refused_name(obj, attr))

    def getattr(self, obj: Any, attribute: str) -> Any:
        if self._refused_name(obj, attribute):
            self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and self._refused_name(obj, argument):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} "
                            "object is unsafe")


class FolderLoader(jinja2.FileSystemLoader):
    """Templates by name from the folders, never from a file that resolves outside them.

    Jinja already refuses ``..`` and absolute names; this also refuses a template that is
    a link (or sits in a linked folder) pointing elsewhere, before the file is opened.
    """

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        pieces = jinja2.loaders.split_template_path(template)
        roots = [Path(folder).resolve() for folder in self.searchpath]
        for folder in self.searchpath:
            candidate = Path(folder, *pieces)
            if candidate.is_file():
                real = candidate.resolve()
                if not any(real.is_relative_to(root) for root in roots):
                    raise SecurityError(f"{display_path(candidate)} is a link to {real}, "
                                        "outside the template folders")
                break
        return super().get_source(environment, template)


@dataclass
class Templates:
    """An ordered list of template folders; the first that has a file name wins."""

    folders: list[Path]
    _env: jinja2.Environment | None = field(default=None, repr=False)

    @classmethod
    def for_workspace(cls, workspace_templates: Path | None, override: Path | None,
                      bundled: Path) -> Templates:
        folders: list[Path] = []
        if override is not None:
            if not override.is_dir():
                raise NotFound(f"{override}: templates folder not found")
            folders.append(override)
        if workspace_templates is not None and workspace_templates.is_dir():
            folders.append(workspace_templates)
        folders.append(bundled)
        unique: list[Path] = []
        for f in folders:
            if f.resolve() not in [u.resolve() for u in unique]:
                unique.append(f)
        return cls(unique)

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            env = Sandbox(
                loader=FolderLoader([str(f) for f in self.folders]),
                # HTML is escaped; CSS, JS and YAML templates use css_str / yaml_str.
                autoescape=jinja2.select_autoescape(
                    enabled_extensions=("html", "htm", "xml", "svg", "html.j2", "svg.j2"),
                    default_for_string=True, default=False),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                finalize=shown_text,
            )
            env.filters["yaml_str"] = yaml_str
            env.filters["css_str"] = css_str
            env.filters["oneline"] = oneline
            env.filters["kind_label"] = kind_label
            env.filters["duration"] = duration
            env.filters["plain"] = plain
            self._env = env
        return self._env

    def render(self, name: str, **context: Any) -> str:
        try:
            template = self.env.get_template(name)
            return template.render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template '{exc.name}' not found in "
                                f"{', '.join(str(f) for f in self.folders)}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template '{name}': {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{exc.filename or name}:{exc.lineno}: template syntax error: "
                                f"{exc.message}") from None
        except SecurityError as exc:
            raise TemplateError(f"{self._where(exc, name)}: refused by the template sandbox: "
                                f"{exc}") from None
        except RubricsError:
            raise
        except Exception as exc:
            # Anything else a template's code raises (``"{0}"|format(x)``: TypeError, a
            # recursive macro: RecursionError) is one line at the template, not a traceback.
            raise TemplateError(f"{self._where(exc, name)}: template error: "
                                f"{type(exc).__name__}: {exc}") from None

    def _where(self, exc: BaseException, name: str) -> str:
        """The template file and line an error was raised at (Jinja's rewritten traceback
        names them), else the template asked for."""
        roots = [f.resolve() for f in self.folders]
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if path.suffix != ".py" and any(path.resolve().is_relative_to(r) for r in roots):
                return f"{display_path(path)}:{frame.lineno}"
        return f"template '{name}'"

    def folder_of(self, name: str) -> Path:
        """The folder a template is taken from (relative URLs in it resolve there)."""
        for folder in self.folders:
            if (folder / name).is_file():
                return folder
        return self.folders[-1]

    def render_page(self, name: str, *, css: str | None = None, js: str | None = None,
                    **context: Any) -> str:
        """Render a self-contained page: inline CSS/JS pinned by a strict CSP."""
        return self.render_served_page(name, css=css, js=js, **context)[0]

    def render_served_page(self, name: str, *, css: str | None = None, js: str | None = None,
                           connect: bool = False, **context: Any) -> tuple[str, str]:
        """A self-contained page and its strict CSP (the server sends it as a header too);
        ``connect``: its script may fetch from the page's own origin."""
        style = self.render(css, **context) if css else ""
        script = self.render(js, **context) if js else ""
        policy = ["default-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'"]
        if style:
            policy.append(f"style-src {csp_hash(style)}")
        if script:
            policy.append(f"script-src {csp_hash(script)}")
        if connect:
            policy.append("connect-src 'self'")
        csp = "; ".join(policy)
        # Our own rendered CSS/JS templates (autoescaped values inside), pinned by the CSP.
        return self.render(name, inline_css=Markup(style), inline_js=Markup(script),  # noqa: S704
                           csp=csp, **context), csp


def _fetcher_class() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class Refused(FatalURLFetchingError):  # type: ignore[misc]
        pass

    class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Fetches data: URLs and files inside the allowed folders; refuses the rest.

        Files are read here, not by urllib: a ``file:`` URL with a host (even
        ``localhost``) makes urllib look the host up, a DNS query that leaves the machine,
        so any host is refused; and the file read is the one checked, its links resolved.
        """

        def __init__(self, roots: Sequence[Path]) -> None:
            super().__init__(allowed_protocols={"data", "file"}, fail_on_errors=True)
            self.roots = [r.resolve() for r in roots]
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = self.local_file(url)
                if path is not None:
                    kind = mimetypes.guess_type(path.name)[0]
                    # The checked path as the URL: WeasyPrint reads images again from it.
                    return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                              {"Content-Type": kind} if kind else {})
            self.refused.append(url)
            raise Refused(f"refused to fetch {url}")

        def local_file(self, url: str) -> Path | None:
            """The file a ``file:`` URL names, resolved, if it has no host and is inside
            the allowed folders."""
            parts = urllib.parse.urlsplit(url)
            if parts.netloc:
                return None
            path = Path(urllib.request.url2pathname(parts.path))
            if not path.is_absolute():
                return None
            resolved = path.resolve()
            if any(resolved.is_relative_to(r) for r in self.roots) and resolved.is_file():
                return resolved
            return None

    return LocalOnlyFetcher


def html_to_pdf(html: str, *, base: Path, allowed: Sequence[Path], forms: bool = False,
                tagged: bool = True, variant: str | None = None, finisher: Any = None) -> bytes:
    """Render HTML to PDF bytes with WeasyPrint, fetching only what is allowed."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = _fetcher_class()(allowed)
    options: dict[str, Any] = {"pdf_forms": forms, "pdf_tags": tagged}
    if variant:
        options["pdf_variant"] = variant
    try:
        document = HTML(string=html, base_url=str(base.resolve()) + "/", url_fetcher=fetcher)
        pdf = document.write_pdf(finisher=finisher, **options)
    except BaseException as exc:
        if fetcher.refused:
            raise UnsafeResource(_refusal(fetcher.refused)) from None
        raise exc
    if fetcher.refused:
        raise UnsafeResource(_refusal(fetcher.refused))
    assert isinstance(pdf, bytes)
    return pdf


def _refusal(urls: list[str]) -> str:
    shown = urls[0] if len(urls) == 1 else f"{urls[0]} (and {len(urls) - 1} more)"
    return (f"a template asked for {shown}; templates may only use data: URLs and files "
            "inside the template folders")
