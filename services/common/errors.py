"""Domain errors that cross RPC intact.

nameko serialises an exception by type and args; registering these classes with
`deserialize_to_instance` makes the gateway receive the same class back, so it
can answer with the right status and the offending fields.
"""
from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None, details=None):
        super().__init__(message, fields or {}, details or {})
        self.message = message
        self.fields = fields or {}
        self.details = details or {}

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
