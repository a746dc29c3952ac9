"""CloudEvents 1.0 envelopes and the service's event exchanges.

Every fact a service publishes is one JSON document in CloudEvents' structured
form, on the nameko events exchange of its service (`registry.events`, ...),
with the event type as routing key, so nameko handlers and plain AMQP consumers
bind to it alike.
"""
import uuid

from kombu import Exchange

from services.common.clock import rfc3339, utcnow

SPEC_VERSION = "1.0"


def event_type(service, name, version=1):
    """`wushe.registry.station.opened.v1` from ("registry", "station.opened")."""
    return f"wushe.{service}.{name}.v{version}"


def source_of(service):
    return f"/wushe/{service}"


def exchange_name(service):
    return f"{service}.events"


def events_exchange(service):
    # Declared exactly as nameko declares its event exchanges, so both agree.
    return Exchange(exchange_name(service), type="topic", durable=True, delivery_mode=2)


def cloud_event(service, name, subject, data, correlation_id=None, time=None, version=1):
    event = {
        "specversion": SPEC_VERSION,
        "id": str(uuid.uuid4()),
        "source": source_of(service),
        "type": event_type(service, name, version),
        "time": rfc3339(time or utcnow()),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }
    if correlation_id:
        # CloudEvents extension attribute: the request that caused this fact.
        event["correlationid"] = correlation_id
    return event


def idempotency_key(event):
    """CloudEvents makes source + id unique across all producers."""
    return f"{event['source']}#{event['id']}"
