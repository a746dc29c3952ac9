"""Volunteers: real-name registration, storage and views.

    volunteers: {_id: "V34010200000001",          # the unified volunteer number
                 name, phone, birth_date: "1958-03-01", skills: [...], availability: [...],
                 id_hash,                          # HMAC-SHA256 of the ID number (unique)
                 id_number_masked: "340102********123X",
                 region,                           # township (9) or county (6) code
                 station_id, division_code, county, city, province,
                 hours_seq,                        # bumped by every hours write (see hours.py)
                 version, registered_at, registered_by, updated_at}

Decisions:
* The full ID number is never stored, answered or published. It is validated
  (checksum, birth date), hashed with the PII_HASH_KEY and masked, then
  dropped. A second registration with the same number is a 409 whose details
  name the existing volunteer_number; `POST /volunteers/lookup` tells the same
  without registering (the ID number in a body: URLs end up in logs).
* The number is `V` + the county code + an 8-digit sequence per county, from a
  counter created before the transaction that increments it; the transaction
  rolls the counter back with everything else, so numbers have no gaps.
* A volunteer belongs to the registering station's township, or to a county
  when registered at county level (`county` instead of `station_id`); region
  scope is that code. Volunteers serve anywhere: recording hours or adding
  them to a team does not need them in the recorder's region.
* Names, phones and birth dates are shown to roles that need them
  (access.sees_personal_data); others see 张*三, 138****0000 and no birth date.
* The `volunteer.registered` event carries the number and region codes only.
"""
import datetime

from pymongo.errors import DuplicateKeyError

from services.common import access
from services.common.errors import Conflict, NotFound
from services.common.jsonable import jsonable
from services.volunteer import rules, stations_view, support


def ensure_indexes(db):
    db.volunteers.create_index([("id_hash", 1)], unique=True)
    for field in ("region", "county", "city", "province", "skills"):
        db.volunteers.create_index([(field, 1), ("_id", 1)])


def _birth(volunteer):
    return datetime.date.fromisoformat(volunteer["birth_date"])


def view(volunteer, caller):
    personal = access.sees_personal_data(caller)
    return jsonable({
        "number": volunteer["_id"],
        "name": volunteer["name"] if personal else access.mask_name(volunteer["name"]),
        "id_number_masked": volunteer["id_number_masked"],
        "phone": volunteer["phone"] if personal else access.mask_phone(volunteer["phone"]),
        "birth_date": volunteer["birth_date"] if personal else None,
        "age": rules.age_on(_birth(volunteer), rules.china_today()) if personal else None,
        "skills": volunteer.get("skills", []),
        "availability": volunteer.get("availability", []),
        "region": volunteer["region"],
        "station_id": volunteer.get("station_id"),
        "county": volunteer["county"],
        "registered_at": volunteer["registered_at"],
        "updated_at": volunteer.get("updated_at"),
    })


def event_data(volunteer):
    return {"volunteer_number": volunteer["_id"], "region": volunteer["region"],
            "station_id": volunteer.get("station_id"), "division_code": volunteer.get("division_code"),
            "county": volunteer["county"], "city": volunteer["city"],
            "province": volunteer["province"]}


def _duplicate(existing_number):
    return Conflict(
        f"this ID number is already registered as volunteer {existing_number}",
        fields={"id_number": ["already registered"]},
        details={"volunteer_number": existing_number})


