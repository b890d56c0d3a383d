"""The ext-v1 OpenAPI document (served at /openapi.json and /docs), generated from the Pydantic
models that validate the requests and describe the responses.

Handlers read the raw request (to check the key before validating, and to name unknown fields),
so FastAPI cannot infer request bodies. Each endpoint module (``*_openapi.py``) gives ``operation``
what a model cannot say: a description, the spec's examples, and the errors. The error examples
are the real parser's answers to bad bodies (``rejections``), so they cannot drift from the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from telemetron.errors import AppError
from telemetron.tickets.responses import ErrorResponse
from telemetron.validation import NO_NUL

_REF = "#/components/schemas/{model}"
_models: list[type[BaseModel]] = [ErrorResponse]
_requests: set[type[BaseModel]] = set()

SECURITY: list[dict[str, list[str]]] = [{"ApiKeyHeader": []}, {"BearerKey": []}]
# name -> (summary, value)
Examples = Mapping[str, tuple[str, Any]]
# status -> (description, error bodies)
Errors = Mapping[int, tuple[str, Sequence[dict[str, Any]]]]

INVALID_JSON = {"error": "Invalid JSON payload: unexpected character: line 1 column 2 (char 1)", "code": "invalid_json"}
INVALID_BODY = {"error": "Request body must be a JSON object, got an array", "code": "invalid_body"}
_COMMON: dict[int, tuple[str, list[dict[str, Any]]]] = {
    401: ("Invalid or missing API key (checked before anything else in the request)", [
        {"error": "Invalid API key", "code": "invalid_api_key"},
        {"error": "Missing API key: send it in the x-api-key header", "code": "missing_api_key"},
    ]),
    429: ("Too many requests for this API key; the Retry-After header says when to retry", [
        {"error": "Rate limit exceeded: this API key may make 100 requests per second; retry in 1 s",
         "code": "rate_limited"},
    ]),
    500: ("Internal server error; the cause is logged under the X-Request-ID of the response", [
        {"error": "Internal server error", "code": "internal_error", "requestId": "3f2c0c3e9d1b4c2a8f7e6d5c4b3a2910"},
    ]),
}
_TOO_LARGE = ("Request body over the size limit (1 MiB by default)",
              [{"error": "Request body is over the limit of 1048576 bytes", "code": "body_too_large"}])
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # What ``idempotency.service.check_key`` accepts: 1 to 255 printable characters (HTTP trims the edges).
    "schema": {"type": "string", "maxLength": 255,
               "pattern": "^[!-~\u00a1-\u00ac\u00ae-\u00ff]([ -~\u00a1-\u00ac\u00ae-\u00ff]*[!-~\u00a1-\u00ac\u00ae-\u00ff])?$"},
    "description": "Makes retries safe: kept for at least 24 hours. The same key and body return the first "
    "response; the same key with another body is a 422.",
}
IDEMPOTENCY_REUSED = {
    "error": "This Idempotency-Key was already used with a different request body; use a new key for a new request",
    "code": "idempotency_key_reused",
    "field": "Idempotency-Key",
}


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """A $ref to ``model``, which is added to the document's components."""
    if model not in _models:
        _models.append(model)
    return {"$ref": _REF.format(model=model.__name__)}


def path_parameter(name: str, schema: dict[str, Any], description: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description,
            "example": example}


def rejections(parse: Callable[[Any], Any], *bodies: Any) -> list[dict[str, Any]]:
    """The error body ``parse`` answers to each of ``bodies``: the document's 400 examples, as sent."""
    answers = []
    for body in bodies:
        try:
            parse(body)
        except AppError as exc:
            answers.append(exc.body())
        else:
            raise AssertionError(f"{parse.__name__} accepts {body!r}: not an example of an error")
    return answers


def _error(description: str, examples: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An error response; its examples are named by their ``code`` (code_2... when one repeats)."""
    named: dict[str, Any] = {}
    for example in examples:
        name, n = example["code"], 2
        while name in named:
            name, n = f"{example['code']}_{n}", n + 1
        named[name] = {"value": example}
    return {"description": description,
            "content": {"application/json": {"schema": schema_ref(ErrorResponse), "examples": named}}}


def _success(description: str, model: type[BaseModel] | Sequence[type[BaseModel]], example: Any) -> dict[str, Any]:
    schema = schema_ref(model) if isinstance(model, type) else {"oneOf": [schema_ref(m) for m in model]}
    return {"description": description, "content": {"application/json": {"schema": schema, "example": example}}}


def operation(
    *,
    description: str,
    ok: tuple[str, type[BaseModel] | Sequence[type[BaseModel]], Any] | None,
    request: type[BaseModel] | None = None,
    examples: Examples | None = None,
    invalid: Sequence[dict[str, Any]] = (),
    errors: Errors | None = None,
    parameters: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One ext-v1 operation: ``ok`` is (description, model or models, example), or None for one that
    always refuses; ``invalid`` the 400
    examples; ``errors`` the other statuses. Every operation also answers 401, 429 and 500, and one
    with a ``request`` body 413 and a 400 for a body that is not a JSON object."""
    responses: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    if invalid or request is not None:
        extra = [INVALID_JSON, INVALID_BODY] if request is not None else []
        responses[400] = ("Invalid request: what the message says, in the field it names", [*invalid, *extra])
    for status, (text, bodies) in {**_COMMON, **(errors or {})}.items():
        responses[status] = (text, list(bodies))
    if request is not None:
        responses[413] = _TOO_LARGE
    spec: dict[str, Any] = {
        "description": description,
        "responses": ({"200": _success(*ok)} if ok is not None else {})
        | {str(status): _error(*responses[status]) for status in sorted(responses)},
        "security": SECURITY,
    }
    if parameters:
        spec["parameters"] = list(parameters)
    if request is not None:
        _requests.add(request)
        named = {name: {"summary": summary, "value": value} for name, (summary, value) in (examples or {}).items()}
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_ref(request), "examples": named}},
        }
    return spec


# --- the components ---------------------------------------------------------------------------------

# Any JSON value the body reader takes (``api.requests.read_json`` refuses a NUL in any string, an
# unknown field's included): what an unknown field or a free-form object (device properties) may hold.
JSON_VALUE = "JsonValue"
_JSON_VALUE_SCHEMA = {
    "description": "Any JSON value without a NUL (U+0000) in a string.",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": _REF.format(model=JSON_VALUE)}},
        {"type": "object", "additionalProperties": {"$ref": _REF.format(model=JSON_VALUE)}},
    ],
}


def _nul_free(schema: Any) -> None:
    """Say in a request's schema what the body reader enforces for every field: no NUL in a string,
    and unknown fields (ignored) are any such JSON."""
    if isinstance(schema, list):
        for item in schema:
            _nul_free(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = NO_NUL
    if schema.get("type") == "object" and schema.get("additionalProperties", True) is True:
        schema["additionalProperties"] = {"$ref": _REF.format(model=JSON_VALUE)}
    for key, value in schema.items():
        if key == "properties":
            _nul_free(list(value.values()))
        elif key not in ("const", "enum", "examples", "default", "propertyNames"):
            _nul_free(value)


def extend_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the models the operations name and the two ways of sending the API key."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[JSON_VALUE] = _JSON_VALUE_SCHEMA
    for model in _models:
        model_schema = model.model_json_schema(ref_template=_REF)
        definitions = model_schema.pop("$defs", {})
        if model in _requests:
            _nul_free(model_schema)
            _nul_free(definitions)
        schemas.update(definitions)
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
