"""The accounts service's own settings (environment, read through services.common.config.env).

  ACCESS_TOKEN_TTL_MINUTES         lifetime of an access token (default 15); a revoked
                                   session stays in the gateways' revocation view this long
  REFRESH_TOKEN_TTL_HOURS          lifetime of a refresh token; each use gives a new one
                                   (default 12)
  PASSWORD_CHANGE_TOKEN_TTL_MINUTES  lifetime of the token a forced password change gets
                                   (default 10)
  TEMPORARY_PASSWORD_TTL_HOURS     how long a temporary password (new account, reset) signs
                                   in (default 72)
  SIGNIN_FREE_FAILURES             consecutive failures before each attempt must wait
                                   (default 3)
  SIGNIN_DELAY_SECONDS             the first wait; it doubles with every further failure
                                   (default 1), at most SIGNIN_DELAY_MAX_SECONDS (60)
  SIGNIN_LOCK_FAILURES             consecutive failures that lock the login (default 5)
  SIGNIN_LOCK_MINUTES              how long it stays locked (default 15)
  PASSWORD_HASH_CONCURRENCY        Argon2id hashes at once per process (default 2: each
                                   takes 64 MiB; the pod's limit is 384 MiB)
"""
from services.common import config


def _number(name, default, kind=int, minimum=0):
    value = config.env(name, str(default))
    try:
        number = kind(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a number, got {value!r}")
    if number < minimum:
        raise RuntimeError(f"{name} must be at least {minimum}, got {number}")
    return number


def access_token_seconds():
    return _number("ACCESS_TOKEN_TTL_MINUTES", 15, minimum=1) * 60


def refresh_token_seconds():
    return _number("REFRESH_TOKEN_TTL_HOURS", 12, minimum=1) * 3600


def password_change_token_seconds():
    return _number("PASSWORD_CHANGE_TOKEN_TTL_MINUTES", 10, minimum=1) * 60


def temporary_password_seconds():
    return _number("TEMPORARY_PASSWORD_TTL_HOURS", 72, minimum=1) * 3600


def free_failures():
    return _number("SIGNIN_FREE_FAILURES", 3)


def first_delay_seconds():
    return _number("SIGNIN_DELAY_SECONDS", 1, kind=float)


def max_delay_seconds():
    return _number("SIGNIN_DELAY_MAX_SECONDS", 60, kind=float)


def lock_failures():
    return _number("SIGNIN_LOCK_FAILURES", 5, minimum=1)


def lock_seconds():
    return _number("SIGNIN_LOCK_MINUTES", 15, kind=float) * 60


def hash_concurrency():
    return _number("PASSWORD_HASH_CONCURRENCY", 2, minimum=1)
