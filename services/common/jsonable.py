"""RPC answers as plain JSON types: dates and times become ISO 8601 strings.

kombu's JSON would turn datetimes into tagged objects the gateway then has to
unpack; services answer with what the HTTP API shows instead.
"""
import datetime


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat().replace("+00:00", "Z")
    return value
