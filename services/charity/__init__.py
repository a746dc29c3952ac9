"""The charity service (社区慈善资源): community charity funds, their double-entry ledger,
donations and receipts, disbursements, micro-charity venture rounds and projects,
government-purchased service contracts, and the public report of every fund."""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8103
