"""gunicorn settings for the gateway: `gunicorn -c python:gateway.gunicorn_conf gateway.wsgi:app`.

gthread workers: each worker process runs GATEWAY_THREADS threads, and each
thread keeps its own long-lived RPC client (gateway/rpc.py), made after the fork.
The app is not preloaded, so nothing touches the broker before forking.

Environment: GATEWAY_BIND (host:port, default 127.0.0.1:8000), GATEWAY_WORKERS
(2), GATEWAY_THREADS (4), GATEWAY_TIMEOUT (seconds a request may take, 60),
GATEWAY_GRACEFUL_TIMEOUT (seconds to finish requests on SIGTERM, 30), LOG_LEVEL,
PROMETHEUS_MULTIPROC_DIR (set it for /metrics to cover every worker).
"""
import glob as _glob
import os as _os

from gunicorn.glogging import Logger as _GunicornLogger

# Imported under other names: gunicorn reads every module-level name as a setting
# (a `config` here would be taken for its --config option).
from services.common import config as _wushe_config
from services.common.logs import logging_config as _logging_config

bind = [b.strip() for b in _wushe_config.gateway_bind().split(",") if b.strip()]
worker_class = "gthread"
workers = int(_wushe_config.env("GATEWAY_WORKERS", "2"))
threads = int(_wushe_config.env("GATEWAY_THREADS", "4"))
# A request waits at most RPC_TIMEOUT for a service; leave room above it.
timeout = int(_wushe_config.env("GATEWAY_TIMEOUT", str(int(_wushe_config.rpc_timeout()) + 30)))
graceful_timeout = int(_wushe_config.env("GATEWAY_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# gunicorn's own refusal of a long request line is an HTML page; up to its
# maximum, the app's JSON 414 (over 4,000 characters, gateway/app.py) answers.
limit_request_line = 8190
preload_app = False
proc_name = "wushe-gateway"
# No control socket: several gunicorns on one machine would share its default path.
control_socket_disable = True

# JSON lines on stdout, like the services. The app writes its own access line
# (with request id, route and caller), so gunicorn's access log stays off.
loglevel = _wushe_config.log_level().lower()
accesslog = None
_logging = _logging_config(_wushe_config.log_level())
_logging["loggers"].update({
    "gunicorn.error": {"level": _wushe_config.log_level(), "handlers": [], "propagate": True},
    "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
})
logconfig_dict = _logging


class _NoAccessLog(_GunicornLogger):
    """gunicorn builds its access line for every request whenever logconfig_dict is
    set (about 0.1 ms), only for the WARNING level above to drop it: skip it."""

    def access(self, resp, req, environ, request_time):
        pass


logger_class = _NoAccessLog


def _multiproc_dir():
    return _os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def on_starting(server):
    """Start with an empty metrics directory: old workers' files would add up."""
    directory = _multiproc_dir()
    if directory:
        _os.makedirs(directory, exist_ok=True)
        for path in _glob.glob(_os.path.join(directory, "*.db")):
            _os.remove(path)


def child_exit(server, worker):
    """Tell prometheus_client a worker is gone (its live gauges drop out)."""
    if _multiproc_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Close this worker's RPC connections."""
    rpc = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("wushe.rpc")
    if rpc is not None and hasattr(rpc, "close"):
        rpc.close()
