"""Accounts: storage, the management commands (each in an outbox transaction) and views.

    accounts: {_id: "acc-<16 hex>", login (lower case, unique), display_name, role, region,
               regions: [every prefix of region], enabled,
               password: {hash (Argon2id), changed_at, must_change, temporary_until},
               last_sign_in_at, created_at, created_by, updated_at, updated_by, version}

The password hash never leaves this module's documents: `view` answers without
it, and events carry only the account id, role and region. Every change writes
the account document, so a sign-in racing a disable write-conflicts and one of
them runs again after the other (never a session for a just-disabled account).
"""
import datetime
import re
import uuid

from pymongo.errors import DuplicateKeyError

from services.accounts import lockout, roles, sessions
from services.common import access, queries
from services.common.clock import now_ms
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.jsonable import jsonable

READERS = ("system",) + roles.MANAGERS + (roles.AUDITOR,)


def ensure_indexes(db):
    db.accounts.create_index([("login", 1)], unique=True)
    db.accounts.create_index([("regions", 1), ("login", 1)])


def normalise_login(login):
    return (login or "").strip().lower()


def regions_of(region):
    """Every prefix of a division code: an account in 340102 lies in 34, 3401 and 340102."""
    return [region[:n] for n in (2, 4, 6, 9) if n <= len(region)]


def facts(account):
    """What events say about an account: its id, role and region, nothing personal."""
    return {"account_id": account["_id"], "role": account["role"], "region": account["region"]}


def view(account, caller, locked_until=False):
    """The account as the API shows it to this caller (never the password); with
    `locked_until` (a single account's answer) until when its login is locked."""
    name = account["display_name"]
    if not access.sees_personal_data(caller) and caller.get("sub") != account["_id"]:
        name = access.mask_name(name)
    shown = {
        "id": account["_id"], "login": account["login"], "display_name": name,
        "role": account["role"], "region": account["region"], "enabled": account["enabled"],
        "must_change_password": account["password"]["must_change"],
        "last_sign_in_at": account.get("last_sign_in_at"),
        "created_at": account["created_at"], "updated_at": account["updated_at"],
        "version": account["version"]}
    if locked_until is not False:
        shown["locked_until"] = locked_until
    return jsonable(shown)


def find_by_login(db, login):
    return db.accounts.find_one({"login": normalise_login(login)})


def load(db, account_id, session=None):
    account = db.accounts.find_one({"_id": account_id}, session=session)
    if account is None:
        raise NotFound(f"no account {account_id}", fields={"account_id": ["not found"]})
    return account


def _ensure_reader(caller, account=None):
    if account is not None and caller.get("sub") == account["_id"]:
        return  # everyone reads their own account
    if caller.get("role") not in READERS:
        raise Forbidden(f"a {caller.get('role')} does not read accounts",
                        details={"allowed_roles": list(READERS[1:])})
    if account is not None:
        access.ensure_within(caller, account["region"], "account_id")


