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
  year of issue, services.common.sequences) taken inside the issuing
  transaction: a failed issue gives its number back, so numbers have no gaps.
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
from services.common import access, audit, queries, sequences
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.jsonable import jsonable
from services.volunteer import activities, hour_records, stations_view, volunteers
from services.volunteer.hour_rules import format_hours


def ensure_indexes(db):
    db.certificates.create_index([("volunteer_number", 1), ("issued_at", -1)])
    for field in ("region", "county", "city", "province"):
        db.certificates.create_index([(field, 1), ("issued_at", -1)])


def certificate_number(year, seq):
    return f"ZYZM-{year}-{seq:08d}"


def _issuing_station(db, data, caller, session=None):
    if data.get("station_id"):
        station = stations_view.find(db, data["station_id"], session)
        if station is None:
            raise NotFound(f"station {data['station_id']} is not known", fields={"station_id": ["unknown station"]})
        access.ensure_within(caller, station["division_code"], "station_id")
        return station
    region = access.caller_region(caller)
    if len(region) == 9:
        return stations_view.first_open_in(db, region, session)
    return None


def entries_by_activity(db, number, period_from, period_to, session=None):
    """The approved entries of a volunteer in a period, by activity."""
    by_activity = {}
    for entry in hour_records.approved_entries(db, number, period_from, period_to, session):
        item = by_activity.setdefault(entry["activity_id"], {"records": 0, "minutes": 0})
        item["minutes"] += entry["delta_minutes"]
        if entry["kind"] == "record":
            item["records"] += 1
    found = activities.find_many(db, by_activity, session)
    out = []
    for activity_id in sorted(by_activity, key=lambda a: (found.get(a, {}).get("title", ""), a)):
        item = by_activity[activity_id]
        if item["minutes"] == 0 and item["records"] == 0:
            continue
        activity = found.get(activity_id, {})
        out.append({"activity_id": activity_id, "title": activity.get("title"),
                    "category": activity.get("category"), "station_id": activity.get("station_id"),
                    "team_id": activity.get("team_id"), "records": item["records"],
                    "minutes": item["minutes"], "hours": format_hours(item["minutes"])})
    return out


def issue(tx, data, caller):
    """Issue a certificate for a volunteer and a period (see the module doc)."""
    number = data["volunteer_number"]
    volunteer = volunteers.find(tx.db, number, tx.session)
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"volunteer_number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer_number")
    today = china_today()
    if data["period_to"] > today:
        raise InvalidInput("to must not be after today", fields={"to": ["in the future"]})
    station = _issuing_station(tx.db, data, caller, tx.session)
    period_from, period_to = data["period_from"].isoformat(), data["period_to"].isoformat()
    listed = entries_by_activity(tx.db, number, period_from, period_to, tx.session)
    total = sum(a["minutes"] for a in listed)
    if total <= 0:
        raise Conflict(f"volunteer {number} has no approved hours from {period_from} to {period_to}",
                       fields={"to": ["no approved hours in the period"]},
                       details={"volunteer_number": number})
    seq = sequences.next_number(tx, f"certificate:{today.year}")
    certificate = {
        "_id": certificate_number(today.year, seq),
        "volunteer_number": number,
        "name": volunteer["name"],
        "id_number_masked": volunteer["id_number_masked"],
        **{k: volunteer.get(k) for k in ("region", "county", "city", "province")},
        "period_from": period_from,
        "period_to": period_to,
        "activities": listed,
        "total_minutes": total,
        "issued_at": now_ms(),
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
        "total_hours": format_hours(certificate["total_minutes"]),
        "issued_at": certificate["issued_at"],
        "issued_by": certificate["issued_by"],
        "station_id": certificate.get("station_id"),
        "station_name": certificate.get("station_name"),
    })


def _audit_shown(db, caller, certificates):
    # A certificate names its volunteer: showing the name unmasked is audited first.
    if certificates and access.sees_personal_data(caller):
        audit.saw_personal_data(db, "volunteer", "volunteer",
                                [(c["volunteer_number"], c["region"]) for c in certificates])


def get(db, number, caller):
    certificate = queries.load_in_region(db.certificates, number, caller, what="certificate",
                                         field="number", region_field="region")
    _audit_shown(db, caller, [certificate])
    return view(certificate, caller)


def verify(db, number):
    """What anyone holding the number may read."""
    if not isinstance(number, str) or len(number) > 40:
        raise NotFound("no such certificate", fields={"number": ["not found"]})
    certificate = db.certificates.find_one({"_id": number})
    if certificate is None:
        raise NotFound(f"no certificate {number}", fields={"number": ["not found"]})
    return jsonable({
        "number": certificate["_id"],
        "name": access.mask_name(certificate["name"]),
        "from": certificate["period_from"],
        "to": certificate["period_to"],
        "total_minutes": certificate["total_minutes"],
        "total_hours": format_hours(certificate["total_minutes"]),
        "issued_at": certificate["issued_at"],
        "station_name": certificate.get("station_name"),
    })


def list_page(db, query, caller):
    selector = queries.scoped(caller, query.get("region"), township_field="region")
    if query.get("volunteer_number"):
        selector["volunteer_number"] = query["volunteer_number"]
    def views(found):
        _audit_shown(db, caller, found)
        return [view(c, caller) for c in found]

    return queries.page(db.certificates, selector, query, views, sort=(("_id", -1),))
