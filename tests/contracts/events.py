"""Every event a test run caused, checked against the AsyncAPI document.

Each platform the tests start (tests/fixtures.py) is checked when it stops:
every entry of every service's outbox (the events its commands committed,
which the relay publishes as they are) must validate against the message
schema that the AsyncAPI document declares for its type. A failure names the
event type, the event id and what does not match.
"""
import json
import os

import jsonschema

from services.common import asyncapi, catalog

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_SCHEMA = os.path.join(HERE, "asyncapi-specs", "3.0.0-without-id.json")


def specification_validator():
    """A validator of AsyncAPI 3.0.0 documents, from the specification's own schema."""
    with open(SPEC_SCHEMA, encoding="utf-8") as f:
        return jsonschema.Draft7Validator(json.load(f))


def event_problems(document, event):
    """What is wrong with one event by the document: [] when it validates."""
    schema = asyncapi.message_schema(document, event.get("type"))
    if schema is None:
        return [f"{event.get('type')} {event.get('id')}: a type the document does not declare"]
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{event.get('type')} {event.get('id')}: {'/'.join(map(str, error.absolute_path))}: "
            f"{error.message}" for error in validator.iter_errors(event)]


def check_outboxes(client, database_of, document=None):
    """(events checked, problems) over every service's outbox of one platform."""
    document = document or asyncapi.build()
    checked, problems = 0, []
    for service in catalog.names():
        for entry in client[database_of(service)].outbox.find({}, {"event": 1}):
            checked += 1
            problems.extend(event_problems(document, entry["event"]))
    return checked, problems