def _save(tx, account, caller):
    """Write the account back, guarded by its version (a concurrent change loses)."""
    previous = account["version"]
    account["version"] = previous + 1
    account["updated_at"] = now_ms()
    account["updated_by"] = access.actor(caller)
    result = tx.db.accounts.replace_one({"_id": account["_id"], "version": previous}, account,
                                        session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the account was changed meanwhile; read it again and retry")
    return account


def password_state(password_hash, must_change, temporary_seconds=None):
    now = now_ms()
    until = now + datetime.timedelta(seconds=temporary_seconds) if temporary_seconds else None
    return {"hash": password_hash, "changed_at": now, "must_change": must_change,
            "temporary_until": until}


# ---- commands ----

def create(tx, data, caller, temporary_hash, temporary_seconds):
    roles.ensure_may_grant(caller, data["role"], data["region"])
    now = now_ms()
    account = {
        "_id": f"acc-{uuid.uuid4().hex[:16]}",
        "login": normalise_login(data["login"]),
        "display_name": data["display_name"].strip(),
        "role": data["role"], "region": data["region"], "regions": regions_of(data["region"]),
        "enabled": True,
        "password": password_state(temporary_hash, True, temporary_seconds),
        "last_sign_in_at": None,
        "created_at": now, "created_by": access.actor(caller),
        "updated_at": now, "updated_by": access.actor(caller), "version": 1,
    }
    try:
        tx.db.accounts.insert_one(account, session=tx.session)
    except DuplicateKeyError:
        raise Conflict(f"the login {account['login']} is taken",
                       fields={"login": ["already taken"]})
    tx.emit("account.created", account["_id"], {**facts(account), "enabled": True})
    return account


def update(tx, account_id, data, caller):
    account = load(tx.db, account_id, tx.session)
    roles.ensure_may_manage(caller, account)
    before = dict(account)
    new_role, new_region = data.get("role", account["role"]), data.get("region", account["region"])
    if (new_role, new_region) != (account["role"], account["region"]):
        if caller.get("sub") == account_id:
            raise Forbidden("you may not change your own role or region",
                            fields={"role": ["your own account"]})
        try:
            roles.check_role_region(new_role, new_region)
        except ValueError as exc:
            raise InvalidInput(str(exc), fields={"region": [str(exc)]})
        roles.ensure_may_grant(caller, new_role, new_region)
    if data.get("enabled") is False and caller.get("sub") == account_id:
        raise Forbidden("you may not disable your own account", fields={"enabled": ["your own account"]})
    if "display_name" in data:
        account["display_name"] = data["display_name"].strip()
    account.update(role=new_role, region=new_region, regions=regions_of(new_region))
    if "enabled" in data:
        account["enabled"] = data["enabled"]
    changed = [f for f in ("display_name", "role", "region", "enabled") if account[f] != before[f]]
    if not changed:
        return account
    _save(tx, account, caller)
    moved = [f for f in ("display_name", "role", "region") if f in changed]
    if moved:
        tx.emit("account.updated", account_id, {
            **facts(account), "changed": moved,
            "previous_role": before["role"], "previous_region": before["region"]})
    if "enabled" in changed:
        tx.emit("account.enabled" if account["enabled"] else "account.disabled", account_id,
                facts(account))
    # Tokens carry role and region: a changed one, or a disabled account, ends them now.
    if not account["enabled"] and "enabled" in changed:
        sessions.revoke_all(tx, before, "disabled")
    elif "role" in changed or "region" in changed:
        sessions.revoke_all(tx, before, "role_or_region_changed")
    return account


def reset_password(tx, account_id, caller, temporary_hash, temporary_seconds):
    account = load(tx.db, account_id, tx.session)
    roles.ensure_may_manage(caller, account)
    if caller.get("sub") == account_id:
        raise Forbidden("change your own password at /auth/password, not by a reset",
                        fields={"account_id": ["your own account"]})
    account["password"] = password_state(temporary_hash, True, temporary_seconds)
    _save(tx, account, caller)
    lockout.clear(tx, account["login"])  # a reset also lifts a lock
    tx.emit("account.password_reset", account_id, facts(account))
    sessions.revoke_all(tx, account, "password_reset")
    return account


def change_password(tx, account, password_hash, caller):
    """The holder's own new password (sign_in.change_password checked the current one)."""
    account["password"] = password_state(password_hash, False)
    _save(tx, account, caller)
    tx.emit("account.password_changed", account["_id"], facts(account))
    return account


def signed_in(tx, account, rehashed=None):
    """Note the sign-in on the account (and an upgraded hash): this write is what
    serialises a sign-in with a concurrent disable or reset."""
    changes = {"last_sign_in_at": now_ms()}
    if rehashed:
        changes["password.hash"] = rehashed
    result = tx.db.accounts.update_one({"_id": account["_id"], "version": account["version"]},
                                       {"$set": changes}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the account was changed meanwhile; sign in again")


# ---- queries ----

def get(db, account_id, caller):
    account = load(db, account_id)
    _ensure_reader(caller, account)
    return view(account, caller, lockout.locked_until(db, account["login"], now_ms()))


def list_page(db, query, caller):
    _ensure_reader(caller)
    region = access.narrow(caller, query.get("region"))
    selector = {"regions": region} if region else {}
    for key in ("role", "enabled"):
        if query.get(key) is not None:
            selector[key] = query[key]
    if query.get("login"):
        selector["login"] = {"$regex": "^" + re.escape(normalise_login(query["login"]))}
    return queries.page(db.accounts, selector, query,
                        lambda found: [view(a, caller) for a in found], sort=(("login", 1),))
