"""Accounts routes: sign-in, refresh, sign-out, one's own password; managing accounts;
the audit of sign-ins and account changes.

The accounts service decides who may sign in and the claims and expiry of the
access token; the gateway signs it here (it holds TOKEN_SECRET) and answers it
with the service's opaque refresh token. Passwords pass through to the service
and are never logged: the access log has the route, not the body.
"""
import datetime
import time

from flask import Blueprint, url_for

from gateway import exports
from gateway.api import check_path, endpoint, page_of
from gateway.auth import (ALL_ROLES, AUDITOR, OFFICERS, PROVINCE_ADMIN, SIGNED_IN,
                          issue_session_token)
from gateway.errors import ApiError
from gateway.rpc import call
from services.accounts.schemas import (
    ACCOUNT_ID, AccountAuditEntrySchema, AccountAuditExportSchema, AccountAuditQuerySchema,
    AccountCreatedSchema, AccountCreateSchema, AccountQuerySchema, AccountSchema,
    AccountUpdateSchema, PasswordChangeSchema, RefreshSchema, SignInSchema, TemporaryPasswordSchema,
    TokensSchema,
)
from services.common.clock import rfc3339
from services.common.errors import DomainError

bp = Blueprint("accounts", __name__)
SERVICE = "accounts"
READERS = OFFICERS + (AUDITOR,)
AUDIT_READERS = (PROVINCE_ADMIN, AUDITOR)
ACCOUNT_PARAM = {"account_id": {"type": "string", "pattern": f"^{ACCOUNT_ID}$"}}


def _tokens(grant):
    """The service's grant as the answer: the access token signed here."""
    session = grant["session"]
    token = issue_session_token(session)
    return {"access_token": token, "token_type": "Bearer",
            "expires_in": max(0, int(session["exp"] - time.time())),
            "expires_at": _instant(session["exp"]),
            "refresh_token": grant.get("refresh_token"),
            "refresh_expires_at": grant.get("refresh_expires_at"),
            "scope": session.get("scope") or "full",
            "password_change_required": session.get("scope") == "password_change",
            "account": grant.get("account")}


def _instant(epoch):
    return rfc3339(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc))


def _granting(method, *args, **kwargs):
    """Call a method that answers a grant; 429 refusals get their Retry-After header."""
    try:
        return _tokens(call(SERVICE, method, *args, **kwargs))
    except DomainError as refusal:
        retry_after = (refusal.details or {}).get("retry_after")
        if refusal.status == 429 and retry_after is not None:
            raise ApiError(refusal.message, fields=refusal.fields, details=refusal.details,
                           status=429, code=refusal.code,
                           headers={"Retry-After": str(retry_after)}) from None
        raise


def _account_id(account_id):
    return check_path("account_id", account_id, ACCOUNT_ID, "not an account id (acc-...)")


# ---- signing in ----

@bp.post("/auth/sign-in")
@endpoint(roles=None, body=SignInSchema, response=TokensSchema, errors=(401, 403, 429),
          tags=("auth",), budget="sign-in", summary="Sign in with login and password",
          description="Answers a short-lived access token and a refresh token. When a new "
                      "password is due (a new account, a reset) the access token may only "
                      "change it (`password_change_required`) and there is no refresh token. "
                      "After repeated failures each attempt must wait (429 with Retry-After), "
                      "then the login is locked for a while (429, `account_locked`).")
def sign_in(body):
    return _granting("sign_in", body)


@bp.post("/auth/refresh")
@endpoint(roles=None, body=RefreshSchema, response=TokensSchema, errors=(401,), tags=("auth",),
          budget="sign-in",
          summary="Exchange a refresh token for a new access and refresh token",
          description="A refresh token works once. One presented again ends its whole "
                      "session (every token of it is refused from then on).")
def refresh(body):
    return _granting("refresh", body)


@bp.post("/auth/sign-out")
@endpoint(roles=SIGNED_IN, status=204, errors=(409,), tags=("auth",),
          summary="End this session: its access and refresh tokens are refused at once")
def sign_out():
    call(SERVICE, "sign_out")


@bp.post("/auth/password")
@endpoint(roles=SIGNED_IN, body=PasswordChangeSchema, response=TokensSchema, errors=(429,),
          tags=("auth",), summary="Change one's own password",
          description="With the current password. Every session of the account ends; the "
                      "answer is a new one. Also the only thing a token of a sign-in with a "
                      "due password change may do.")
def change_password(body):
    return _granting("change_password", body)


# ---- managing accounts ----

@bp.post("/accounts")
@endpoint(roles=OFFICERS, body=AccountCreateSchema, response=AccountCreatedSchema, status=201,
          errors=(409,), summary="Create an account (its temporary password is answered once)",
          description="Inside the caller's region, with a role not above the caller's own; "
                      "auditors only by a province_admin or a city_officer.")
def create_account(body):
    account = call(SERVICE, "create_account", body)
    return account, {"Location": url_for(".get_account", account_id=account["id"])}


@bp.get("/accounts")
@endpoint(roles=READERS, query=AccountQuerySchema, response=page_of(AccountSchema),
          summary="Accounts in a region (by role, enabled, login prefix)")
def list_accounts(query):
    return call(SERVICE, "list_accounts", query)


# Before /accounts/<account_id>: "audit" is not an account id.
@bp.get("/accounts/audit")
@endpoint(roles=AUDIT_READERS, query=AccountAuditQuerySchema,
          response=page_of(AccountAuditEntrySchema), tags=("audit",),
          summary="Sign-ins, failures, lockouts and account changes (newest first)",
          description="With who, from which address and which request. Filter by region, "
                      "account, actor, action, outcome, reason and time.")
def account_audit(query):
    return call(SERVICE, "account_audit", query)


@bp.get("/accounts/audit/export")
@endpoint(roles=AUDIT_READERS, query=AccountAuditExportSchema, tags=("audit",),
          response_content={"text/csv": {"type": "string"},
                            exports.XLSX_TYPE: {"type": "string", "format": "binary"}},
          summary="The same entries as Excel or CSV (at most 20,000)")
def export_account_audit(query):
    fmt = query.pop("format")
    return exports.download(call(SERVICE, "export_account_audit", query), fmt, "accounts-audit")


@bp.get("/accounts/<account_id>")
@endpoint(roles=ALL_ROLES, response=AccountSchema, errors=(404,), path_params=ACCOUNT_PARAM,
          summary="One account (officers and auditors in their region; anyone their own)")
def get_account(account_id):
    return call(SERVICE, "get_account", _account_id(account_id))


@bp.patch("/accounts/<account_id>")
@endpoint(roles=OFFICERS, body=AccountUpdateSchema, response=AccountSchema, errors=(404, 409),
          path_params=ACCOUNT_PARAM,
          summary="Change an account's display name, role, region, or enable / disable it",
          description="Disabling, or changing the role or region, ends the account's sessions "
                      "at once, on every gateway.")
def update_account(account_id, body):
    return call(SERVICE, "update_account", _account_id(account_id), body)


@bp.post("/accounts/<account_id>/password-reset")
@endpoint(roles=OFFICERS, response=TemporaryPasswordSchema, errors=(404, 409),
          path_params=ACCOUNT_PARAM,
          summary="Reset a password: a temporary one, answered once, to change at next sign-in",
          description="Ends the account's sessions and lifts a lock.")
def reset_password(account_id):
    return call(SERVICE, "reset_password", _account_id(account_id))
