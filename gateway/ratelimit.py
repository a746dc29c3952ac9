"""Public endpoints (no token) are rate-limited per client address.

Certificate and receipt checks and the transparency reports answer anyone, so
without a limit their numbers could be enumerated quickly. Every public
endpoint (an `@endpoint` with `roles=None`) shares one budget per client
address: PUBLIC_RATE_LIMIT (default "30 per minute"), a moving window;
sign-in and refresh have their own (SIGN_IN_RATE_LIMIT, "120 per minute").
Over it the answer is a 429 with `Retry-After` (seconds) and the usual error
body.

We use Flask-Limiter (on the `limits` library) rather than our own counters.
Its storage is PUBLIC_RATE_LIMIT_STORAGE: `memory://` by default, which counts
per gunicorn worker (so a client may get up to workers x replicas x the limit);
in the cluster point it at a shared store the `limits` library speaks, such as
the MongoDB replica set (`mongodb://...`), for one budget across replicas.
The client address is the socket's peer, or the ingress's view of it when
GATEWAY_TRUSTED_PROXIES is set (gateway/security.py).
"""
import math
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from services.common import config


def _refused(request_limit):
    from gateway.errors import error_response

    wait = min(max(1, math.ceil(request_limit.reset_at - time.time())),
               int(request_limit.limit.get_expiry()))
    return error_response(429, "too_many_requests",
                          f"too many requests from this address; ask again in {wait} s",
                          headers={"Retry-After": str(wait)})


limiter = Limiter(key_func=get_remote_address, strategy="moving-window", on_breach=_refused,
                  storage_uri=config.env("PUBLIC_RATE_LIMIT_STORAGE", "memory://"))


def public_limit():
    return config.env("PUBLIC_RATE_LIMIT", "30 per minute")


def sign_in_limit():
    return config.env("SIGN_IN_RATE_LIMIT", "120 per minute")


# One budget for all public endpoints together, so trying many of them does not
# multiply what an address may ask. Signing in has its own, larger one: a whole
# office behind one address signs in at nine; the accounts service also slows
# and locks each login tried too often.
BUDGETS = {"public": limiter.shared_limit(public_limit, scope="public"),
           "sign-in": limiter.shared_limit(sign_in_limit, scope="sign-in")}


def register(app):
    limiter.init_app(app)
    # Only the public endpoints have limits, and their decorator checks them itself.
    # Flask-Limiter's before_request check (for default and application limits: we
    # set none) would only find nothing, on every request (about 0.1 ms each).
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)
    # One app per process in production; in tests every new app starts its budgets anew.
    limiter.reset()
