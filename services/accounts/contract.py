"""The accounts service's published events: its contract with every consumer.

Exchange `accounts.events`, routing key = the CloudEvents type. Events carry
the account id, its role and region, session ids and instants; never a login,
a display name, a password or its hash, nor an address (all personal data or
secrets; the audit trail keeps who did what, inside the service).

The gateways consume `session.revoked` (gateway/revocations.py): each worker
refuses the listed sessions' access tokens from the moment it hears of it.
"""
from marshmallow import Schema, fields, validate

from services.accounts.roles import REGION_DIGITS
from services.common.contract import Contract, EventSpec
from services.common.access import ROLES

ACCOUNT_ID = fields.String(required=True, validate=validate.Regexp(r"^acc-[0-9a-f]{16}$"),
                           metadata={"description": "The account's id (the `sub` of its tokens)."})
REGION = fields.String(required=True, validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$"),
                       metadata={"description": "The division code the account works in."})
ROLE = fields.String(required=True, validate=validate.OneOf(tuple(REGION_DIGITS)))
FIELDS = ("display_name", "role", "region", "enabled")
REVOCATION_REASONS = ("signed_out", "disabled", "role_or_region_changed", "password_reset",
                      "password_changed", "refresh_token_reused")


class AccountFacts(Schema):
    """Who the account is to the platform: its id, role and region."""
    account_id = ACCOUNT_ID
    role = ROLE
    region = REGION


class AccountCreated(AccountFacts):
    enabled = fields.Boolean(required=True)


class AccountUpdated(AccountFacts):
    changed = fields.List(fields.String(validate=validate.OneOf(FIELDS)), required=True,
                          metadata={"description": "The fields changed (a changed display name "
                                                   "is named, never given)."})
    previous_role = fields.String(required=True, validate=validate.OneOf(ROLES))
    previous_region = fields.String(required=True)


class AccountLocked(AccountFacts):
    until = fields.DateTime(required=True, metadata={"description": "Sign-in refused until then."})
    failures = fields.Integer(required=True, metadata={"description": "Consecutive failures."})


class RevokedSession(Schema):
    session_id = fields.String(required=True)
    until = fields.DateTime(required=True, metadata={
        "description": "When the session's last access token expires: refuse it until then."})


class SessionRevoked(AccountFacts):
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    sessions = fields.List(fields.Nested(RevokedSession), required=True)


CONTRACT = Contract("accounts", [
    EventSpec("account.created", AccountCreated, subject="account id",
              summary="An account was created; its password must be changed at first sign-in."),
    EventSpec("account.updated", AccountUpdated, subject="account id",
              summary="An account's display name, role or region changed."),
    EventSpec("account.disabled", AccountFacts, subject="account id",
              summary="An account was disabled: it no longer signs in, its sessions end."),
    EventSpec("account.enabled", AccountFacts, subject="account id",
              summary="A disabled account was enabled again."),
    EventSpec("account.locked", AccountLocked, subject="account id",
              summary="Too many failed sign-ins: the account is locked for a while."),
    EventSpec("account.password_reset", AccountFacts, subject="account id",
              summary="An administrator reset the password: a new one is due at next sign-in."),
    EventSpec("account.password_changed", AccountFacts, subject="account id",
              summary="The account's holder changed its password."),
    EventSpec("session.revoked", SessionRevoked, subject="account id",
              summary="Sessions ended: their access and refresh tokens are refused from now on.",
              description="Gateways keep the listed session ids until `until` and refuse any "
                          "token carrying one as `sid`."),
])

SESSION_REVOKED = CONTRACT["session.revoked"]
