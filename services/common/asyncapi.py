"""The AsyncAPI 3.0 document of the whole platform, generated from the contracts.

One channel per service: its topic exchange `<service>.events` (AMQP 0-9-1
channel binding), carrying every message its contract declares. One `send`
operation per event type, whose AMQP binding names the routing key (the
CloudEvents type) and persistent delivery. Each message's payload is the
CloudEvents 1.0 envelope (structured mode, JSON) with `data` of the declared
schema; the data schemas are JSON Schema generated from the same marshmallow
declarations that check every event before it enters the outbox.

Served at GET /api/v1/asyncapi.json and printed by `wushe asyncapi`.
"""
import copy
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.common import catalog, events, inbox

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
DESCRIPTION = (
    "Facts published by the wushe (五社联动) services. Every message is a CloudEvents 1.0 "
    "JSON document in structured mode, published on the service's topic exchange with its "
    "type as routing key and its id as AMQP `message_id`. Delivery is at least once: use "
    "`source` + `id` to drop duplicates. Each consuming system is given its own queue "
    "`ext.<name>`, bound by the platform to the types or patterns (such as "
    "`wushe.registry.station.#`) it asked for (docs/consumers.md); its user can only read "
    "that queue.\n\n"
    "Versioning: adding a field to `data` is not breaking, so readers ignore fields they "
    "do not know. A breaking change is a new type `.v2`, published beside `.v1` until "
    "consumers have moved.")


def _component_name(spec):
    return "".join(part.capitalize() for part in re.split(r"[._]", spec.key))


def _schema_name(schema):
    """`RegistryStatusChange`: the owning service's name before the class name, so two
    services' schemas of one name never collide."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    owner = parts[1].capitalize() if len(parts) > 1 and parts[0] == "services" else ""
    name = cls.__name__
    return name if name.startswith(owner) else owner + name


def envelope(spec, data_ref):
    """The CloudEvents envelope of one event type, as JSON Schema."""
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "subject",
                     "datacontenttype", "data"],
        "properties": {
            "specversion": {"type": "string", "const": events.SPEC_VERSION},
            "id": {"type": "string", "minLength": 1, "description": "Unique per source."},
            "source": {"type": "string", "const": events.source_of(spec.service)},
            "type": {"type": "string", "const": spec.type},
            "time": {"type": "string", "format": "date-time",
                     "description": "When the fact was recorded, RFC 3339 in UTC (`Z`)."},
            "subject": {"type": "string", "description": f"The {spec.subject}."},
            "datacontenttype": {"type": "string", "const": "application/json"},
            "correlationid": {"type": "string", "description":
                              "Extension: the request id (X-Request-Id) that caused the fact."},
            "data": {"$ref": data_ref},
        },
        "additionalProperties": False,
    }


def build(contracts=None, version="1.0.0"):
    contracts = catalog.contracts() if contracts is None else contracts
    schemas_spec = APISpec(title="wushe events", version=version, openapi_version="3.1.0",
                           plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)])
    channels, operations, messages, data_names = {}, {}, {}, {}
    for contract in contracts:
        channel_id = f"{contract.service}Events"
        channel_messages = {}
        for spec in contract.specs:
            name = _component_name(spec)
            data_name = data_names.get(spec.data)
            if data_name is None:  # one component per schema class, shared by its events
                data_name = data_names[spec.data] = _schema_name(spec.data)
                schemas_spec.components.schema(data_name, schema=spec.data)
            messages[name] = {
                "name": spec.type,
                "title": spec.type,
                "summary": spec.summary,
                "contentType": "application/json",
                "payload": envelope(spec, f"#/components/schemas/{data_name}"),
                "bindings": {"amqp": {"messageType": spec.type,
                                      "bindingVersion": AMQP_BINDING_VERSION}},
            }
            if spec.description:
                messages[name]["description"] = spec.description
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
            operations[f"{contract.service}.{spec.key}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": spec.summary,
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
                "bindings": {"amqp": {"cc": [spec.type], "deliveryMode": 2,
                                      "bindingVersion": AMQP_BINDING_VERSION}},
            }
        channels[channel_id] = {
            "address": contract.exchange,
            "title": f"{contract.service} events",
            "description": f"Topic exchange `{contract.exchange}`; routing key = event type.",
            "messages": channel_messages,
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": contract.exchange, "type": "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION}},
        }
    # apispec's OpenAPI 3.1 output is JSON Schema (nullable as type [X, "null"]).
    schemas = copy.deepcopy(schemas_spec.to_dict().get("components", {}).get("schemas", {}))
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "wushe 五社联动 events", "version": version, "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {"broker": {
            "host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0-9-1",
            "description": "The platform's RabbitMQ; each consuming system gets its own user "
                           f"and queue. Failed deliveries to platform inboxes go to "
                           f"`{inbox.DEAD_LETTER_QUEUE}`."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def message_schema(document, event_type):
    """A self-contained JSON Schema of one event type (refs resolved inside), for checking."""
    for message in document["components"]["messages"].values():
        if message["name"] == event_type:
            return {**message["payload"], "components": document["components"]}
    return None
