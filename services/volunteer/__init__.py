"""The volunteer service (志愿服务): volunteers, teams, activities, hour records, certificates and totals."""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8102
