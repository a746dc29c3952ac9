"""Every error the API answers has one shape: {"error": {"code", "message", "fields"}}.

`fields` maps each offending input field to its messages (marshmallow's messages
dict); `details` is added when a service gives more (for example the allowed
transitions of a station). Errors under /api, /healthz, /readyz and /metrics are
JSON; the web pages keep Flask's HTML error pages.
"""
import logging

from flask import g, jsonify, request
from marshmallow import Schema
from marshmallow import fields as f
from nameko.exceptions import BadRequest as NamekoBadRequest
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from services.common.errors import DomainError

log = logging.getLogger("wushe.gateway")

# Error codes for the HTTP statuses werkzeug raises (routing, body size, ...).
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large", 414: "uri_too_long",
    415: "unsupported_media_type", 429: "too_many_requests", 500: "internal_error",
    501: "not_implemented", 502: "upstream_error", 503: "service_unavailable",
    504: "upstream_timeout",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere while handling a request."""

    status = 500
    code = "internal_error"

    def __init__(self, message, fields=None, details=None, status=None, code=None, headers=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def to_dict(self):
        return error_body(self.code, self.message, self.fields, self.details)["error"]


class BadRequest(ApiError):
    status, code = 400, "invalid_input"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message, error="invalid_token", **kwargs):
        # RFC 6750: a missing token gets the bare challenge, a bad one names the error.
        challenge = 'Bearer realm="wushe"'
        if error:
            challenge += f', error="{error}", error_description="{message}"'
        super().__init__(message, headers={"WWW-Authenticate": challenge}, **kwargs)


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class UpstreamError(ApiError):
    status, code = 502, "upstream_error"


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"


class UpstreamTimeout(ApiError):
    status, code = 504, "upstream_timeout"


def error_body(code, message, fields=None, details=None):
    body = {"code": code, "message": message, "fields": fields or {}}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(status, code, message, fields=None, details=None, headers=None):
    response = jsonify(error_body(code, message, fields, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_json():
    """JSON everywhere except the server-rendered pages."""
    path = request.path
    return not (path == "/" or path.startswith("/ui/") or path == "/ui")


def register(app):
    @app.errorhandler(ApiError)
    def _api_error(exc):
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.details,
                              exc.headers)

    @app.errorhandler(DomainError)
    def _domain_error(exc):
        # A service refused: its class says the status, to_dict() the body.
        response = jsonify({"error": exc.to_dict()})
        response.status_code = exc.status
        return response

    @app.errorhandler(NamekoBadRequest)
    def _rpc_contract(exc):
        # MethodNotFound / IncorrectSignature / MalformedRequest: the gateway and the
        # service disagree about a method. That is a fault upstream of the client.
        log.error("RPC contract error: %s: %s", type(exc).__name__, exc,
                  extra={"request_id": g.get("request_id")})
        return error_response(502, "upstream_error", "a service could not take the request; "
                              f"quote request id {g.get('request_id')}")

    @app.errorhandler(RemoteError)
    def _remote_error(exc):
        log.error("service raised %s: %s", exc.exc_type, exc.value,
                  extra={"request_id": g.get("request_id"), "remote_exc_type": exc.exc_type})
        return error_response(502, "upstream_error",
                              "a service failed while handling the request; "
                              f"quote request id {g.get('request_id')}")

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if getattr(exc, "response", None) is not None:
            return exc.response  # already in our shape (e.g. gateway/ratelimit.py's 429)
        if not wants_json():
            return exc
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        message = exc.description or exc.name
        if status == 404:
            message = f"no such resource: {request.path}"
        elif status == 405:
            message = f"method {request.method} not allowed for {request.path}"
        fields = {}
        if status == 400:
            fields = {"_schema": [message]}
        return error_response(status, code, message, fields, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        if not wants_json():
            return "internal error", 500
        return error_response(500, "internal_error",
                              f"internal error; quote request id {g.get('request_id')}")


class ErrorDetailSchema(Schema):
    code = f.String(required=True, metadata={"example": "invalid_input"})
    message = f.String(required=True)
    # data_key: a field may not be called "fields" on a marshmallow Schema.
    field_messages = f.Dict(keys=f.String(), data_key="fields", metadata={
        "description": "Each offending input field and its messages; `_schema` for the "
                       "body as a whole."})
    details = f.Dict(keys=f.String(), metadata={
        "description": "More about the refusal, e.g. `allowed` transitions on a 409."})


class ErrorSchema(Schema):
    error = f.Nested(ErrorDetailSchema, required=True)
