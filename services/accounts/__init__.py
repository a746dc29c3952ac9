"""The accounts service: officers' and station staff's accounts, passwords, sign-in
sessions with rotating refresh tokens, and the audit of sign-ins and account changes.

The gateway signs the access tokens (it holds TOKEN_SECRET); this service decides
who may have one, for how long, and tells every gateway when a session ends
(`wushe.accounts.session.revoked.v1`). See docs/accounts.md.
"""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8105
