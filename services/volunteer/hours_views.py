"""Hour records as the API shows them: one entry, lists and exports.

A record's `corrections` and `current_minutes` (its minutes after them) are
in the answers about that one record, not in lists. Names are masked for
roles that do not need them (access.sees_personal_data).
"""
from services.common import access, audit, queries
from services.common.clock import CHINA
from services.common.jsonable import jsonable
from services.volunteer import activities, hour_records, volunteers
from services.volunteer.hour_rules import format_hours


def view(record, caller, name=None, title=None, corrections=None, current_minutes=None):
    personal = access.sees_personal_data(caller)
    out = {
        "id": record["_id"],
        "kind": record["kind"],
        "volunteer_number": record["volunteer_number"],
        "volunteer_name": (name if personal else access.mask_name(name)) if name else None,
        "activity_id": record["activity_id"],
        "activity_title": title,
        "team_id": record["team_id"],
        "station_id": record["station_id"],
        "division_code": record["division_code"],
        "start": record.get("start"),
        "end": record.get("end"),
        "service_date": record["service_date"],
        "counted_on": record["counted_on"],
        "minutes": record["minutes"],
        "delta_minutes": record["delta_minutes"],
        "hours": format_hours(record["minutes"]),
        "status": record["status"],
        "note": record.get("note"),
        "corrects": record.get("corrects"),
        "reason": record.get("reason"),
        "recorded_at": record["recorded_at"],
        "recorded_by": record["recorded_by"],
        "decided_at": record.get("decided_at"),
        "decided_by": record.get("decided_by"),
        "rejection_reason": record.get("rejection_reason"),
        "source": record.get("source", "api"),
    }
    if record["kind"] == "record" and corrections is not None:
        out["corrections"] = corrections
        out["current_minutes"] = current_minutes
    return jsonable(out)


def _labels(db, records, caller):
    """Volunteers' names and activities' titles for these records; showing names
    unmasked is audited first (services/common/audit.py)."""
    if records and access.sees_personal_data(caller):
        audit.saw_personal_data(db, "volunteer", "volunteer", sorted(
            {(r["volunteer_number"], r["division_code"]) for r in records}))
    names = volunteers.names(db, [r["volunteer_number"] for r in records])
    titles = activities.titles(db, [r["activity_id"] for r in records])
    return names, titles


def view_one(db, record, caller, corrections=None, current=None):
    """The entry as the API shows it; a record's corrections and current minutes
    are looked up unless the caller knows them (a decision: none yet)."""
    names, titles = _labels(db, [record], caller)
    if record["kind"] == "record" and corrections is None:
        corrections = hour_records.corrections_of(db, record["_id"])
        current = hour_records.current_minutes(hour_records.find_slot(db, record["_id"]))
    return view(record, caller, names.get(record["volunteer_number"]), titles.get(record["activity_id"]),
                corrections, current)


def get(db, record_id, caller):
    return view_one(db, hour_records.load(db, record_id, caller), caller)


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"))
    for key in ("station_id", "team_id", "activity_id", "volunteer_number", "status", "kind"):
        if query.get(key):
            selector[key] = query[key]
    dates = {}
    if query.get("date_from"):
        dates["$gte"] = str(query["date_from"])
    if query.get("date_to"):
        dates["$lte"] = str(query["date_to"])
    if dates:
        selector["counted_on"] = dates
    return selector


def list_page(db, query, caller):
    def views(found):
        names, titles = _labels(db, found, caller)
        return [view(r, caller, names.get(r["volunteer_number"]), titles.get(r["activity_id"]))
                for r in found]

    return hour_records.page(db, _selector(query, caller), query, views)


def _china(moment):
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else None


STATUS_NAMES = {"recorded": "待审核", "approved": "已审核", "rejected": "已驳回"}
KIND_NAMES = {"record": "记录", "correction": "更正"}
EXPORT_COLUMNS = [
    ("id", "记录编号"), ("kind", "类型"), ("volunteer_number", "志愿者编号"), ("volunteer_name", "姓名"),
    ("activity_id", "活动编号"), ("activity_title", "活动名称"), ("team_id", "服务队"),
    ("station_id", "站点"), ("start", "开始时间(北京时间)"), ("end", "结束时间(北京时间)"),
    ("service_date", "服务日期"), ("minutes", "时长(分钟)"), ("delta_minutes", "计入时长(分钟)"),
    ("hours", "时长(小时)"), ("status", "状态"), ("corrects", "更正的记录"), ("reason", "更正原因"),
    ("recorded_by", "记录人"), ("recorded_at", "记录时间(北京时间)"),
]


def export(db, query, caller):
    found = hour_records.export_rows(db, _selector(query, caller))
    names, titles = _labels(db, found, caller) if found else ({}, {})
    rows = []
    for record in found:
        item = view(record, caller, names.get(record["volunteer_number"]), titles.get(record["activity_id"]))
        item.update(start=_china(record.get("start")), end=_china(record.get("end")),
                    recorded_at=_china(record["recorded_at"]),
                    status=STATUS_NAMES[record["status"]], kind=KIND_NAMES[record["kind"]])
        rows.append([item.get(key) for key, _ in EXPORT_COLUMNS])
    return {"name": "hours", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": rows}
