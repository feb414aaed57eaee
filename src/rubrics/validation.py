"""Turning pydantic errors into path-style, located problems."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rubrics.errors import InvalidInput, Problem
from rubrics.model import ID_PATTERN
from rubrics.yamlio import Document, Loc

M = TypeVar("M", bound=BaseModel)


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Any) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        return f"unknown field '{loc[-1]}'"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == ID_PATTERN:
        return (f"must be an id: lower-case letters, digits, '.', '_' or '-' "
                f"(got {err.get('input')!r})")
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum", "string_pattern_mismatch"):
        value = err.get("input")
        if value is not None and not isinstance(value, dict | list):
            shown = repr(value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            msg += f" (got {shown})"
    return msg


def problems_from(doc: Document, exc: ValidationError, root: Loc = ()) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = (*root, *err["loc"])
        where = dotted(loc)
        prefix = f"{where}: " if where else ""
        problems.append(doc.problem(loc, prefix + _message(err)))
    return problems


def validate_model(model: type[M], doc: Document, data: Any | None = None) -> M:
    """Validate ``data`` (default: the document's data) or raise InvalidInput with every problem."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise InvalidInput(problems_from(doc, exc)) from None
