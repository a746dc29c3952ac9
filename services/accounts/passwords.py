"""Password hashing with Argon2id (argon2-cffi), and temporary passwords.

Hashes use argon2-cffi's default parameters (RFC 9106's low-memory profile:
t=3, m=64 MiB, p=4); a hash made with older parameters is replaced at the next
sign-in (`needs_rehash`). Hashing takes tens of milliseconds of CPU: under
eventlet it runs in a real thread (eventlet.tpool), so the service's other
workers and its broker heartbeats go on meanwhile, and at most
PASSWORD_HASH_CONCURRENCY run at once, so a burst of sign-ins cannot take the
pod past its memory limit.

Nothing here logs, and nothing returns a password except `temporary_password`,
whose answer is shown once to the administrator who asked for it.
"""
import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.accounts import password_rules, settings

_HASHER = PasswordHasher(type=Type.ID)
_SLOTS = threading.BoundedSemaphore(settings.hash_concurrency())
_DUMMY = {}

# No 0/O, 1/l/I: a temporary password is read aloud or copied from a screen.
_LOWER, _UPPER, _DIGITS, _SYMBOLS = "abcdefghijkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", \
    "23456789", "-_.!@#%+="
TEMPORARY_LENGTH = 16


def _off_the_hub(fn, *args):
    """Run fn in a real thread when the process is green (nameko), else here."""
    with _SLOTS:
        try:
            from eventlet import patcher, tpool
        except ImportError:  # pragma: no cover - eventlet comes with nameko
            return fn(*args)
        if patcher.is_monkey_patched("thread"):
            return tpool.execute(fn, *args)
        return fn(*args)


def hash_password(password):
    return _off_the_hub(_HASHER.hash, password)


def _verify(stored, password):
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash():
    # Checking an unknown login costs what checking a known one does, so the
    # time of the answer does not tell which logins exist.
    if "hash" not in _DUMMY:
        _DUMMY["hash"] = _HASHER.hash(secrets.token_urlsafe(24))
    return _DUMMY["hash"]


def verify(stored, password):
    """True if `password` matches the stored hash; None as `stored` (no such account) is
    checked against a dummy hash and answers False."""
    if not isinstance(password, str):
        return False
    if stored is None:
        _off_the_hub(_verify, _dummy_hash(), password)
        return False
    return _off_the_hub(_verify, stored, password)


def needs_rehash(stored):
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def temporary_password(login=""):
    """A random password meeting password_rules, to be changed at the first sign-in."""
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    while True:
        chars = [secrets.choice(group) for group in (_LOWER, _UPPER, _DIGITS, _SYMBOLS)]
        chars += [secrets.choice(alphabet) for _ in range(TEMPORARY_LENGTH - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        if not password_rules.problems(candidate, login):
            return candidate
