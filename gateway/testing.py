"""Test helpers for gateway routes: a fake RPC layer and tokens.

    rpc = FakeRpc()
    rpc.answer("registry", "get_station", {"id": "s1", ...})   # a value,
    rpc.answer("registry", "get_station", NotFound("no station"))  # an exception,
    rpc.answer("registry", "list_stations", lambda query, caller: {...})  # or a function
    app = create_app(rpc=rpc, services=["registry"])
    client = app.test_client()
    client.get("/api/v1/stations/s1", headers=auth_header("county_officer", "340102"))
    rpc.last.kwargs["caller"]  -> {"sub": ..., "role": "county_officer", "region": "340102"}
"""
from collections import namedtuple

from gateway.auth import issue_token

Call = namedtuple("Call", "service method args kwargs context idempotent")

TEST_SECRET = "wushe-unit-test-secret-0123456789abcdef"
TEST_SECRET_PREVIOUS = "wushe-unit-test-previous-secret-0123456789"


class FakeRpc:
    """Records every call; answers what `answer` set (None otherwise)."""

    def __init__(self):
        self.calls = []
        self.answers = {}
        self.broker = (True, None)
        self.pings = {}
        self.closed = False

    def answer(self, service, method, result):
        self.answers[(service, method)] = result

    @property
    def last(self):
        return self.calls[-1] if self.calls else None

    def call(self, service, method, args=(), kwargs=None, context=None, timeout=None,
             idempotent=True):
        kwargs = dict(kwargs or {})
        self.calls.append(Call(service, method, tuple(args), kwargs, dict(context or {}),
                               idempotent))
        result = self.answers.get((service, method))
        if isinstance(result, BaseException):
            raise result
        if callable(result):
            return result(*args, **kwargs)
        return result

    def ping(self, services, timeout=2.0, context=None):
        return {s: self.pings.get(s, {"status": "ok", "ms": 1.0}) for s in services}

    def broker_ok(self, timeout=2.0):
        return self.broker

    def close(self):
        self.closed = True


def auth_header(role, region, sub=None, secret=TEST_SECRET, ttl_seconds=3600):
    return {"Authorization": "Bearer " + issue_token(role, region, sub=sub,
                                                     ttl_seconds=ttl_seconds, secret=secret)}
