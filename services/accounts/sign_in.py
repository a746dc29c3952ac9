"""Signing in, refreshing, signing out and changing one's own password.

Each is one command: its session, counters, events and audit entry commit
together, and a refusal (wrong password, throttled, locked, reused refresh
token) commits what it must record before it is raised. The slow Argon2 check
runs before the transaction, so a transaction never waits on it; the
transaction then judges again from what it reads (another attempt may have
counted a failure meanwhile) and uses the check's verdict.
"""
import datetime

from services.accounts import accounts, audit_log, errors, lockout, password_rules, passwords
from services.accounts import sessions, settings
from services.common.clock import now_ms, rfc3339
from services.common.errors import Conflict, DomainError, Forbidden, InvalidInput
from services.common.jsonable import jsonable


def _run(command, fn):
    """Run the command; a refusal it returns (having recorded it) is raised after commit."""
    result = command(fn)
    if isinstance(result, DomainError):
        raise result
    return jsonable(result)


def _answer(grant, account):
    """The grant, with the account as its holder sees it."""
    return {**grant, "account": accounts.view(account, {"sub": account["_id"],
                                                        "role": account["role"]})}


def _failed(tx, action, guard, account, login, now, actor=None):
    """Count a failed password; the refusal to answer (a lock once there are too many)."""
    guard = lockout.fail(tx, guard, now)
    if lockout.is_locked(guard, now):
        if account is not None:
            tx.emit("account.locked", account["_id"], jsonable({
                **accounts.facts(account), "until": guard["locked_until"],
                "failures": guard["failures"]}))
        audit_log.attempt(tx, action, "failure", "lockout", account, login, actor)
        return lockout.refusal(guard, now)
    reason = "wrong_password" if account is not None else "unknown_login"
    audit_log.attempt(tx, action, "failure", reason, account, login, actor)
    return None


def _blocked(tx, action, refusal, account, login, actor=None):
    reason = "locked" if isinstance(refusal, errors.AccountLocked) else "throttled"
    audit_log.attempt(tx, action, "refused", reason, account, login, actor)
    return refusal


def sign_in(db, command, data):
    login = accounts.normalise_login(data["login"])
    known = accounts.find_by_login(db, login)
    verdict = rehashed = None
    # Throttled or locked: answer without spending an Argon2 check on it.
    if lockout.refusal(lockout.load(db, login), now_ms()) is None:
        stored = known["password"]["hash"] if known else None
        verdict = passwords.verify(stored, data["password"])
        if verdict and passwords.needs_rehash(stored):
            rehashed = passwords.hash_password(data["password"])

    def attempt(tx):
        now = now_ms()
        account = tx.db.accounts.find_one({"_id": known["_id"]}, session=tx.session) \
            if known else None
        guard = lockout.load(tx.db, login, tx.session)
        blocked = lockout.refusal(guard, now)
        if blocked is not None or verdict is None:
            # (verdict None: blocked when checked; if it is no longer, it is a second away)
            return _blocked(tx, "sign_in", blocked or errors.SignInDelayed(1), account, login)
        if not verdict or account is None:
            return _failed(tx, "sign_in", guard, account, login, now) or errors.InvalidCredentials()
        lockout.clear(tx, login)
        if not account["enabled"]:
            audit_log.attempt(tx, "sign_in", "refused", "disabled", account, login)
            return errors.AccountDisabled()
        password = account["password"]
        if password["must_change"] and password.get("temporary_until") \
                and now > password["temporary_until"]:
            audit_log.attempt(tx, "sign_in", "refused", "temporary_password_expired", account, login)
            return errors.TemporaryPasswordExpired()
        scope = sessions.PASSWORD_CHANGE if password["must_change"] else sessions.FULL
        accounts.signed_in(tx, account, rehashed)
        grant = sessions.start(tx, account, scope)
        audit_log.attempt(tx, "sign_in", "success",
                          "password_change_required" if scope != sessions.FULL else None,
                          account, login)
        return _answer(grant, account)

    return _run(command, attempt)


def change_password(db, command, data, caller):
    """The caller's own password, with the current one; every session ends, a new one starts."""
    if not caller.get("sid"):
        raise Forbidden("only a signed-in account changes its password here (tokens of `wushe "
                        "token` and of the identity provider belong to no account)")
    account = accounts.load(db, caller["sub"])
    problems = password_rules.problems(data["new_password"], account["login"])
    if data["new_password"] == data["current_password"]:
        problems.append("must differ from the current password")
    if problems:
        raise InvalidInput("the new password is not strong enough",
                           fields={"new_password": problems})
    login = account["login"]
    verdict = new_hash = None
    if lockout.refusal(lockout.load(db, login), now_ms()) is None:
        verdict = passwords.verify(account["password"]["hash"], data["current_password"])
        if verdict:
            new_hash = passwords.hash_password(data["new_password"])
    actor = {k: caller.get(k) for k in ("sub", "role", "region")}

    def change(tx):
        now = now_ms()
        current = accounts.load(tx.db, account["_id"], tx.session)
        if not sessions.is_live(tx.db, caller["sid"], tx.session) or not current["enabled"]:
            return errors.SessionEnded("this session has ended; sign in again")
        guard = lockout.load(tx.db, login, tx.session)
        blocked = lockout.refusal(guard, now)
        if blocked is not None or verdict is None:
            return _blocked(tx, "change_password", blocked or errors.SignInDelayed(1), current,
                            login, actor)
        if not verdict:
            return _failed(tx, "change_password", guard, current, login, now, actor) or \
                InvalidInput("the current password is not correct",
                             fields={"current_password": ["not correct"]})
        lockout.clear(tx, login)
        accounts.change_password(tx, current, new_hash, caller)
        sessions.revoke_all(tx, current, "password_changed")
        grant = sessions.start(tx, current, sessions.FULL)
        audit_log.attempt(tx, "change_password", "success", None, current, login, actor)
        return _answer(grant, current)

    return _run(command, change)


def refresh(command, data):
    def rotate(tx):
        grant, refusal, account = sessions.rotate(tx, data["refresh_token"], _account_or_none)
        if refusal is None:
            return _answer(grant, account)
        if isinstance(refusal, errors.RefreshTokenReused):
            audit_log.attempt(tx, "refresh", "failure", "refresh_token_reused", account)
        return refusal

    return _run(command, rotate)


def _account_or_none(tx, account_id):
    return tx.db.accounts.find_one({"_id": account_id}, session=tx.session)


def sign_out(command, caller):
    if not caller.get("sid"):
        raise Conflict("this token has no session to end (tokens of `wushe token` and of the "
                       "identity provider expire by themselves)")

    def end(tx):
        account = _account_or_none(tx, caller["sub"])
        if account is not None:
            sessions.revoke_one(tx, account, caller["sid"], "signed_out")

    command(end)


def temporary(login):
    """(password, its hash, seconds it is valid) for a new account or a reset."""
    password = passwords.temporary_password(login)
    return password, passwords.hash_password(password), settings.temporary_password_seconds()


def expires(seconds):
    return rfc3339(now_ms() + datetime.timedelta(seconds=seconds))
