"""What every wushe service shares: configuration, errors, the Mongo connection,
CloudEvents with a transactional outbox, idempotent inboxes, the broker topology,
and observability (JSON logs, Prometheus metrics, health)."""
