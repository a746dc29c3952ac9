"""Configuration from the environment, with defaults that work for `make up`.

Everything a process needs is read here, so the set of variables an operator
can set is in one place (README and deploy/k8s list the same names).
"""
import os

# The services themselves are found, not listed: services.common.catalog.

LOCAL_MONGO_PORT = 27027


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def amqp_uri():
    return env("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")


def management_url():
    """RabbitMQ's HTTP management API, for `wushe consumers` (docs/consumers.md)."""
    return env("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672").rstrip("/")


def mongo_uri():
    # retryWrites=false and directConnection=true are for the local Mongo-wire
    # server (see docs/mongo-wire-server.md); production URIs come from the MongoDB operator.
    return env(
        "MONGO_URI",
        f"mongodb://127.0.0.1:{LOCAL_MONGO_PORT}/?retryWrites=false&directConnection=true",
    )


def database_name(service):
    return env(f"{service.upper()}_MONGO_DB", f"wushe_{service}")


def http_bind(service):
    from services.common import catalog

    return env("WUSHE_HTTP_BIND", f"127.0.0.1:{catalog.local_http_port(service)}")


def rpc_timeout():
    return float(env("RPC_TIMEOUT", "30"))


def log_level():
    return env("LOG_LEVEL", "INFO").upper()


def token_secrets():
    """The signing secret first, then one still accepted while it is rotated out."""
    current = env("TOKEN_SECRET", "wushe-local-development-secret-change-me")
    previous = env("TOKEN_SECRET_PREVIOUS")
    return [current] + ([previous] if previous else [])


def gateway_bind():
    return env("GATEWAY_BIND", "127.0.0.1:8000")


def outbox_relay_enabled():
    # Off only to prove the outbox in tests: writes then stay unpublished
    # until a process with the relay on starts.
    return env("OUTBOX_RELAY", "on") != "off"


def nameko_config(service):
    from services.common.logs import logging_config

    return {
        "AMQP_URI": amqp_uri(),
        "WEB_SERVER_ADDRESS": http_bind(service),
        "max_workers": int(env("MAX_WORKERS", "10")),
        "serializer": "json",
        "LOGGING": logging_config(log_level()),
    }
