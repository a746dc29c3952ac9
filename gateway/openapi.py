"""The OpenAPI 3.0.3 document, generated from the routes and their marshmallow schemas.

Every view decorated with `gateway.api.endpoint` is described from what the
decorator recorded: roles (bearerAuth security and `x-roles`), path variables,
query parameters and request body (from the same schemas that validate them),
the success answer, and the error answers (all of the one Error shape).
"""
import copy
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.errors import ErrorSchema

TITLE = "wushe 五社联动 API"
DESCRIPTION = (
    "Operations platform for township and street social work stations (社工站).\n\n"
    "Authenticate with `Authorization: Bearer <token>` (`wushe token --role R --region C`). "
    "Every answer other than success is `{\"error\": {\"code\", \"message\", \"fields\"}}`; "
    "`fields` names the offending input fields. Send `X-Request-Id` to trace a request "
    "through the services; the answer echoes it."
)

ERROR_RESPONSES = {
    400: ("BadRequest", "Invalid input: the body is not a JSON object, or `fields` names each "
                        "invalid, missing or unknown field."),
    401: ("Unauthorized", "Missing, invalid or expired bearer token."),
    403: ("Forbidden", "The caller's role may not do this, or the resource lies outside the "
                       "caller's region."),
    404: ("NotFound", "No such resource (in the caller's region)."),
    409: ("Conflict", "The request contradicts the current state; `details` says what is "
                      "allowed."),
    413: ("PayloadTooLarge", "The upload has more rows or bytes than one request may carry."),
    429: ("TooManyRequests", "A public endpoint asked too often from this address; "
                             "`Retry-After` says when to ask again."),
    502: ("UpstreamError", "A service failed while handling the request."),
    503: ("ServiceUnavailable", "A service or the message broker is not reachable."),
    504: ("UpstreamTimeout", "A service did not answer in time."),
}

_PATH_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_METHODS = ("get", "post", "put", "patch", "delete")


def _version():
    try:
        from importlib.metadata import version

        return version("wushe")
    except Exception:  # noqa: BLE001 - not installed: a source checkout
        return "0.1.0"


def openapi_path(rule):
    return _PATH_VARIABLE.sub(r"{\1}", rule)


def build(app):
    """The OpenAPI document (a dict) of every endpoint of `app`."""
    spec = APISpec(
        title=TITLE, version=_version(), openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
        security=[{"bearerAuth": []}],
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "HS256 JWT with claims sub, role, region, iat, exp, "
                                      "iss=wushe."})
    spec.components.schema("Error", schema=ErrorSchema)
    for name, description in ERROR_RESPONSES.values():
        spec.components.response(name, {
            "description": description,
            "content": {"application/json": {"schema": ErrorSchema}},
        })

    paths = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = openapi_path(rule.rule)
        for method in sorted(m.lower() for m in rule.methods):
            if method in _METHODS:
                paths.setdefault(path, {})[method] = _operation(rule, meta)
    tag_names = sorted({t for ops in paths.values() for op in ops.values() for t in op["tags"]})
    for name in tag_names:
        spec.tag({"name": name})
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(rule, meta):
    blueprint = rule.endpoint.rpartition(".")[0] or "gateway"
    op = {
        "operationId": rule.endpoint.replace(".", "_"),
        "summary": meta.summary,
        "tags": list(meta.tags) or [blueprint],
        "responses": {},
    }
    description = meta.description or ""
    if meta.roles is not None:
        description = (description + "\n\n" if description else "") + \
            "Roles: " + ", ".join(meta.roles) + "."
        op["x-roles"] = list(meta.roles)
    else:
        op["security"] = []
    if description:
        op["description"] = description

    parameters = []
    for name in _PATH_VARIABLE.findall(rule.rule):  # in path order
        schema = copy.deepcopy(meta.path_params.get(name, {"type": "string"}))
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    if meta.query is not None:
        parameters.append({"in": "query", "schema": meta.query})
    for name, header_description in meta.headers.items():
        parameters.append({"in": "header", "name": name, "required": False,
                           "description": header_description, "schema": {"type": "string"}})
    if parameters:
        op["parameters"] = parameters
    content = {}
    if meta.body is not None:
        content["application/json"] = {"schema": meta.body}
    for media_type, schema in meta.body_content.items():
        content[media_type] = {"schema": copy.deepcopy(schema)}
    if content:
        op["requestBody"] = {"required": True, "content": content}

    if meta.status == 204:
        op["responses"]["204"] = {"description": "Done; no content."}
    else:
        success = {"description": "Created." if meta.status == 201 else "OK."}
        if meta.response is not None:
            success["content"] = {"application/json": {"schema": copy.deepcopy(meta.response)}}
        for media_type, schema in meta.response_content.items():
            success.setdefault("content", {})[media_type] = {"schema": copy.deepcopy(schema)}
        if meta.status == 201:
            success["headers"] = {"Location": {"description": "URL of the new resource, when "
                                                              "it has one.",
                                               "schema": {"type": "string"}}}
        op["responses"][str(meta.status)] = success

    statuses = set(meta.errors)
    if meta.body is not None or meta.body_content or meta.query is not None or meta.path_params:
        statuses.add(400)
    if meta.roles is not None:
        statuses.update((401, 403, 502, 503, 504))
    else:
        statuses.update((429, 502, 503, 504))
    for status in sorted(statuses):
        name = ERROR_RESPONSES.get(status, (None,))[0]
        if name:
            op["responses"][str(status)] = name  # apispec makes it a $ref
    return op
