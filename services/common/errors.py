"""Domain errors that cross RPC intact, whichever service raised them.

nameko serialises an exception by its class path and args, and gives the
caller an instance back only for classes registered with
`deserialize_to_instance` in the caller's process. The kit's classes below are
registered (the gateway imports this module); a service's own subclass (say a
charity `InsufficientFunds`) is sent as a plain `DomainError` carrying its
status and code (see `for_the_wire`, applied by services.common.service.rpc),
so the gateway answers it rightly without importing the service's rules.
"""
import json

from nameko.exceptions import deserialize_to_instance
from pymongo.errors import OperationFailure


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


@deserialize_to_instance
class DomainError(Exception):
    """A refusal the caller should see: an HTTP status, a code, a message and the fields."""

    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None, details=None, status=None, code=None):
        self.message = message
        self.fields = _decoded(fields)
        self.details = _decoded(details)
        if status not in (None, "", "None"):
            self.status = int(status)
        if code not in (None, "", "None"):
            self.code = code
        # nameko turns every non-string arg into a string on the way (5 -> "5",
        # None -> "None"); as JSON text, fields and details keep their types.
        super().__init__(message, json.dumps(self.fields, ensure_ascii=False, default=str),
                         json.dumps(self.details, ensure_ascii=False, default=str),
                         str(self.status), self.code)

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


@deserialize_to_instance
class PayloadTooLarge(DomainError):
    """More rows or bytes than one request may carry."""

    status = 413
    code = "payload_too_large"


@deserialize_to_instance
class Expired(DomainError):
    """The caller stopped waiting before the service took the request up."""

    status = 504
    code = "expired"


WIRE_CLASSES = (DomainError, InvalidInput, Forbidden, NotFound, Conflict, PayloadTooLarge, Expired)


def for_the_wire(exc):
    """The error as a class every caller can deserialise, status and code kept."""
    if type(exc) in WIRE_CLASSES:
        return exc
    return DomainError(exc.message, exc.fields, exc.details, exc.status, exc.code)


def from_validation_error(exc):
    """A marshmallow ValidationError as InvalidInput naming every field."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    names = ", ".join(sorted(messages)) or "body"
    return InvalidInput(f"invalid input: {names}", fields=messages)


def write_conflict(message):
    """An error `with_transaction` retries, as it does the server's own write conflicts:
    raised where two transactions raced on one document and the loser must run again."""
    return OperationFailure(message, code=112, details={
        "ok": 0, "code": 112, "codeName": "WriteConflict", "errmsg": message,
        "errorLabels": ["TransientTransactionError"]})
