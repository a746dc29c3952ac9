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
a 204. It calls the service with `gateway.rpc.call`, which adds `caller=`.
"""
import functools
import json
import re

from flask import Response, request
from marshmallow import ValidationError

from gateway import ratelimit
from gateway.auth import authenticate
from gateway.errors import BadRequest, UpstreamError
from services.common.jsonable import jsonable


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
            if isinstance(result, tuple):
                payload, headers = result
                return payload, status, headers
            return result, status

        wrapper.openapi = meta
        if roles is None:
            # Anyone may call it: one budget per client address (gateway/ratelimit.py).
            wrapper = ratelimit.BUDGETS[budget](wrapper)
            wrapper.openapi = meta
        return wrapper

    return decorate


def page_of(schema):
    """The documented shape of a paginated list answer."""
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": schema},
            "total": {"type": "integer", "description": "Items matching, on all pages."},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
        "required": ["items", "total", "page", "per_page"],
    }


def list_of(schema):
    return {"type": "array", "items": schema}


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
