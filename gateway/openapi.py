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
from marshmallow import Schema, fields, validate

from gateway.api import HEADER_SCHEMAS
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
    413: ("PayloadTooLarge", "The body (at most 1 MiB) or the upload has more rows or bytes "
                             "than one request may carry."),
    414: ("UriTooLong", "The URL (path and query string) is longer than the gateway reads "
                        "(gateway/app.py MAX_URL_LENGTH)."),
    429: ("TooManyRequests", "A public endpoint asked too often from this address; "
                             "`Retry-After` says when to ask again."),
    502: ("UpstreamError", "A service failed while handling the request."),
    503: ("ServiceUnavailable", "A service or the message broker is not reachable."),
    504: ("UpstreamTimeout", "A service did not answer in time."),
}

_PATH_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_PATH_VARIABLE_OPENAPI = re.compile(r"{([^{}]+)}")
_METHODS = ("get", "post", "put", "patch", "delete")


def _version():
    try:
        from importlib.metadata import version

        return version("wushe")
    except Exception:  # noqa: BLE001 - not installed: a source checkout
        return "0.1.0"


def openapi_path(rule):
    return _PATH_VARIABLE.sub(r"{\1}", rule)


class _Plugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, plus what its field and schema mapping cannot see.

    - a validator apispec does not know (a function, a custom class) publishes its
      constraint as an `openapi` attribute: {"pattern": ...}, {"minimum": ...};
    - a schema whose `@validates_schema` adds a rule publishes it as the class
      attribute `OPENAPI` ({"minProperties": 1} for "give at least one of ...").
    """

    def init_spec(self, spec):
        super().init_spec(spec)
        self.converter.add_attribute_function(_validator_properties)

    def schema_helper(self, name, _, schema=None, **kwargs):
        result = super().schema_helper(name, _, schema=schema, **kwargs)
        cls = schema if isinstance(schema, type) else type(schema)
        extra = getattr(cls, "OPENAPI", None)
        if result is not None and extra:
            result.update(copy.deepcopy(extra))
        return result


def _validator_properties(self, field, ret=None, **kwargs):
    properties = {}
    for validator in getattr(field, "validators", ()):
        if isinstance(validator, validate.Range):  # apispec drops the exclusiveness
            if validator.min is not None and not validator.min_inclusive:
                properties["exclusiveMinimum"] = True
            if validator.max is not None and not validator.max_inclusive:
                properties["exclusiveMaximum"] = True
        if isinstance(validator, validate.Length) and isinstance(field, fields.Dict):
            for key in ("minLength", "maxLength"):  # apispec's, meaningless on an object
                (ret or {}).pop(key, None)
            if validator.min is not None:  # apispec maps Length on lists and strings only
                properties["minProperties"] = validator.min
            if validator.max is not None:
                properties["maxProperties"] = validator.max
        properties.update(copy.deepcopy(getattr(validator, "openapi", None) or {}))
    return properties


def build(app):
    """The OpenAPI document (a dict) of every endpoint of `app`."""
    spec = APISpec(
        title=TITLE, version=_version(), openapi_version="3.0.3",
        plugins=[_Plugin()],
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

    paths, metas = {}, {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = openapi_path(rule.rule)
        for method in sorted(m.lower() for m in rule.methods):
            if method in _METHODS:
                paths.setdefault(path, {})[method] = _operation(rule, meta)
                metas[(path, method)] = meta
    _add_links(paths, metas)
    tag_names = sorted({t for ops in paths.values() for op in ops.values() for t in op["tags"]})
    for name in tag_names:
        spec.tag({"name": name})
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = _nullable_refs(spec.to_dict())
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    # gateway.api.load_query takes `?status=` as absent (plain HTML forms).
                    parameter["allowEmptyValue"] = True
    return document


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
    for name, header in meta.headers.items():
        header = header if isinstance(header, dict) else {"description": header}
        parameters.append({"in": "header", "name": name,
                           "required": bool(header.get("required", False)),
                           "description": header.get("description", ""),
                           "schema": copy.deepcopy(header.get(
                               "schema", HEADER_SCHEMAS.get(name, {"type": "string"})))})
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

    statuses = set(meta.errors) | {414, 502, 503, 504}  # 414: gateway/app.py, any URL
    has_path_vars = bool(_PATH_VARIABLE.search(rule.rule))
    if (meta.body is not None or meta.body_content or meta.query is not None or has_path_vars
            or meta.headers):
        statuses.add(400)
    if has_path_vars:
        statuses.add(404)  # a path id that does not exist (or a variable no route has)
    if meta.body is not None or meta.body_content:
        statuses.add(413)  # MAX_CONTENT_LENGTH (gateway/app.py)
    if meta.roles is not None:
        statuses.update((401, 403))
    else:
        statuses.add(429)
    for status in sorted(statuses):
        name = ERROR_RESPONSES.get(status, (None,))[0]
        if name:
            op["responses"][str(status)] = name  # apispec makes it a $ref
    return op


_ANY_OBJECT = {"type": "object", "nullable": True}


def _nullable_refs(node):
    """apispec writes a nullable Nested as anyOf [{type: object, nullable}, $ref], whose
    first branch admits any object: it is narrowed to null alone."""
    if isinstance(node, list):
        return [_nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_refs(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and _ANY_OBJECT in options:
        node["anyOf"] = [dict(_ANY_OBJECT, enum=[None]) if o == _ANY_OBJECT else o
                         for o in options]
    return node


# ---- links: what a create answers, to the operations that take its id ----

def _response_fields(meta):
    schema = meta.response
    if isinstance(schema, type) and issubclass(schema, Schema):
        schema = schema()
    if isinstance(schema, Schema):
        return {fld.data_key or name for name, fld in schema.dump_fields.items()}
    return set()


def _id_field(variable, fields):
    """The answer field that fills path variable `variable` of a follow-up operation."""
    if variable in fields:
        return variable
    if (variable == "id" or variable.endswith(("_id", "_number", "_code"))) and "id" in fields:
        return "id"
    if variable.endswith("_number") and "number" in fields:
        return "number"
    return None


def _singular(word):
    return word[:-3] + "y" if word.endswith("ies") else word[:-1] if word.endswith("s") else word


def _add_links(paths, metas):
    """OpenAPI links on each 201 answer, generated from the route table.

    A create at path P (say POST /stations, or POST /charity/rounds/{round_id}/applications)
    links to each operation whose path has exactly one variable P has not, filled from
    the answer (`id`, or the field named like the variable), when that path is
        P/{var}...                      (GET /stations/{station_id}, .../transitions),
        /api/v1/public + P/{var}...     (the public page of what was created), or
        any path whose first variable is {<resource>_id}, <resource> the singular of
        P's last segment            (GET /charity/applications/{application_id}/...).
    P's own variables come from the create's request.
    """
    for (path, method), meta in metas.items():
        if meta.status != 201:
            continue
        fields = _response_fields(meta)
        own = _PATH_VARIABLE_OPENAPI.findall(path)
        resource = _singular(path.rstrip("/").rsplit("/", 1)[-1]).replace("-", "_")
        public = "/api/v1/public" + path[len("/api/v1"):]
        links = {}
        for target, operations in paths.items():
            variables = _PATH_VARIABLE_OPENAPI.findall(target)
            new = [v for v in variables if v not in own]
            if len(new) != 1 or target == path:
                continue
            under = target.startswith((path + "/{", public + "/{"))
            named = variables[0] == f"{resource}_id"
            field = _id_field(new[0], fields)
            if field is None or not (under or named):
                continue
            parameters = {name: f"$request.path.{name}" for name in own if name in variables}
            parameters[new[0]] = f"$response.body#/{field}"
            for _method, operation in sorted(operations.items()):
                links[operation["operationId"]] = {"operationId": operation["operationId"],
                                                   "parameters": parameters}
        if links:
            paths[path][method]["responses"]["201"]["links"] = links
