"""Turning pydantic errors into path-style, located problems."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rubrics.errors import InvalidInput, Problem, shorten
from rubrics.model import ID_PATTERN, lone_surrogate
from rubrics.yamlio import Document, Loc, dotted

M = TypeVar("M", bound=BaseModel)


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML or JSON, not as Python spells it: an empty
    value is "nothing", a boolean true or false."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return shorten(repr(value))


def _message(err: Any, model: Any = None) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        hint = _close_field(model, loc)
        return f"unknown field '{loc[-1]}'" + (f" (did you mean '{hint}'?)" if hint else "")
    if kind == "missing":
        return "required field is missing"
    if kind == "string_unicode":  # a lone surrogate, which UTF-8 cannot carry
        value = err.get("input")
        return (lone_surrogate(value) if isinstance(value, str) else None) \
            or "contains a lone surrogate; remove it"
    if loc and loc[0] == "ratings" and len(loc) >= 2:
        return ("must be 1, 2, 3 or 4 (no or contrary evidence, partial, demonstrated, "
                f"strong), or null if not assessed (got {_shown(err.get('input'))})")
    if loc == ("recommendation",) and kind in ("enum", "literal_error"):
        return ("must be one of strong_no, no, yes, strong_yes "
                f"(got {_shown(err.get('input'))})")
    if loc == ("interviewer",) and kind == "string_too_short":
        return "your name is required"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == ID_PATTERN:
        return (f"must be an id: lower-case letters, digits, '.', '_' or '-' "
                f"(got {_shown(err.get('input'))})")
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum", "string_pattern_mismatch"):
        value = err.get("input")
        if value is not None and not isinstance(value, dict | list):
            msg += f" (got {_shown(value)})"
    return msg


def _close_field(model: Any, loc: Loc) -> str | None:
    """The field of ``model`` at ``loc``'s parent that an unknown key was likely meant as."""
    import difflib


    target = model
    for part in loc[:-1]:
        if isinstance(part, int) or target is None:
            continue
        field = getattr(target, "model_fields", {}).get(part)
        target = _model_in(getattr(field, "annotation", None))
    names = list(getattr(target, "model_fields", {}))
    match = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return match[0] if match else None


def _model_in(annotation: Any) -> Any:
    """The pydantic model an annotation holds (through list[...], X | None, Annotated)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def problems_from(doc: Document, exc: ValidationError, root: Loc = (),
                  model: Any = None) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: Loc = (*root, *err["loc"])
        where = dotted(loc)
        prefix = f"{where}: " if where else ""
        problems.append(doc.problem(loc, prefix + _message(err, model)))
    return problems


def validate_model(model: type[M], doc: Document, data: Any | None = None) -> M:
    """Validate ``data`` (default: the document's data) or raise InvalidInput with every problem."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise InvalidInput(problems_from(doc, exc, model=model)) from None
