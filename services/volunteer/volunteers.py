"""Volunteers: real-name registration, storage and views.

    volunteers: {_id: "V34010200000001",          # the unified volunteer number
                 name, phone, birth_date: "1958-03-01", skills: [...], availability: [...],
                 id_hash,                          # HMAC-SHA256 of the ID number (unique)
                 id_number_masked: "340102********123X",
                 region,                           # township (9) or county (6) code
                 station_id, division_code, county, city, province,
                 hours_seq,                        # bumped by every hours write (serialise_hours)
                 version, registered_at, registered_by, updated_at}

Decisions:
* The full ID number is never stored, answered or published. It is validated
  (checksum, birth date), hashed with the PII_HASH_KEY and masked, then
  dropped. A second registration with the same number is a 409 whose details
  name the existing volunteer_number; `POST /volunteers/lookup` tells the same
  without registering (the ID number in a body: URLs end up in logs).
* The number is `V` + the county code + an 8-digit sequence per county
  (services.common.sequences), taken inside the registering transaction: a
  failed registration gives its number back, so numbers have no gaps.
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

from services.common import access, audit, queries, sequences
from services.common.clock import china_today, now_ms
from services.common.errors import Conflict, NotFound, write_conflict
from services.common.jsonable import jsonable
from services.volunteer import ages, id_numbers, settings, stations_view


def ensure_indexes(db):
    db.volunteers.create_index([("id_hash", 1)], unique=True)
    for field in ("region", "county", "city", "province", "skills"):
        db.volunteers.create_index([(field, 1), ("_id", 1)])


def volunteer_number(county, seq):
    """V + the 6-digit county code + an 8-digit sequence of that county."""
    return f"V{county}{seq:08d}"


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
        "age": ages.age_on(_birth(volunteer), china_today()) if personal else None,
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


def _place(tx, data, caller):
    """Where the volunteer registers: the station's township, or a county."""
    if data.get("station_id"):
        station = stations_view.open_station(tx.db, data["station_id"], caller, tx.session)
        return {"region": station["division_code"], "station_id": station["_id"],
                **queries.regions_of(station)}
    county = data["county"]
    access.ensure_within(caller, county, "county")
    return {"region": county, "station_id": None, "division_code": None,
            "county": county, "city": county[:4], "province": county[:2]}


def _refuse_if_registered(db, id_hash, session=None):
    existing = db.volunteers.find_one({"id_hash": id_hash}, {"_id": 1}, session=session)
    if existing:
        raise Conflict(
            f"this ID number is already registered as volunteer {existing['_id']}",
            fields={"id_number": ["already registered"]},
            details={"volunteer_number": existing["_id"]})


def register(tx, data, caller):
    """Register a volunteer under real name (see the module doc)."""
    place = _place(tx, data, caller)
    id_hash = id_numbers.hash_id_number(data["id_number"], settings.pii_hash_key())
    _refuse_if_registered(tx.db, id_hash, tx.session)
    county = place["county"]
    now = now_ms()
    volunteer = {
        "_id": volunteer_number(county, sequences.next_number(tx, f"volunteer:{county}")),
        "name": data["name"].strip(),
        "phone": data["phone"],
        "birth_date": data["birth_date"].isoformat(),
        "skills": sorted(set(s.strip() for s in data.get("skills") or [])),
        "availability": sorted(set(data.get("availability") or [])),
        "id_hash": id_hash,
        "id_number_masked": id_numbers.mask_id_number(data["id_number"]),
        **place,
        "hours_seq": 0,
        "version": 1,
        "registered_at": now,
        "registered_by": access.actor(caller),
        "updated_at": now,
    }
    try:
        tx.db.volunteers.insert_one(volunteer, session=tx.session)
    except DuplicateKeyError:
        # The unique id_hash is the guarantee: registered at the same moment by
        # someone else. Run again; the check above then names them.
        raise write_conflict("the ID number was registered meanwhile")
    tx.emit("volunteer.registered", volunteer["_id"], event_data(volunteer))
    return view(volunteer, caller)


def find(db, number, session=None):
    return db.volunteers.find_one({"_id": number}, session=session)


def _load(db, number, caller, session=None):
    volunteer = find(db, number, session)
    if volunteer is None:
        raise NotFound(f"no volunteer {number}", fields={"number": ["not found"]})
    access.ensure_within(caller, volunteer["region"], "volunteer")
    return volunteer


