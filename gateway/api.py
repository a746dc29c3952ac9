"""How a JSON route is written: `@endpoint(...)` under the blueprint's route.

    @bp.post("/stations")
    @endpoint(roles=OFFICERS, body=StationCreateSchema, response=StationSchema,
              status=201, summary="Register a station", errors=(409,))
    def create_station(body):
        station = call("registry", "create_station", body)
        return station, {"Location": url_for(".get_station", station_id=station["id"])}

The decorator authenticates the bearer token and requires one of `roles`
(401/403), validates the JSON body with `body` (the view gets the ORIGINAL JSON
object as `body=`, to send on over RPC: the service validates it again with the
same schema) and the query string with `query` (the view gets the loaded values
made JSON-safe as `query=`), and answers 400 naming the fields otherwise. It
records everything the OpenAPI document needs (gateway/openapi.py reads it).

The view returns the payload (dict or list), or (payload, headers), or None for
a 204. It calls the service with `gateway.rpc.call`, which adds `caller=`. The
payload is answered shaped by `response` (`shape_answer`): only declared fields;
under tests (GATEWAY_STRICT_ANSWERS=1) any drift is a 500 naming the field.
"""
import datetime
import functools
import json
import logging
import os
import re

from flask import Response, has_request_context, request
from marshmallow import Schema, ValidationError, validate
from marshmallow import fields as mf

from gateway import ratelimit
from gateway.auth import authenticate
from gateway.errors import ApiError, BadRequest, UpstreamError
from services.common.jsonable import jsonable

log = logging.getLogger("wushe.gateway")


# What services.common.idempotency accepts as an Idempotency-Key: documented once,
# for every operation that reads the header.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 200,
                          "pattern": r"^[!-~]([ -~]*[!-~])?$"}  # printable, not blank at either end
HEADER_SCHEMAS = {"Idempotency-Key": IDEMPOTENCY_KEY_SCHEMA}


class Endpoint:
    """What the OpenAPI document says about one view."""

    def __init__(self, roles, summary, description, body, query, response, status, errors,
                 tags, path_params, headers=None, body_content=None, response_content=None):
        self.roles = tuple(roles) if roles is not None else None
        self.summary = summary
        self.description = description
        self.body = body
        self.query = query
        self.response = response
        self.status = status
        self.errors = tuple(errors)
        self.tags = tuple(tags)
        self.path_params = dict(path_params or {})
        self.headers = dict(headers or {})
        self.body_content = dict(body_content or {})
        self.response_content = dict(response_content or {})


def endpoint(*, roles, summary, description=None, body=None, query=None, response=None,
             status=200, errors=(), tags=(), path_params=None, headers=None, body_content=None,
             response_content=None, budget="public"):
    """Mark a view as an API endpoint (see the module docstring).

    roles: the roles allowed (gateway.auth.ALL_ROLES, OFFICERS, ...), or None for
        a public endpoint.
    body / query: marshmallow Schema classes for the JSON body / query string.
    response: what a success returns, for the document: a Schema class, or an
        OpenAPI schema dict whose parts may be Schema classes (see `page_of`,
        `list_of`).
    errors: extra statuses the service may answer (404 and 409 typically).
    path_params: {name: OpenAPI schema dict} for the path's variables (string
        by default).
    headers: {name: description} of request headers the view reads (documented
        as optional header parameters, e.g. Idempotency-Key).
    body_content / response_content: {media type: OpenAPI schema dict} for
        bodies that are not JSON (an uploaded sheet, a CSV or Excel download).
    budget: for a public endpoint, which rate-limit budget it draws on
        (gateway/ratelimit.py: "public", or "sign-in").
    """

    def decorate(view):
        meta = Endpoint(roles, summary, description, body, query, response, status, errors,
                        tags, path_params, headers, body_content, response_content)

        @functools.wraps(view)
        def wrapper(**path_args):
            if roles is not None:
                authenticate(roles)
            if body is not None:
                path_args["body"] = load_body(body)
            if query is not None:
                path_args["query"] = load_query(query)
            result = view(**path_args)
            if isinstance(result, Response):
                return result
            if result is None:
                if status == 204:
                    return "", 204
                raise UpstreamError("the service gave an empty answer")
            headers = {}
            if isinstance(result, tuple):
                result, headers = result
            if response is not None:
                result = shape_answer(response, result, request.endpoint or view.__name__)
            return result, status, headers

        wrapper.openapi = meta
        if roles is None:
            # Anyone may call it: one budget per client address (gateway/ratelimit.py).
            wrapper = ratelimit.BUDGETS[budget](wrapper)
            wrapper.openapi = meta
        return wrapper

    return decorate


