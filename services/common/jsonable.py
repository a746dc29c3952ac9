"""RPC answers and event data as plain JSON types.

kombu's JSON would turn datetimes into tagged objects the gateway then has to
unpack; services answer with what the HTTP API shows instead: instants as
RFC 3339 in UTC with `Z` (services.common.clock), civil dates as YYYY-MM-DD,
Decimal128 as its decimal string.
"""
import datetime
import decimal
import uuid

from bson.decimal128 import Decimal128

from services.common.clock import rfc3339


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime.datetime):
        return rfc3339(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    return value
