"""Request and response schemas of the accounts service and its routes.

The same classes validate RPC input in the service, validate HTTP bodies in the
gateway, and generate the OpenAPI document. Password fields are validated for
type and length only here; their strength is judged in the service
(password_rules), which knows the login, and no message ever repeats one.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.accounts import roles
from services.accounts.password_rules import MAX_LENGTH
from services.common.schemas import PageQuerySchema

LOGIN = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$",
                        error="3 to 64 letters, digits, '.', '_' or '-', starting with a "
                              "letter or digit")
ACCOUNT_ID = r"acc-[0-9a-f]{16}"
REGION = validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9})$",
                         error="must be a 2, 4, 6 or 9-digit division code")
ROLE = validate.OneOf(tuple(roles.REGION_DIGITS))
# Checked for size only: a wrong password must be judged (and counted) by the service.
PASSWORD = fields.String(required=True, load_only=True,
                         validate=validate.Length(min=1, max=MAX_LENGTH))
AUDIT_OUTCOMES = ("success", "failure", "refused")
AUDIT_REASONS = ("password_change_required", "wrong_password", "unknown_login", "throttled",
                 "locked", "lockout", "disabled", "temporary_password_expired",
                 "refresh_token_reused", "not_allowed")


def _role_fits_region(data):
    role, region = data.get("role"), data.get("region")
    if role and region:
        try:
            roles.check_role_region(role, region)
        except ValueError as exc:
            raise ValidationError(str(exc), "region")


# ---- sign-in and sessions ----

class SignInSchema(Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = PASSWORD


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True,
                                  validate=validate.Length(min=20, max=200))


class PasswordChangeSchema(Schema):
    current_password = PASSWORD
    new_password = fields.String(required=True, load_only=True,
                                 validate=validate.Length(min=1, max=MAX_LENGTH),
                                 metadata={"description": "At least 10 characters, 3 of: lower "
                                                          "case, upper case, digits, symbols; "
                                                          "not containing the login."})


# ---- account management ----

def _role_region_openapi():
    """role_fits_region for the OpenAPI document: one branch per role."""
    return {"anyOf": [
        {"properties": {"role": {"enum": [role]},
                        "region": {"pattern": "^(" + "|".join(fr"\d{{{n}}}" for n in digits) + ")$"}}}
        for role, digits in sorted(roles.REGION_DIGITS.items())]}


class AccountCreateSchema(Schema):
    OPENAPI = _role_region_openapi()

    login = fields.String(required=True, validate=LOGIN,
                          metadata={"description": "Unique, case-insensitive; kept in lower case."})
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    role = fields.String(required=True, validate=ROLE)
    region = fields.String(required=True, validate=REGION, metadata={
        "description": "A province (2 digits) for province_admin, city (4) for city_officer, "
                       "county (6) for county_officer, township (9) for station_staff; auditor: "
                       "2, 4 or 6."})

    @validates_schema
    def role_fits_region(self, data, **kwargs):
        _role_fits_region(data)


class AccountUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # the not_empty rule, in the document

    display_name = fields.String(validate=validate.Length(min=1, max=60))
    role = fields.String(validate=ROLE)
    region = fields.String(validate=REGION)
    enabled = fields.Boolean(metadata={"description": "false: the account no longer signs in "
                                                      "and its tokens are refused at once."})

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("give at least one of display_name, role, region, enabled")
        _role_fits_region(data)


class AccountQuerySchema(PageQuerySchema):
    region = fields.String(validate=REGION)
    role = fields.String(validate=ROLE)
    enabled = fields.Boolean()
    login = fields.String(validate=validate.Length(min=1, max=64),
                          metadata={"description": "Logins starting with this."})


class AccountAuditQuerySchema(PageQuerySchema):
    region = fields.String(validate=REGION)
    account = fields.String(validate=validate.Regexp(f"^{ACCOUNT_ID}$"), metadata={
        "description": "Entries about this account (sign-ins, failures, changes)."})
    actor = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "Who acted (a token's sub)."})
    action = fields.String(validate=validate.Length(min=1, max=60), metadata={
        "description": "sign_in, refresh, sign_out, change_password, create_account, "
                       "update_account, reset_password ..."})
    outcome = fields.String(validate=validate.OneOf(AUDIT_OUTCOMES))
    reason = fields.String(validate=validate.OneOf(AUDIT_REASONS))
    since = fields.DateTime(metadata={"description": "From this instant (RFC 3339)."})
    until = fields.DateTime(metadata={"description": "Before this instant (RFC 3339)."})


class AccountAuditExportSchema(AccountAuditQuerySchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("csv", "xlsx")))


# ---- responses (documentation of what the API returns) ----

class AccountSchema(Schema):
    id = fields.String()
    login = fields.String()
    display_name = fields.String(metadata={"description": "Masked for auditors."})
    role = fields.String()
    region = fields.String()
    enabled = fields.Boolean()
    must_change_password = fields.Boolean()
    locked_until = fields.DateTime(allow_none=True)
    last_sign_in_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class TemporaryPasswordSchema(Schema):
    account_id = fields.String()
    temporary_password = fields.String(metadata={
        "description": "Shown this once, to hand to the account's holder; it must be changed "
                       "at the first sign-in."})
    expires_at = fields.DateTime()


class AccountCreatedSchema(AccountSchema):
    temporary_password = fields.String(metadata={"description": "Shown this once."})
    temporary_password_expires_at = fields.DateTime()


class TokensSchema(Schema):
    access_token = fields.String(metadata={"description": "HS256 JWT: sub, role, region, sid."})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds the access token is valid."})
    expires_at = fields.DateTime()
    refresh_token = fields.String(allow_none=True, metadata={
        "description": "Opaque; exchanged once at /auth/refresh for a new pair. Null while a "
                       "new password is due."})
    refresh_expires_at = fields.DateTime(allow_none=True)
    scope = fields.String(metadata={"description": "`full`, or `password_change`: the token "
                                                   "may only change the password."})
    password_change_required = fields.Boolean()
    account = fields.Nested(AccountSchema)


class AccountAuditEntrySchema(Schema):
    id = fields.String()
    at = fields.DateTime()
    service = fields.String()
    kind = fields.String(metadata={"description": "`sign_in` (an attempt) or `change`."})
    action = fields.String(allow_none=True)
    outcome = fields.String(validate=validate.OneOf(AUDIT_OUTCOMES))
    reason = fields.String(allow_none=True, validate=validate.OneOf(AUDIT_REASONS))
    actor = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    login = fields.String(allow_none=True, metadata={
        "description": "The login tried; masked when no account has it (it may be a mistyped "
                       "password)."})
    address = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    records = fields.List(fields.Dict(keys=fields.String(), values=fields.String(allow_none=True)))
    regions = fields.List(fields.String())
    message = fields.String(allow_none=True, metadata={"description": "Why a request was refused."})