def page_of(schema, **extra):
    """The documented shape of a paginated list answer; `extra`: {name: OpenAPI schema}
    of fields the list answers besides the page (e.g. the quarter it is of)."""
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema},
            "total": {"type": "integer", "description": "Items matching, on all pages."},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            **extra,
        },
        "required": ["items", "total", "page", "per_page"],
        "additionalProperties": False,
    }


def list_of(schema):
    return {"type": "array", "items": schema}


# ---- output: what is documented is what is answered ----

class AnswerDrift(Exception):
    """An answer field the response schema does not declare, or of the wrong type."""

    def __init__(self, where, problem):
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


def strict_answers():
    """GATEWAY_STRICT_ANSWERS=1 (the tests): drift answers a 500 instead of being dropped."""
    return os.environ.get("GATEWAY_STRICT_ANSWERS", "") in ("1", "true", "yes")


def shape_answer(spec, payload, operation):
    """`payload` with only the fields `spec` declares (recursively).

    Services answer JSON-ready values over RPC (instants and dates already strings,
    Decimal128 as its decimal string), so marshmallow's dump (which formats dates
    from date objects, and would raise on strings) is not used: this walker keeps
    the declared keys and checks each value's JSON type against the field. Outside
    tests an undeclared field is dropped (logged); in tests (strict) any drift is a
    500 naming the operation and the field, so every e2e test checks conformance.
    """
    strict = strict_answers()
    try:
        return _shape(spec, payload, "$", strict)
    except AnswerDrift as drift:
        log.error("answer of %s does not match its response schema at %s: %s",
                  operation, drift.where, drift.problem,
                  extra={"operation": operation, "field": drift.where})
        raise ApiError(f"the answer of {operation} does not match its documented schema at "
                       f"{drift.where}: {drift.problem}", status=500, code="internal_error")


_LOGGED = set()


def _drift(strict, where, problem):
    if strict:
        raise AnswerDrift(where, problem)
    if (where, problem) not in _LOGGED:  # once per process: a drift repeats on every answer
        _LOGGED.add((where, problem))
        log.warning("answer drift at %s: %s", where, problem,
                    extra={"operation": request.endpoint if has_request_context() else None,
                           "field": where})


@functools.lru_cache(maxsize=None)
def _schema_instance(schema_cls):
    # One instance per class, read only: making one per answer deep-copies its fields
    # (and loses their nested schemas' caches): a fifth of a GET (docs/gateway-performance.md).
    return schema_cls()


@functools.lru_cache(maxsize=None)
def _declared(schema):
    """{key in the answer: field} of a schema instance (the cached ones above and
    their nested schemas: a bounded set), computed once per instance."""
    return {(fld.data_key or name): fld for name, fld in schema.dump_fields.items()}


def _shape(spec, value, where, strict):
    if isinstance(spec, type) and issubclass(spec, Schema):
        spec = _schema_instance(spec)
    if isinstance(spec, Schema):
        return _shape_schema(spec, value, where, strict)
    if isinstance(spec, mf.Field):
        return _shape_field(spec, value, where, strict)
    if isinstance(spec, dict):
        return _shape_dict_spec(spec, value, where, strict)
    return value


def _shape_schema(schema, value, where, strict):
    if value is None:
        _drift(strict, where, "null where an object is documented")
        return value
    if not isinstance(value, dict):
        _drift(strict, where, f"{_json_type(value)} where an object is documented")
        return value
    declared = _declared(schema)
    out = {}
    for key, item in value.items():
        fld = declared.get(key)
        if fld is None:  # undeclared: not answered (see shape_answer)
            _drift(strict, f"{where}.{key}", "a field the response schema does not declare")
            continue
        out[key] = _shape_field(fld, item, f"{where}.{key}", strict)
    return out


