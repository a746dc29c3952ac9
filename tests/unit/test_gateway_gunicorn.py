"""gateway/gunicorn_conf.py: settings from the environment and the server hooks."""
import importlib
import sys

import pytest


def load_conf(monkeypatch, **env):
    for name in ("GATEWAY_BIND", "GATEWAY_WORKERS", "GATEWAY_THREADS", "GATEWAY_TIMEOUT",
                 "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("gateway.gunicorn_conf", None)
    return importlib.import_module("gateway.gunicorn_conf")


def test_defaults(monkeypatch):
    conf = load_conf(monkeypatch)
    assert conf.bind == ["127.0.0.1:8000"]
    assert conf.worker_class == "gthread"
    assert (conf.workers, conf.threads) == (2, 4)
    assert conf.preload_app is False  # proxies are made after the fork
    assert conf.graceful_timeout > 0 and conf.timeout > 30
    assert conf.control_socket_disable is True
    loggers = conf.logconfig_dict["loggers"]
    assert loggers["gunicorn.error"]["handlers"] == []
    assert conf.logconfig_dict["formatters"]["json"]["()"].endswith("JsonFormatter")


def test_environment(monkeypatch):
    conf = load_conf(monkeypatch, GATEWAY_BIND="0.0.0.0:9000", GATEWAY_WORKERS="3",
                     GATEWAY_THREADS="8")
    assert conf.bind == ["0.0.0.0:9000"]
    assert (conf.workers, conf.threads) == (3, 8)


def test_no_setting_named_by_accident(monkeypatch):
    """gunicorn takes every module-level name that matches a setting."""
    from gunicorn.config import KNOWN_SETTINGS

    conf = load_conf(monkeypatch)
    settings = {s.name for s in KNOWN_SETTINGS}
    intended = {"bind", "worker_class", "workers", "threads", "timeout", "graceful_timeout",
                "keepalive", "limit_request_line", "preload_app", "proc_name", "control_socket_disable", "loglevel",
                "accesslog", "logconfig_dict", "logger_class", "on_starting", "child_exit", "worker_exit"}
    assert {n for n in vars(conf) if n in settings} == intended


def test_multiprocess_hooks(monkeypatch, tmp_path):
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"))
    conf.on_starting(None)
    (tmp_path / "prom" / "counter_1.db").write_bytes(b"")
    conf.on_starting(None)
    assert list((tmp_path / "prom").iterdir()) == []
    marked = []
    from prometheus_client import multiprocess

    monkeypatch.setattr(multiprocess, "mark_process_dead", marked.append)
    conf.child_exit(None, type("Worker", (), {"pid": 4242})())
    assert marked == [4242]


def test_worker_exit_closes_rpc(monkeypatch):
    from gateway.app import create_app
    from gateway.testing import FakeRpc

    conf = load_conf(monkeypatch)
    rpc = FakeRpc()
    worker = type("Worker", (), {"wsgi": create_app(rpc=rpc)})()
    conf.worker_exit(None, worker)
    assert rpc.closed
