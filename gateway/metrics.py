"""The gateway's Prometheus metrics.

Under gunicorn each worker is a process; with PROMETHEUS_MULTIPROC_DIR set,
prometheus_client writes every process's values to files there and /metrics
reads them all (gunicorn_conf marks a dead worker's files with `child_exit`).
The variable must be set before the first import of prometheus_client.
"""
import os

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0)

HTTP_REQUESTS = Counter(
    "wushe_http_requests_total", "HTTP requests answered by the gateway.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "wushe_http_request_duration_seconds", "Time to answer one HTTP request in the gateway.",
    ["method", "route"], buckets=_LATENCY_BUCKETS,
)
RPC_DURATION = Histogram(
    "wushe_rpc_client_duration_seconds", "Time of one RPC call from the gateway to a service.",
    ["service", "method"], buckets=_LATENCY_BUCKETS,
)
RPC_ERRORS = Counter(
    "wushe_rpc_client_errors_total",
    "RPC calls from the gateway that got no answer; kind is timeout, unknown_service, "
    "broker or reply_lost.",
    ["service", "method", "kind"],
)


def exposition():
    """(body, content type) of the metrics of this process, or of every worker."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
