"""Certificates of volunteer service records (志愿服务记录证明).

    certificates: {_id: "ZYZM-2026-00000001", volunteer_number, name, id_number_masked,
                   region, county, city, province,        # the volunteer's (scope)
                   period_from, period_to,                # "YYYY-MM-DD", inclusive
                   activities: [{activity_id, title, category, station_id, team_id,
                                 records, minutes, hours}],
                   total_minutes, issued_at, issued_by, station_id, station_name}

Decisions:
* Issued by officers and station staff whose region holds the volunteer's
  region; numbered `ZYZM-<year>-<8 digits>` from a per-year counter (China
  year of issue), rolled back with a failed issue, so numbers have no gaps.
* It lists the volunteer's approved entries whose service date (the original
  record's, for corrections) lies in the period, grouped by activity, with
  corrections included (a correction's delta_minutes). A period without
  approved hours is a 409: there is nothing to certify.
* Stored once and never changed: later corrections do not alter an issued
  certificate; issue a new one.
* The issuing station is the one given, or for station staff the first open
  station of their township known here; it may be none (county officers).
* `GET /public/certificates/{number}` answers anyone with the number, the
  masked name, the period, the total and the issue time and station: nothing
  more. `certificate.issued` carries the number, volunteer number, period,
  total and station id.
"""
from services.common import access
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.volunteer import rules, stations_view, support


def ensure_indexes(db):
    db.certificates.create_index([("volunteer_number", 1), ("issued_at", -1)])
    for field in ("region", "county", "city", "province"):
        db.certificates.create_index([(field, 1), ("issued_at", -1)])


def _issuing_station(db, data, caller):
    if data.get("station_id"):
        station = stations_view.find(db, data["station_id"])
        if station is None:
            raise NotFound(f"station {data['station_id']} is not known", fields={"station_id": ["unknown station"]})
        access.ensure_within(caller, station["division_code"], "station_id")
        return station
    region = access.caller_region(caller)
    if len(region) == 9:
        return db.stations.find_one({"division_code": region, "status": {"$ne": "closed"}},
                                    sort=[("_id", 1)])
    return None


def entries_by_activity(db, number, period_from, period_to, session=None):
    """The approved entries of a volunteer in a period, by activity."""
    found = db.hours.find({"volunteer_number": number, "status": "approved",
                           "counted_on": {"$gte": period_from, "$lte": period_to}},
                          {"activity_id": 1, "kind": 1, "delta_minutes": 1}, session=session)
    by_activity = {}
    for entry in found:
        item = by_activity.setdefault(entry["activity_id"], {"records": 0, "minutes": 0})
        item["minutes"] += entry["delta_minutes"]
        if entry["kind"] == "record":
            item["records"] += 1
    activities = {a["_id"]: a for a in db.activities.find(
        {"_id": {"$in": sorted(by_activity)}}, {"title": 1, "category": 1, "station_id": 1, "team_id": 1},
        session=session)}
    out = []
    for activity_id in sorted(by_activity, key=lambda a: (activities.get(a, {}).get("title", ""), a)):
        item = by_activity[activity_id]
        if item["minutes"] == 0 and item["records"] == 0:
            continue
        activity = activities.get(activity_id, {})
        out.append({"activity_id": activity_id, "title": activity.get("title"),
                    "category": activity.get("category"), "station_id": activity.get("station_id"),
                    "team_id": activity.get("team_id"), "records": item["records"],
                    "minutes": item["minutes"], "hours": rules.format_hours(item["minutes"])})
    return out


def issue(db, record, data, caller):
    number = data["volunteer_number"]
    volunteer = db.volunteers.find_one({"_id": number})
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"volunteer_number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer_number")
    today = rules.china_today()
    if data["period_to"] > today:
        raise InvalidInput("to must not be after today", fields={"to": ["in the future"]})
    station = _issuing_station(db, data, caller)
    counter = f"certificate:{today.year}"
    support.ensure_counter(db, counter)
    period_from, period_to = data["period_from"].isoformat(), data["period_to"].isoformat()

    def create(tx):
        activities = entries_by_activity(tx.db, number, period_from, period_to, tx.session)
        total = sum(a["minutes"] for a in activities)
        if total <= 0:
            raise Conflict(f"volunteer {number} has no approved hours from {period_from} to {period_to}",
                           fields={"to": ["no approved hours in the period"]},
                           details={"volunteer_number": number})
        seq = support.next_seq(tx, counter)
        certificate = {
            "_id": rules.certificate_number(today.year, seq),
            "volunteer_number": number,
            "name": volunteer["name"],
            "id_number_masked": volunteer["id_number_masked"],
            **{k: volunteer.get(k) for k in ("region", "county", "city", "province")},
            "period_from": period_from,
            "period_to": period_to,
            "activities": activities,
            "total_minutes": total,
            "issued_at": support.now_ms(),
            "issued_by": access.actor(caller),
            "station_id": station["_id"] if station else None,
            "station_name": station["name"] if station else None,
        }
        tx.db.certificates.insert_one(certificate, session=tx.session)
        tx.emit("certificate.issued", certificate["_id"], jsonable({
            "number": certificate["_id"], "volunteer_number": number,
            "period_from": period_from, "period_to": period_to, "total_minutes": total,
            "station_id": certificate["station_id"],
            **{k: volunteer.get(k) for k in ("region", "county", "city", "province")}}))
        return view(certificate, caller)

    return support.with_counters(db, lambda: record(create))


def view(certificate, caller):
    personal = access.sees_personal_data(caller)
    return jsonable({
        "number": certificate["_id"],
        "volunteer_number": certificate["volunteer_number"],
        "name": certificate["name"] if personal else access.mask_name(certificate["name"]),
        "id_number_masked": certificate["id_number_masked"],
        "from": certificate["period_from"],
        "to": certificate["period_to"],
        "activities": certificate["activities"],
        "total_minutes": certificate["total_minutes"],
        "total_hours": rules.format_hours(certificate["total_minutes"]),
        "issued_at": certificate["issued_at"],
        "issued_by": certificate["issued_by"],
        "station_id": certificate.get("station_id"),
        "station_name": certificate.get("station_name"),
    })


def _find(db, number):
    certificate = db.certificates.find_one({"_id": number})
    if certificate is None:
        raise NotFound(f"no certificate {number}", fields={"number": ["not found"]})
    return certificate


def get(db, number, caller):
    certificate = _find(db, number)
    access.ensure_within(caller, certificate["region"], "number")
    return view(certificate, caller)


def verify(db, number):
    """What anyone holding the number may read."""
    if not isinstance(number, str) or len(number) > 40:
        raise NotFound("no such certificate", fields={"number": ["not found"]})
    certificate = _find(db, number)
    return jsonable({
        "number": certificate["_id"],
        "name": access.mask_name(certificate["name"]),
        "from": certificate["period_from"],
        "to": certificate["period_to"],
        "total_minutes": certificate["total_minutes"],
        "total_hours": rules.format_hours(certificate["total_minutes"]),
        "issued_at": certificate["issued_at"],
        "station_name": certificate.get("station_name"),
    })


def list_page(db, query, caller):
    selector = support.scoped(caller, query.get("region"), township_field="region")
    if query.get("volunteer_number"):
        selector["volunteer_number"] = query["volunteer_number"]
    return support.page(db.certificates, selector, query,
                        lambda found: [view(c, caller) for c in found], sort=(("_id", -1),))
