"""Prometheus metrics every process exposes at /metrics."""
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

WORKER_LATENCY = Histogram(
    "wushe_worker_duration_seconds",
    "Time to run one RPC call, event handler or HTTP request inside a service.",
    ["service", "entrypoint", "kind", "outcome"],
)
EVENTS_PUBLISHED = Counter(
    "wushe_events_published_total", "Events relayed from the outbox to the broker.",
    ["service", "type"],
)
EVENTS_HANDLED = Counter(
    "wushe_events_handled_total",
    "Events taken from a service's inbox; outcome is applied, duplicate, ignored or failed.",
    ["service", "type", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "wushe_events_dead_lettered_total",
    "Events that failed on their last allowed delivery and went to the dead-letter queue.",
    ["service", "type"],
)
OUTBOX_PENDING = Gauge("wushe_outbox_pending", "Events recorded but not yet published.", ["service"])
OUTBOX_LAG = Gauge(
    "wushe_outbox_lag_seconds", "Age of the oldest event not yet published (0 when none).",
    ["service"],
)
INBOX_BATCH_SIZE = Histogram(
    "wushe_inbox_batch_size", "Deliveries applied together in one inbox transaction.",
    ["service"], buckets=(1, 2, 4, 8, 16, 32, 64),
)
# Round trips to the database, by command: what one change costs (bench/eventpath.py,
# docs/capacity.md).
MONGO_COMMANDS = Counter(
    "wushe_mongo_commands_total", "Commands this process sent to MongoDB (one round trip each).",
    ["database", "command"],
)


def exposition():
    """(body, content type) of the current metrics."""
    return generate_latest(), CONTENT_TYPE_LATEST
