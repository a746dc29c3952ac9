"""What the gateway no longer pays on every request (issue 14, docs/gateway-performance.md)."""
import importlib
import sys

import pytest

from gateway.app import create_app
from gateway.testing import TEST_SECRET, FakeRpc, auth_header


def test_kombu_connections_skip_the_librabbitmq_probe():
    import kombu

    import gateway.rpc  # noqa: F401  (sets the marker)

    with pytest.raises(ImportError):
        import librabbitmq  # noqa: F401
    # The transport kombu picks for amqp:// is still py-amqp.
    connection = kombu.Connection("amqp://guest:guest@127.0.0.1:1/")
    assert connection.transport_cls == "amqp"
    assert type(connection.transport).__module__ == "kombu.transport.pyamqp"


def test_gunicorn_builds_no_access_line(monkeypatch):
    """The app writes its own access line; gunicorn's would be built and dropped."""
    monkeypatch.delenv("GATEWAY_WORKERS", raising=False)
    sys.modules.pop("gateway.gunicorn_conf", None)
    conf = importlib.import_module("gateway.gunicorn_conf")
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("logconfig_dict", conf.logconfig_dict)
    logger = conf.logger_class(cfg)
    logger.atoms = lambda *args: pytest.fail("gunicorn built an access line")
    logger.access(None, None, {}, None)


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("PUBLIC_RATE_LIMIT", "5 per minute")
    rpc = FakeRpc()
    rpc.answer("registry", "get_station", {"id": "340102001-01", "checklist": {}})
    rpc.answer("volunteer", "verify_certificate", {"number": "ZYZM-2026-00000001"})
    app = create_app(rpc=rpc, services=[], settings={"TESTING": True})
    return app, app.test_client()


def test_only_public_endpoints_reach_the_rate_limiter(client):
    """Flask-Limiter's check before every request is gone; the budgets still hold."""
    from gateway import ratelimit

    app, http = client
    assert ratelimit.limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    for _ in range(8):
        assert http.get("/api/v1/stations/340102001-01",
                        headers=auth_header("county_officer", "340102")).status_code == 200
    for _ in range(5):
        assert http.get("/api/v1/public/certificates/ZYZM-2026-00000001").status_code == 200
    assert http.get("/api/v1/public/certificates/ZYZM-2026-00000001").status_code == 429