def audit_shown(db, caller, volunteers):
    """Before an answer shows these volunteers' names and phones unmasked: who saw
    whom, in the audit trail (services/common/audit.py). Masked answers write nothing."""
    if access.sees_personal_data(caller):
        audit.saw_personal_data(db, "volunteer", "volunteer",
                                [(v["_id"], v.get("division_code") or v["region"]) for v in volunteers])


def get(db, number, caller):
    volunteer = _load(db, number, caller)
    audit_shown(db, caller, [volunteer])
    return view(volunteer, caller)


def update(tx, number, data, caller):
    volunteer = _load(tx.db, number, caller, tx.session)
    changes = dict(data)
    if "skills" in changes:
        changes["skills"] = sorted(set(s.strip() for s in changes["skills"]))
    if "availability" in changes:
        changes["availability"] = sorted(set(changes["availability"]))
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changes.update(updated_at=now_ms(), updated_by=access.actor(caller))
    result = tx.db.volunteers.update_one({"_id": number, "version": volunteer["version"]},
                                         {"$set": changes, "$inc": {"version": 1}}, session=tx.session)
    if result.matched_count != 1:
        raise Conflict("the volunteer was changed meanwhile; read again and retry")
    volunteer.update(changes)
    return view(volunteer, caller)


def lookup(db, id_number, caller):
    """The number of the volunteer registered with this ID number, in any region:
    what a second registration's 409 would tell, without trying one."""
    access.caller_region(caller)
    id_hash = id_numbers.hash_id_number(id_number, settings.pii_hash_key())
    found = numbers_by_id_hash(db, [id_hash]).get(id_hash)
    if found is None:
        raise NotFound("no volunteer is registered with this ID number",
                       fields={"id_number": ["not registered"]})
    return {"volunteer_number": found}


def numbers_by_id_hash(db, id_hashes):
    """{id_hash: volunteer number} of the registered ones among `id_hashes`."""
    if not id_hashes:
        return {}
    return {v["id_hash"]: v["_id"] for v in
            db.volunteers.find({"id_hash": {"$in": sorted(id_hashes)}}, {"id_hash": 1})}


def names(db, numbers):
    """{number: name} for a batch of volunteers."""
    return {v["_id"]: v["name"] for v in db.volunteers.find({"_id": {"$in": list(set(numbers))}},
                                                            {"name": 1})}


def serialise_hours(tx, numbers):
    """Make concurrent hour writes for these volunteers write-conflict: each one
    bumps their `hours_seq` before it reads their slots (hours_recording.py)."""
    if numbers:
        tx.db.volunteers.update_many({"_id": {"$in": sorted(numbers)}}, {"$inc": {"hours_seq": 1}},
                                     session=tx.session)


def registered_for_hours(tx, numbers):
    """{number: {_id, name}} of the registered volunteers among `numbers`, serialised
    (serialise_hours) for the hours about to be written."""
    if len(numbers) == 1:
        # The usual single submission: read and serialise in one step.
        (number,) = numbers
        found = tx.db.volunteers.find_one_and_update({"_id": number}, {"$inc": {"hours_seq": 1}},
                                                     projection={"name": 1}, session=tx.session)
        return {number: found} if found else {}
    known = {v["_id"]: v for v in tx.db.volunteers.find({"_id": {"$in": sorted(numbers)}}, {"name": 1},
                                                        session=tx.session)}
    serialise_hours(tx, set(known))
    return known


def _selector(query, caller):
    selector = queries.scoped(caller, query.get("region"), township_field="region")
    if query.get("skill"):
        selector["skills"] = query["skill"]
    return selector


def list_page(db, query, caller):
    def views(found):
        audit_shown(db, caller, found)
        return [view(v, caller) for v in found]

    return queries.page(db.volunteers, _selector(query, caller), query, views)


EXPORT_COLUMNS = [
    ("number", "志愿者编号"), ("name", "姓名"), ("id_number_masked", "身份证号(脱敏)"),
    ("phone", "手机号"), ("birth_date", "出生日期"), ("skills", "技能"),
    ("availability", "可服务时间"), ("region", "所属区划"), ("station_id", "登记站点"),
    ("registered_at", "登记时间"),
]


def export(db, query, caller):
    rows = queries.export_rows(db.volunteers, _selector(query, caller), [("_id", 1)])
    audit_shown(db, caller, rows)
    out = []
    for volunteer in rows:
        item = view(volunteer, caller)
        item["skills"] = "、".join(item["skills"])
        item["availability"] = "、".join(item["availability"])
        out.append([item.get(key) for key, _ in EXPORT_COLUMNS])
    return {"name": "volunteers", "columns": [{"key": k, "title": t} for k, t in EXPORT_COLUMNS],
            "rows": out}
