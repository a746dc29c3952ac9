"""Sign-in sessions and their refresh tokens (collections `sessions`, `refresh_tokens`).

A session is one sign-in: its id is the `sid` of every access token it gets.

    sessions: {_id: sid, account_id, role, region, scope: "full" | "password_change",
               created_at, access_until (expiry of its latest access token),
               expires_at (of its latest refresh token), revoked_at, revoked_reason,
               purge_at (TTL)}
    refresh_tokens: {_id: SHA-256 of the token, session_id, account_id, issued_at,
                     expires_at, used_at}

A refresh token is 256 random bits, so a plain SHA-256 is enough to keep it
unusable if the database leaks; the token itself is answered once and kept
nowhere. Each use gives a new one and marks the old one used; an old one
presented again means two parties hold the session (a stolen token), so the
whole family, the session, ends: `session.revoked` with reason
`refresh_token_reused`. Every end of a session is that event, which the
gateways consume; `revoked` answers the same facts for their periodic sync.
"""
import datetime
import hashlib
import secrets
import uuid

from services.accounts import errors, settings
from services.common.clock import now_ms
from services.common.jsonable import jsonable

FULL, PASSWORD_CHANGE = "full", "password_change"
# A gateway accepts a token up to 30 s past its exp (gateway/auth.py LEEWAY_SECONDS):
# a revoked session is refused for longer than that.
REVOCATION_MARGIN = datetime.timedelta(seconds=60)
# Ended sessions and used tokens are kept a while for the audit's sake, then purged.
KEEP = datetime.timedelta(days=7)


def ensure_indexes(db):
    db.sessions.create_index([("account_id", 1), ("revoked_at", 1)])
    db.sessions.create_index([("revoked_at", 1), ("access_until", 1)])
    db.sessions.create_index([("purge_at", 1)], expireAfterSeconds=0)
    db.refresh_tokens.create_index([("session_id", 1)])
    db.refresh_tokens.create_index([("purge_at", 1)], expireAfterSeconds=0)


def digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _epoch(moment):
    return int(moment.timestamp())


def _issue_refresh(tx, session, now):
    token = secrets.token_urlsafe(32)
    expires_at = now + datetime.timedelta(seconds=settings.refresh_token_seconds())
    tx.db.refresh_tokens.insert_one({
        "_id": digest(token), "session_id": session["_id"], "account_id": session["account_id"],
        "issued_at": now, "expires_at": expires_at, "used_at": None,
        "purge_at": expires_at + KEEP}, session=tx.session)
    return token, expires_at


def _grant(session, account, access_until, refresh=None):
    """What the gateway needs to sign the access token, and the refresh token."""
    token, refresh_until = refresh or (None, None)
    return {"session": {"sid": session["_id"], "sub": account["_id"], "role": account["role"],
                        "region": account["region"], "scope": session["scope"],
                        "exp": _epoch(access_until)},
            "refresh_token": token, "refresh_expires_at": refresh_until}


def start(tx, account, scope):
    """A new session for an account that proved its password; its first grant."""
    now = now_ms()
    seconds = settings.access_token_seconds() if scope == FULL \
        else settings.password_change_token_seconds()
    access_until = now + datetime.timedelta(seconds=seconds)
    session = {"_id": uuid.uuid4().hex, "account_id": account["_id"], "role": account["role"],
               "region": account["region"], "scope": scope, "created_at": now,
               "access_until": access_until, "expires_at": access_until,
               "revoked_at": None, "revoked_reason": None, "purge_at": access_until + KEEP}
    refresh = None
    if scope == FULL:  # a token that may only change the password is not renewed
        refresh = _issue_refresh(tx, session, now)
        session["expires_at"] = refresh[1]
        session["purge_at"] = refresh[1] + KEEP
    tx.db.sessions.insert_one(session, session=tx.session)
    return _grant(session, account, access_until, refresh)


def _revoke(tx, account, found, reason):
    """End these sessions and tell the gateways (one event)."""
    if not found:
        return []
    now = now_ms()
    ids = [s["_id"] for s in found]
    tx.db.sessions.update_many({"_id": {"$in": ids}, "revoked_at": None},
                               {"$set": {"revoked_at": now, "revoked_reason": reason}},
                               session=tx.session)
    tx.emit("session.revoked", account["_id"], jsonable({
        "account_id": account["_id"], "role": account["role"], "region": account["region"],
        "reason": reason,
        "sessions": [{"session_id": s["_id"], "until": s["access_until"] + REVOCATION_MARGIN}
                     for s in found]}))
    return ids


def live(tx, account_id):
    now = now_ms()
    return [s for s in tx.db.sessions.find({"account_id": account_id, "revoked_at": None},
                                           session=tx.session)
            if s["expires_at"] > now or s["access_until"] + REVOCATION_MARGIN > now]


def revoke_all(tx, account, reason):
    """End every session of the account (disabled, moved, password reset or changed)."""
    return _revoke(tx, account, live(tx, account["_id"]), reason)


def revoke_one(tx, account, session_id, reason):
    found = tx.db.sessions.find_one({"_id": session_id, "account_id": account["_id"],
                                     "revoked_at": None}, session=tx.session)
    return _revoke(tx, account, [found] if found else [], reason)


def is_live(db, session_id, session=None):
    found = db.sessions.find_one({"_id": session_id}, {"revoked_at": 1}, session=session)
    return found is not None and found["revoked_at"] is None


def rotate(tx, token, load_account):
    """Exchange a refresh token for a new grant of the same session.

    Returns (grant, None, account), or (None, refusal, account or None) with what must
    commit anyway (a reused token's family revoked). load_account(tx, account_id) -> the
    account or None."""
    now = now_ms()
    held = tx.db.refresh_tokens.find_one({"_id": digest(token)}, session=tx.session)
    if held is None or held["expires_at"] <= now:
        return None, errors.SessionEnded(), None
    session = tx.db.sessions.find_one({"_id": held["session_id"]}, session=tx.session)
    account = load_account(tx, held["account_id"])
    if held["used_at"] is not None:
        if session is not None and account is not None and session["revoked_at"] is None:
            _revoke(tx, account, [session], "refresh_token_reused")
        return None, errors.RefreshTokenReused(), account
    if session is None or session["revoked_at"] is not None or account is None \
            or not account["enabled"]:
        return None, errors.SessionEnded(), account
    tx.db.refresh_tokens.update_one({"_id": held["_id"]}, {"$set": {"used_at": now}},
                                    session=tx.session)
    refresh = _issue_refresh(tx, session, now)
    access_until = now + datetime.timedelta(seconds=settings.access_token_seconds())
    tx.db.sessions.update_one({"_id": session["_id"]}, {"$set": {
        "access_until": access_until, "expires_at": refresh[1], "purge_at": refresh[1] + KEEP}},
        session=tx.session)
    return _grant(session, account, access_until, refresh), None, account


def revoked(db):
    """Sessions ended whose access tokens may still be presented: the gateways' view."""
    now = now_ms()
    found = db.sessions.find({"revoked_at": {"$ne": None},
                              "access_until": {"$gt": now - REVOCATION_MARGIN}},
                             {"access_until": 1})
    return jsonable([{"session_id": s["_id"], "until": s["access_until"] + REVOCATION_MARGIN}
                     for s in found])
