"""The webhooks service's own settings (environment, read through services.common.config.env).

  WEBHOOKS_SECRET_KEY              Fernet key (urlsafe base64 of 32 bytes) that encrypts the
                                   subscriptions' signing secrets at rest; a development
                                   key by default. WEBHOOKS_SECRET_KEY_PREVIOUS still
                                   decrypts during a rotation.
  WEBHOOKS_ALLOWED_NETWORKS        CIDR list (comma separated) of otherwise refused addresses
                                   (private, loopback, ...) a receiver may have; empty by
                                   default. Plain http is accepted only inside these.
  WEBHOOKS_BACKOFF_BASE_SECONDS    first retry waits up to this (default 10), doubling
  WEBHOOKS_BACKOFF_MAX_SECONDS     the longest wait between attempts (default 3600)
  WEBHOOKS_GIVE_UP_AFTER_SECONDS   a delivery failing this long after its first attempt
                                   pauses its subscription (default 86400: 24 h)
  WEBHOOKS_TIMEOUT_SECONDS         per attempt: connect and read timeout (default 10)
  WEBHOOKS_CONCURRENCY             deliveries in flight per subscription (default 4)
  WEBHOOKS_POLL_SECONDS            how often the sender looks for due deliveries (default 1)
"""
import base64
import hashlib
import ipaddress

from services.common import config

_DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"wushe-local-development-webhooks-key-change-me").digest()).decode()


def _number(name, default, kind=float, minimum=0):
    value = config.env(name, str(default))
    try:
        number = kind(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, got {value!r}")
    if number < minimum:
        raise RuntimeError(f"{name} must be at least {minimum}, got {number}")
    return number


def secret_keys():
    """The encryption key first, then one still accepted while it is rotated out."""
    current = config.env("WEBHOOKS_SECRET_KEY", _DEVELOPMENT_KEY)
    previous = config.env("WEBHOOKS_SECRET_KEY_PREVIOUS")
    return [current] + ([previous] if previous else [])


def allowed_networks():
    text = config.env("WEBHOOKS_ALLOWED_NETWORKS", "")
    try:
        return [ipaddress.ip_network(part.strip(), strict=False)
                for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise RuntimeError(f"WEBHOOKS_ALLOWED_NETWORKS must be a CIDR list: {exc}")


def backoff_base():
    return _number("WEBHOOKS_BACKOFF_BASE_SECONDS", 10, minimum=0.01)


def backoff_max():
    return _number("WEBHOOKS_BACKOFF_MAX_SECONDS", 3600, minimum=0.01)


def give_up_after():
    return _number("WEBHOOKS_GIVE_UP_AFTER_SECONDS", 86400, minimum=0.1)


def timeout():
    return _number("WEBHOOKS_TIMEOUT_SECONDS", 10, minimum=0.1)


def concurrency():
    return _number("WEBHOOKS_CONCURRENCY", 4, kind=int, minimum=1)


def poll_seconds():
    return _number("WEBHOOKS_POLL_SECONDS", 1, minimum=0.05)
