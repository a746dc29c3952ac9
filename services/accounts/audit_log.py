"""The accounts' audit trail: sign-in attempts and account changes, who, from where.

It is the kit's trail (services/common/audit.py), collection `audit` in this
service's database, append-only, and every entry here commits in the
transaction of what it records:

* account changes (create, update, disable, reset, password change, sign-out,
  a lock) get the kit's `kind: "change"` entry from the command runner;
* every sign-in attempt, refresh-token reuse and password-change attempt gets
  a `kind: "sign_in"` entry written here, of the same shape plus `outcome`
  (success | failure | refused), `reason` and `login`;
* a management request refused for want of rights (an officer granting a role
  above its own) gets a `kind: "change"` entry with outcome `refused`, written
  after the refusal rolled the change back.

The login of an attempt is kept as typed when an account has it; otherwise
masked, since people type their password into the login field. Attempts at
logins no account has lie in no region (`regions: [""]`): province-level
readers see them.
"""

from services.common import access, audit, queries
from services.common.errors import Forbidden
from services.common.jsonable import jsonable

SERVICE = "accounts"
UNPLACED = ""
ANONYMOUS = {"sub": None, "role": None, "region": None}


def _regions(region):
    return audit.regions_of({"region": region}) if region else [UNPLACED]


def masked_login(login):
    return (login[:2] + "***") if login else None


def _entry(kind, action, outcome, reason, actor, records, region, login=None):
    return audit.entry(SERVICE, kind, records, _regions(region), who=actor or ANONYMOUS,
                       action_=action, outcome=outcome, reason=reason, login=login)


def attempt(tx, action, outcome, reason=None, account=None, login=None, actor=None):
    """One sign-in (or refresh, or password-change) attempt, in its transaction.

    account: the account it was about (None: no account has that login);
    actor: who made it when known (a signed-in caller; a success is the account itself)."""
    if account is None:
        records, region, shown = [], None, masked_login(login)
    else:
        records, region, shown = [{"type": "account", "id": account["_id"]}], \
            account["region"], account["login"]
    if actor is None and account is not None and outcome == "success":
        actor = {"sub": account["_id"], "role": account["role"], "region": account["region"]}
    tx.db.audit.insert_one(_entry("sign_in", action, outcome, reason, actor, records, region,
                                  shown), session=tx.session)


def refused(db, action, caller, account_id, region, why):
    """A management request refused for want of rights (after its rollback)."""
    records = [{"type": "account", "id": account_id}] if account_id else []
    entry = _entry("change", action, "refused", "not_allowed", caller, records, region)
    entry["message"] = why
    db.audit.insert_one(entry)


# ---- reading ----

def _selector(query, caller):
    if caller.get("role") not in audit.READERS:
        raise Forbidden("only auditors and province admins read the audit trail",
                        details={"allowed_roles": list(audit.READERS[1:])})
    region = access.narrow(caller, query.get("region"))
    selector = {}
    if len(region) == 2:
        selector["regions"] = {"$in": [region, UNPLACED]}
    elif region:
        selector["regions"] = region
    for key, field in (("account", "records.id"), ("actor", "actor.sub"), ("action", "action"),
                       ("reason", "reason")):
        if query.get(key):
            selector[field] = query[key]
    if query.get("outcome"):
        # Entries of the kit's command runner are changes that committed: successes.
        selector["outcome"] = query["outcome"] if query["outcome"] != "success" \
            else {"$in": ["success", None]}
    period = {k: v for k, v in (("$gte", query.get("since")), ("$lt", query.get("until"))) if v}
    if period:
        selector["at"] = period
    return selector


def _item(doc):
    item = {k: v for k, v in doc.items() if k not in ("_id", "expire_at")}
    item.update(id=doc["_id"], outcome=doc.get("outcome") or "success",
                reason=doc.get("reason"), login=doc.get("login"))
    return jsonable(item)


def query(db, query_, caller):
    """Entries newest first, within the reader's region."""
    return queries.page(db.audit, _selector(query_, caller), query_,
                        lambda found: [_item(d) for d in found], sort=(("at", -1), ("_id", 1)))


COLUMNS = [("at", "时间 (UTC)"), ("action", "操作"), ("outcome", "结果"), ("reason", "原因"),
           ("login", "登录名"), ("actor", "操作人"), ("role", "角色"), ("actor_region", "操作人区划"),
           ("address", "来源地址"), ("request_id", "请求号"), ("records", "账号/记录"),
           ("region", "所属区划")]


def export(db, query_, caller):
    """The entries as rows for gateway/exports.py (at most queries.EXPORT_LIMIT)."""
    rows = []
    for doc in queries.export_rows(db.audit, _selector(query_, caller), (("at", -1), ("_id", 1))):
        item = _item(doc)
        actor = item.get("actor") or {}
        rows.append([item["at"], item.get("action"), item["outcome"], item.get("reason"),
                     item.get("login"), actor.get("sub"), actor.get("role"), actor.get("region"),
                     item.get("address"), item.get("request_id"),
                     "; ".join(f"{r.get('type')} {r.get('id')}" for r in item.get("records", [])),
                     (item.get("regions") or [""])[-1]])
    return {"name": "accounts-audit", "columns": [{"key": k, "title": t} for k, t in COLUMNS],
            "rows": rows}
