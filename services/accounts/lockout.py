"""Repeated sign-in failures: a growing wait, then a lock (collection `sign_in_failures`).

One document per login tried, whether an account has it or not (so an unknown
login behaves like a known one): consecutive failures, the last one, and a lock.

After SIGNIN_FREE_FAILURES failures each attempt must wait SIGNIN_DELAY_SECONDS,
doubling with each further failure (answered 429 with Retry-After, and the
password is not even checked meanwhile); the SIGNIN_LOCK_FAILURES-th failure
locks the login for SIGNIN_LOCK_MINUTES. A success, or an administrator's
password reset, clears it; a lock's end starts the count again.
"""
import datetime
import math

from pymongo.errors import DuplicateKeyError

from services.accounts import errors, settings
from services.common.clock import rfc3339
from services.common.errors import write_conflict

# Kept a day after the last failure, so old failures stop counting by themselves.
MEMORY = datetime.timedelta(days=1)


def ensure_indexes(db):
    db.sign_in_failures.create_index([("expire_at", 1)], expireAfterSeconds=0)


def load(db, login, session=None):
    return db.sign_in_failures.find_one({"_id": login}, session=session) or \
        {"_id": login, "failures": 0, "last_failure_at": None, "locked_until": None}


def delay_seconds(failures):
    """The wait after `failures` consecutive failures (0: none)."""
    over = failures - settings.free_failures()
    if over < 0:
        return 0.0
    return min(settings.first_delay_seconds() * 2 ** over, settings.max_delay_seconds())


def refusal(guard, now):
    """The refusal due before the password is even checked, or None."""
    locked_until = guard.get("locked_until")
    if locked_until is not None and now < locked_until:
        wait = math.ceil((locked_until - now).total_seconds())
        return errors.AccountLocked(wait, rfc3339(locked_until))
    wait = delay_seconds(guard.get("failures", 0))
    last = guard.get("last_failure_at")
    if wait and last is not None:
        retry_at = last + datetime.timedelta(seconds=wait)
        if now < retry_at:
            return errors.SignInDelayed(max(1, math.ceil((retry_at - now).total_seconds())))
    return None


def is_locked(guard, now):
    return guard.get("locked_until") is not None and now < guard["locked_until"]


def fail(tx, guard, now):
    """Count one more failure; returns the new state (locked_until set when it locks)."""
    failures = guard.get("failures", 0)
    if guard.get("locked_until") is not None and now >= guard["locked_until"]:
        failures = 0  # a lock served: count afresh
    failures += 1
    locked_until = None
    if failures >= settings.lock_failures():
        locked_until = now + datetime.timedelta(seconds=settings.lock_seconds())
    new = {"_id": guard["_id"], "failures": failures, "last_failure_at": now,
           "locked_until": locked_until,
           "expire_at": max(now + MEMORY, locked_until or now)}
    try:
        tx.db.sign_in_failures.replace_one({"_id": guard["_id"]}, new, upsert=True,
                                           session=tx.session)
    except DuplicateKeyError:
        # Two first failures of one login at once: the loser runs again and counts on top.
        raise write_conflict("concurrent sign-in failures of one login")
    return new


def clear(tx, login):
    tx.db.sign_in_failures.delete_one({"_id": login}, session=tx.session)


def locked_until(db, login, now):
    guard = db.sign_in_failures.find_one({"_id": login}, {"locked_until": 1})
    return guard["locked_until"] if guard and is_locked(guard, now) else None
