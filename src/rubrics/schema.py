"""JSON Schema for every file format rubrics reads."""

from __future__ import annotations

import json
from typing import Any

from rubrics.model import Framework, Role, Submission

SCHEMA_KINDS = ("framework", "role", "submission")


def schema_for(kind: str) -> dict[str, Any]:
    if kind == "framework":
        model: Any = Framework
    elif kind == "role":
        model = Role
    elif kind == "submission":
        model = Submission
    else:
        raise ValueError(f"unknown schema '{kind}' (choose from {', '.join(SCHEMA_KINDS)})")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://rubrics.dev/schema/{kind}.json",
        **model.model_json_schema(),
    }
    return schema


def schema_json(kind: str) -> str:
    return json.dumps(schema_for(kind), indent=2, ensure_ascii=False) + "\n"
