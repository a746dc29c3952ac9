"""The refusals of signing in, each with its HTTP status and code.

They cross RPC as DomainError with status and code kept (services.common.errors.
for_the_wire); the gateway turns `details.retry_after` into a Retry-After header.
None of them says whether the login exists: a wrong password and an unknown
login read alike, and an unknown login slows down and locks like a known one.
"""
from services.common.errors import DomainError


class InvalidCredentials(DomainError):
    status, code = 401, "invalid_credentials"

    def __init__(self):
        super().__init__("login or password not correct",
                         fields={"password": ["login or password not correct"]})


class SignInDelayed(DomainError):
    status, code = 429, "sign_in_delayed"

    def __init__(self, retry_after):
        super().__init__(f"too many failed sign-ins: try again in {retry_after} s",
                         details={"retry_after": retry_after})


class AccountLocked(DomainError):
    status, code = 429, "account_locked"

    def __init__(self, retry_after, until):
        super().__init__(f"too many failed sign-ins: the account is locked until {until} "
                         "(an administrator's password reset unlocks it)",
                         details={"retry_after": retry_after, "locked_until": until})


class AccountDisabled(DomainError):
    status, code = 403, "account_disabled"

    def __init__(self):
        super().__init__("this account is disabled")


class TemporaryPasswordExpired(DomainError):
    status, code = 403, "temporary_password_expired"

    def __init__(self):
        super().__init__("the temporary password has expired; ask an administrator for a new one")


class SessionEnded(DomainError):
    status, code = 401, "invalid_refresh_token"

    def __init__(self, why="the refresh token is not valid (expired, used or signed out)"):
        super().__init__(why, fields={"refresh_token": [why]})


class RefreshTokenReused(SessionEnded):
    def __init__(self):
        super().__init__("this refresh token was used before: the session has been ended; "
                         "sign in again")