def register(db, record, data, caller):
    """Register a volunteer; `record` is the outbox's record(fn)."""
    if data.get("station_id"):
        station = stations_view.open_station(db, data["station_id"], caller)
        place = {"region": station["division_code"], "station_id": station["_id"],
                 **support.station_regions(station)}
    else:
        county = data["county"]
        access.ensure_within(caller, county, "county")
        place = {"region": county, "station_id": None, "division_code": None,
                 "county": county, "city": county[:4], "province": county[:2]}
    id_hash = rules.hash_id_number(data["id_number"], support.pii_hash_key())
    existing = db.volunteers.find_one({"id_hash": id_hash}, {"_id": 1})
    if existing:
        raise _duplicate(existing["_id"])
    counter = f"volunteer:{place['county']}"
    support.ensure_counter(db, counter)

    def create(tx):
        seq = support.next_seq(tx, counter)
        now = support.now_ms()
        volunteer = {
            "_id": rules.volunteer_number(place["county"], seq),
            "name": data["name"].strip(),
            "phone": data["phone"],
            "birth_date": data["birth_date"].isoformat(),
            "skills": sorted(set(s.strip() for s in data.get("skills") or [])),
            "availability": sorted(set(data.get("availability") or [])),
            "id_hash": id_hash,
            "id_number_masked": rules.mask_id_number(data["id_number"]),
            **place,
            "hours_seq": 0,
            "version": 1,
            "registered_at": now,
            "registered_by": access.actor(caller),
            "updated_at": now,
        }
        tx.db.volunteers.insert_one(volunteer, session=tx.session)
        tx.emit("volunteer.registered", volunteer["_id"], event_data(volunteer))
        return view(volunteer, caller)

    try:
        return support.with_counters(db, lambda: record(create))
    except DuplicateKeyError:
        # Registered at the same moment by someone else.
        existing = db.volunteers.find_one({"id_hash": id_hash}, {"_id": 1})
        if existing:
            raise _duplicate(existing["_id"])
        raise


def find(db, number, session=None):
    return db.volunteers.find_one({"_id": number}, session=session)


def require(db, number, session=None):
    """The registered volunteer, or the 409 a record for an unknown one gets."""
    volunteer = find(db, number, session)
    if volunteer is None:
        raise rules.not_registered(number)
    return volunteer


def get(db, number, caller):
    volunteer = find(db, number)
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer")
    return view(volunteer, caller)


def update(tx, number, data, caller):
    volunteer = find(tx.db, number, tx.session)
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer")
    changes = dict(data)
    if "skills" in changes:
        changes["skills"] = sorted(set(s.strip() for s in changes["skills"]))
    if "availability" in changes:
        changes["availability"] = sorted(set(changes["availability"]))
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changes.update(updated_at=support.now_ms(), updated_by=access.actor(caller))
    result = tx.db.volunteers.update_one({"_id": number, "version": volunteer["version"]},
                                         {"$set": changes, "$inc": {"version": 1}}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the volunteer was changed meanwhile; read again and retry")
    volunteer.update(changes)
    return view(volunteer, caller)


def _selector(query, caller):
    selector = support.scoped(caller, query.get("region"), township_field="region")
    if query.get("skill"):
        selector["skills"] = query["skill"]
    return selector


def lookup(db, id_number, caller):
    """The number of the volunteer registered with this ID number, in any region:
    what a second registration's 409 would tell, without trying one."""
    access.caller_region(caller)
    found = db.volunteers.find_one({"id_hash": rules.hash_id_number(id_number, support.pii_hash_key())},
                                   {"_id": 1})
    if found is None:
        raise NotFound("no volunteer is registered with this ID number",
                       fields={"id_number": ["not registered"]})
    return {"volunteer_number": found["_id"]}


def list_page(db, query, caller):
    return support.page(db.volunteers, _selector(query, caller), query,
                        lambda found: [view(v, caller) for v in found])


def names(db, numbers):
    """{number: name} for a batch of volunteers."""
    return {v["_id"]: v["name"] for v in db.volunteers.find({"_id": {"$in": list(set(numbers))}},
                                                            {"name": 1})}


EXPORT_COLUMNS = [
    ("number", "志愿者编号"), ("name", "姓名"), ("id_number_masked", "身份证号(脱敏)"),
    ("phone", "手机号"), ("birth_date", "出生日期"), ("skills", "技能"),
    ("availability", "可服务时间"), ("region", "所属区划"), ("station_id", "登记站点"),
    ("registered_at", "登记时间"),
]


def export(db, query, caller):
    rows = support.export_rows(db.volunteers, _selector(query, caller), [("_id", 1)])
    out = []
    for volunteer in rows:
        item = view(volunteer, caller)
        item["skills"] = "、".join(item["skills"])
        item["availability"] = "、".join(item["availability"])
        out.append([item.get(key) for key, _ in EXPORT_COLUMNS])
    return {"name": "volunteers", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": out}
