"""The gateway's WSGI app: `create_app()`.

    app = create_app()                 # RPC over the broker (AMQP_URI, RPC_TIMEOUT)
    app = create_app(rpc=FakeRpc())    # tests: anything with RpcPool's methods

Routes live in gateway/routes/<service>.py (auto-registered under /api/v1) and
the web pages in gateway/pages. This module adds what every request shares:
the request id, one JSON access log line, metrics, the error shape, /healthz,
/readyz, /metrics and the OpenAPI document.
"""
import logging
import re
import time
import uuid

from flask import Flask, Response, g, render_template, request

from gateway import errors, metrics, openapi, ratelimit, security
from gateway.routes import API_PREFIX, blueprints
from services.common import asyncapi, catalog, config, logs

log = logging.getLogger("wushe.gateway")
access_log = logging.getLogger("wushe.gateway.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
READINESS_TIMEOUT = 2.0
# Longest URL (path and query string) read: longer is a JSON 414 (documented on every
# operation). Below gunicorn's own request-line limit, which answers in HTML.
MAX_URL_LENGTH = 4000


def gateway_services():
    """The services /readyz checks: GATEWAY_SERVICES, a comma list (default: every service)."""
    value = config.env("GATEWAY_SERVICES", ",".join(catalog.names()))
    return [s.strip() for s in value.split(",") if s.strip()]


def create_app(rpc=None, services=None, settings=None):
    """The gateway app.

    rpc: the RPC layer (default: a gateway.rpc.RpcPool on AMQP_URI with RPC_TIMEOUT).
    services: the services /readyz pings (default: GATEWAY_SERVICES).
    settings: extra Flask config (e.g. {"TESTING": True}).
    """
    app = Flask(__name__, template_folder="pages/templates", static_folder="pages/static",
                static_url_path="/ui/static")
    app.config.update(MAX_CONTENT_LENGTH=1024 * 1024, JSON_AS_ASCII=False)
    app.config.update(settings or {})
    app.json.ensure_ascii = False  # Chinese names stay readable
    app.json.sort_keys = False     # keep the services' field order
    app.url_map.strict_slashes = False

    if rpc is None:
        from gateway.rpc import RpcPool

        rpc = RpcPool()
    app.extensions["wushe.rpc"] = rpc
    app.extensions["wushe.services"] = list(services) if services is not None \
        else gateway_services()

    errors.register(app)
    security.register(app)
    ratelimit.register(app)
    _register_request_hooks(app)
    _register_ops(app)
    for _name, bp in blueprints():
        app.register_blueprint(bp, url_prefix=API_PREFIX)

    from gateway.pages import bp as pages

    app.register_blueprint(pages)
    return app


def _register_request_hooks(app):
    @app.before_request
    def _start():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.correlation_token = logs.correlation_id.set(g.request_id)
        url = request.environ.get("RAW_URI") or request.full_path
        if len(url) > MAX_URL_LENGTH:
            return errors.error_response(414, "uri_too_long", f"the URL is {len(url)} "
                                         f"characters long; at most {MAX_URL_LENGTH} are read")

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        started = g.get("started")
        duration = time.perf_counter() - started if started is not None else 0.0
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(request.method, route).observe(duration)
        line = {"request_id": request_id, "method": request.method, "route": route,
                "path": request.path, "status": response.status_code,
                "duration_ms": round(duration * 1000, 2)}
        caller = g.get("caller")
        if caller:  # who, never the token
            line.update(role=caller["role"], region=caller["region"], sub=caller["sub"])
        access_log.info("%s %s %s", request.method, route, response.status_code, extra=line)
        return response

    @app.teardown_request
    def _reset(_exc=None):
        token = g.pop("correlation_token", None)
        if token is not None:
            try:
                logs.correlation_id.reset(token)
            except ValueError:  # set in another context; nothing to undo here
                logs.correlation_id.set(None)


def _register_ops(app):
    @app.get("/healthz")
    def healthz():
        """The process is alive. No I/O."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """The broker is reachable and each service answers ping() within 2 s."""
        rpc = app.extensions["wushe.rpc"]
        services = app.extensions["wushe.services"]
        broker_ok, why = rpc.broker_ok(timeout=READINESS_TIMEOUT)
        body = {"broker": {"status": "ok" if broker_ok else "error"}, "services": {}}
        if not broker_ok:
            body["broker"]["error"] = why
            body["services"] = {s: {"status": "unknown"} for s in services}
        else:
            body["services"] = rpc.ping(services, timeout=READINESS_TIMEOUT,
                                        context={"request_id": g.request_id})
        ready = broker_ok and all(r.get("status") == "ok" for r in body["services"].values())
        body["status"] = "ready" if ready else "not_ready"
        return body, 200 if ready else 503

    @app.get("/metrics")
    def prometheus_metrics():
        data, content_type = metrics.exposition()
        return Response(data, content_type=content_type)

    @app.get(f"{API_PREFIX}/openapi.json")
    def openapi_json():
        document = app.extensions.get("wushe.openapi")
        if document is None:
            document = app.extensions["wushe.openapi"] = openapi.build(app)
        return document

    @app.get(f"{API_PREFIX}/asyncapi.json")
    def asyncapi_json():
        """The AsyncAPI 3.0 document of every event the services publish (no token)."""
        document = app.extensions.get("wushe.asyncapi")
        if document is None:
            document = app.extensions["wushe.asyncapi"] = asyncapi.build()
        return document

    @app.get("/api/docs")
    def api_docs():
        document = app.extensions.get("wushe.openapi")
        if document is None:
            document = app.extensions["wushe.openapi"] = openapi.build(app)
        return render_template("api_docs.html", doc=document)
