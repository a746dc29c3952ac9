"""The webhooks service: HTTP subscriptions for systems that cannot speak AMQP.

A province admin subscribes a URL to event types; every matching event of the
platform is delivered to it as a CloudEvent over HTTP (structured mode), signed
with HMAC-SHA256, retried with backoff, in each subject's order, at least once.
See docs/webhooks.md.
"""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8106
