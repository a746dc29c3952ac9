"""The values the API (schemas.py), the events (contract.py) and the rules share:
the service's vocabularies, and the limits the API states."""

TEAM_KINDS = ("general", "silver_age", "party_member", "youth", "women", "professional")

CATEGORIES = (
    "elderly",               # 为老服务
    "children",              # 儿童关爱
    "disabled",              # 助残服务
    "poverty_relief",        # 帮困救助
    "community_governance",  # 社区治理
    "environment",           # 生态环保
    "culture_education",     # 文化教育
    "health",                # 医疗卫生
    "emergency",             # 应急救援
    "legal_aid",             # 法律援助
    "other",
)

AVAILABILITY = ("weekday_morning", "weekday_afternoon", "weekday_evening",
                "weekend_morning", "weekend_afternoon", "weekend_evening", "holidays")

MEMBER_ROLES = ("member", "leader")

# Hour entries: a record, or a correction of one; how they came; where they stand.
ENTRY_KINDS = ("record", "correction")
SOURCES = ("api", "import")
STATUSES = ("recorded", "approved", "rejected")

# What totals are kept of (totals.py), from a volunteer up to the province.
LEVELS = ("volunteer", "team", "station", "township", "county", "city", "province")

MAX_ACTIVITY_DAYS = 366

# Data rows one imported sheet may hold (sheets.py); more is a 413.
MAX_SHEET_ROWS = 5000
