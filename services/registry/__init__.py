"""The station registry: township-level units, their social work stations and coverage."""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8101