_TYPES = (
    # (field class, JSON types accepted, name); the first match wins (subclasses first).
    (mf.Boolean, (bool,), "a boolean"),
    (mf.Integer, (int,), "an integer"),
    (mf.Float, (int, float), "a number"),
    (mf.Date, (str,), "a date string"),
    (mf.DateTime, (str,), "a date-time string"),
    (mf.String, (str,), "a string"),
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _shape_field(fld, value, where, strict):
    if value is None:
        if not fld.allow_none:
            _drift(strict, where, "null where the schema does not allow null")
        return value
    if isinstance(fld, mf.Nested):
        schema = fld.schema
        if fld.many:
            if not isinstance(value, list):
                _drift(strict, where, f"{_json_type(value)} where an array is documented")
                return value
            return [_shape_schema(schema, v, f"{where}[{i}]", strict) for i, v in enumerate(value)]
        return _shape_schema(schema, value, where, strict)
    if isinstance(fld, mf.List):
        if not isinstance(value, list):
            _drift(strict, where, f"{_json_type(value)} where an array is documented")
            return value
        return [_shape_field(fld.inner, v, f"{where}[{i}]", strict) for i, v in enumerate(value)]
    if isinstance(fld, mf.Dict):
        if not isinstance(value, dict):
            _drift(strict, where, f"{_json_type(value)} where an object is documented")
            return value
        if fld.value_field is None:
            return value
        return {k: _shape_field(fld.value_field, v, f"{where}.{k}", strict) for k, v in value.items()}
    if strict:  # types, formats and validators: checked in tests, not paid for in production
        _check_value(fld, value, where)
    return value


def _check_value(fld, value, where):
    """The JSON type, format and documented validators (the ones apispec publishes)."""
    for cls, types, name in _TYPES:
        if isinstance(fld, cls):
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                raise AnswerDrift(where, f"{_json_type(value)} where {name} is documented")
            if cls is mf.Date and not _DATE.fullmatch(value):
                raise AnswerDrift(where, f"{value!r} is not a YYYY-MM-DD date")
            if cls is mf.DateTime:
                try:
                    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    raise AnswerDrift(where, f"{value!r} is not an RFC 3339 date-time")
            break
    if isinstance(fld, mf.Decimal) and not isinstance(value, str if fld.as_string else (int, float)):
        raise AnswerDrift(where, f"{_json_type(value)} where a decimal "
                                 f"{'string' if fld.as_string else 'number'} is documented")
    for validator in fld.validators:
        if isinstance(validator, (validate.Length, validate.Range, validate.OneOf,
                                  validate.Regexp, validate.Equal)):
            try:
                validator(value)
            except ValidationError as exc:
                raise AnswerDrift(where, f"{value!r}: {exc.messages[0]}")


def _shape_dict_spec(spec, value, where, strict):
    """An OpenAPI schema dict whose parts may be Schema classes (`page_of`, `list_of`...)."""
    if value is None:
        if not spec.get("nullable"):
            _drift(strict, where, "null where the schema does not allow null")
        return value
    kind = spec.get("type")
    if kind == "array" or "items" in spec:
        if not isinstance(value, list):
            _drift(strict, where, f"{_json_type(value)} where an array is documented")
            return value
        items = spec.get("items")
        return [_shape(items, v, f"{where}[{i}]", strict) for i, v in enumerate(value)]
    if kind == "object" or "properties" in spec:
        if not isinstance(value, dict):
            _drift(strict, where, f"{_json_type(value)} where an object is documented")
            return value
        properties = spec.get("properties")
        if properties is None:
            return value
        extra = spec.get("additionalProperties", False)
        out = {}
        for key, item in value.items():
            if key in properties:
                out[key] = _shape(properties[key], item, f"{where}.{key}", strict)
            elif extra:
                out[key] = item if extra is True else _shape(extra, item, f"{where}.{key}", strict)
            else:
                _drift(strict, f"{where}.{key}", "a field the response schema does not declare")
        return out
    scalar = {"integer": (int,), "number": (int, float), "string": (str,),
              "boolean": (bool,)}.get(kind)
    if scalar and (not isinstance(value, scalar) or (kind != "boolean" and isinstance(value, bool))):
        _drift(strict, where, f"{_json_type(value)} where {kind} is documented")
    return value


# ---- input ----

def json_object():
    """The request body as a JSON object, or 400."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        raise BadRequest("a JSON object is required as the request body",
                         fields={"_schema": ["missing request body; send a JSON object"]})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BadRequest("the request body is not valid JSON", code="invalid_json",
                         fields={"_schema": [f"invalid JSON: {exc}"]})
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object",
                         fields={"_schema": [f"must be a JSON object, not {_json_type(data)}"]})
    return data


def load_body(schema_cls):
    """Validate the JSON body with `schema_cls`; return it as sent (JSON types)."""
    data = json_object()
    try:
        schema_cls().load(data)
    except ValidationError as exc:
        raise validation_error(exc)
    return data


def load_query(schema_cls):
    """Validate the query string with `schema_cls`; return the loaded values, JSON-safe.

    An empty parameter (`?status=`) counts as absent, so plain HTML forms work;
    unknown and repeated parameters are refused.
    """
    args = request.args
    repeated = {k: ["give this parameter once"] for k in args if len(args.getlist(k)) > 1}
    if repeated:
        raise BadRequest(f"invalid query parameters: {', '.join(sorted(repeated))}",
                         fields=repeated)
    data = {k: v for k, v in args.items() if v != ""}
    try:
        loaded = schema_cls().load(data)
    except ValidationError as exc:
        raise validation_error(exc, what="query parameters")
    return jsonable(loaded)


def validation_error(exc, what="input"):
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return BadRequest(f"invalid {what}: {', '.join(sorted(messages))}", fields=messages)


def check_path(name, value, pattern, message):
    """400 naming the path variable unless it matches `pattern`."""
    if not re.fullmatch(pattern, value):
        raise BadRequest(f"invalid {name}: {value}", fields={name: [message]})
    return value


def _json_type(value):
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
