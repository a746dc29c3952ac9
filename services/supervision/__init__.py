"""The supervision service (督导): supervisors and supervision sessions, versioned
checklists and inspections (mutual inspection campaigns, special inspections,
third-party evaluations, year-end assessments), rectification (整改) with
escalation, monthly reports with their due times, the compliance calendar, and
scorecards per station, county, city and province built from events."""

# Where `wushe up` serves its /healthz, /readyz and /metrics (WUSHE_HTTP_BIND overrides).
LOCAL_HTTP_PORT = 8104
