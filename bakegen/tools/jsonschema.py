"""The JSON Schema of matrix.yaml, generated from the pydantic models."""

from __future__ import annotations

import json

from ..model.schema import Matrix

SCHEMA_FILE = "matrix.schema.json"


def schema_text() -> str:
    """The schema as stable, indented JSON (what `bakegen schema` prints)."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Matrix.model_json_schema()}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
