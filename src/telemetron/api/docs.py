"""OpenAPI building blocks shared by the ext-v1 endpoints (served at /openapi.json and /docs).

Handlers read the raw request (to check the key before validating, and to name unknown fields),
so FastAPI cannot infer request bodies; each endpoint module declares its operation with these
helpers, from the same Pydantic models that validate the requests (``*_openapi.py`` modules).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from telemetron.tickets.schemas import ErrorResponse

_REF = "#/components/schemas/{model}"
_models: list[type[BaseModel]] = [ErrorResponse]

SECURITY: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}, {"BearerKey": []}]


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A $ref to ``model``, which is added to the document's components."""
    if model not in _models:
        _models.append(model)
    return {"$ref": _REF.format(model=model.__name__)}


def json_body(model: type[BaseModel], examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A required JSON request body; ``examples`` maps a name to ``{"summary", "value"}``."""
    return {
        "required": True,
        "content": {"application/json": {"schema": schema_ref(model), "examples": examples}},
    }


def ok(description: str, model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema_ref(model), "example": example}},
    }


def one_of(description: str, models: list[type[BaseModel]], example: dict[str, Any]) -> dict[str, Any]:
    """A response that is one of ``models`` (createTicket: the ticket, or a dry run's answer)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"oneOf": [schema_ref(m) for m in models]}, "example": example}},
    }


def error(description: str, *examples: dict[str, Any]) -> dict[str, Any]:
    """An error response; each example is an error body with its ``code``."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": schema_ref(ErrorResponse),
                "examples": {example["code"]: {"value": example} for example in examples},
            }
        },
    }


def extend_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the hand-declared models and the two ways of sending the API key."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in _models:
        model_schema = model.model_json_schema(ref_template=_REF)
        for name, definition in model_schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = model_schema
    components["securitySchemes"] = {
        "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        "BearerKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "The same API key as a bearer token.",
        },
    }
    return schema
