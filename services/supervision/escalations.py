"""The escalation lists: each step of an overdue rectification item is a line in the
list of the region it was escalated to (county, then city, then province).

    escalations: {_id: "<item id>:<level>", rectification_id, station_id, division_code,
                  county, city, province, level, to, severity, deadline, escalated_at}
"""
from services.common import access, queries
from services.common.jsonable import jsonable

EXPORT_COLUMNS = [("rectification_id", "整改编号"), ("station_id", "社工站编号"), ("level", "层级"),
                  ("to", "上报至"), ("severity", "严重程度"), ("deadline", "整改期限"),
                  ("escalated_at", "上报时间")]


def ensure_indexes(db):
    db.escalations.create_index([("to", 1), ("escalated_at", -1)])


def record(tx, item, level, to, at):
    doc = {"_id": f"{item['_id']}:{level}", "rectification_id": item["_id"],
           **{k: item[k] for k in ("station_id", "division_code", "county", "city", "province",
                                   "severity", "deadline")},
           "level": level, "to": to, "escalated_at": at}
    tx.db.escalations.insert_one(doc, session=tx.session)
    return doc


def view(doc):
    return jsonable({**{k: v for k, v in doc.items() if k != "_id"}, "id": doc["_id"]})


def _selector(query, caller):
    return {"to": access.narrow(caller, query.get("region"))}


def list_page(db, query, caller):
    return queries.page(db.escalations, _selector(query, caller), query,
                        lambda docs: [view(d) for d in docs], sort=(("escalated_at", -1), ("_id", 1)))


def export(db, query, caller):
    docs = queries.export_rows(db.escalations, _selector(query, caller), [("escalated_at", -1), ("_id", 1)])
    return {"name": "escalations", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": [[view(d).get(k) for k, _ in EXPORT_COLUMNS] for d in docs]}
