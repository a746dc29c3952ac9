"""Domain errors that cross RPC intact.

nameko serialises an exception by type and args; registering these classes with
`deserialize_to_instance` makes the gateway receive the same class back, so it
can answer with the right status and the offending fields.
"""
import json

from nameko.exceptions import deserialize_to_instance


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None, details=None):
        self.message = message
        self.fields = _decoded(fields)
        self.details = _decoded(details)
        # nameko turns every non-string arg into a string on the way (5 -> "5",
        # None -> "None"); as JSON text, fields and details keep their types.
        super().__init__(message, json.dumps(self.fields, ensure_ascii=False, default=str),
                         json.dumps(self.details, ensure_ascii=False, default=str))

    def __str__(self):
        return self.message

    def to_dict(self):
        body = {"code": self.code, "message": self.message, "fields": self.fields}
        if self.details:
            body["details"] = self.details
        return body


@deserialize_to_instance
class InvalidInput(DomainError):
    """The request is malformed; `fields` maps each bad field to its problems."""

    status = 400
    code = "invalid_input"


@deserialize_to_instance
class Forbidden(DomainError):
    status = 403
    code = "forbidden"


@deserialize_to_instance
class NotFound(DomainError):
    status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(DomainError):
    """The request is well formed but contradicts the current state."""

    status = 409
    code = "conflict"


def from_validation_error(exc):
    """A marshmallow ValidationError as InvalidInput naming every field."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    names = ", ".join(sorted(messages)) or "body"
    return InvalidInput(f"invalid input: {names}", fields=messages)


@deserialize_to_instance
class Expired(DomainError):
    """The caller stopped waiting before the service took the request up."""

    status = 504
    code = "expired"
