"""Every list the registry answers, as the rows of a CSV or Excel download.

Each export answers {"name", "columns": [{"key", "title"}], "rows": [[...]]},
which the gateway renders (gateway/exports.py). The station, staff and room
exports write the headings and words the import reads (sheet_format: the first
of each), so an exported sheet imports back with every row `unchanged`;
the checklist, staffing-gap and coverage exports are reports, not sheets to
import. Region names are the divisions' current ones (what the import checks
a code's names against). Staff names and phones are masked unless the caller's
role needs them, and an unmasked staff export is audited first
(stations.audit_shown). At most queries.EXPORT_LIMIT stations per export.
"""
from services.common import access
from services.registry import coverage, divisions, sheet_format, sheet_history, stations
from services.registry.schemas import CHECKLIST_ITEMS

STATION_COLUMNS = ("station_id", "city", "county", "township", "division_code", "name", "address",
                   "population_served", "operator_name", "operator_credit_code", "contract_start",
                   "contract_end", "second_station_reason", *sheet_history.DATE_FIELDS, "status")
STAFF_COLUMNS = ("station_id", "county", "township", "division_code", "station_name", "staff_id",
                 "person_name", "role", "phone", "certification", "since")
ROOM_COLUMNS = ("station_id", "county", "township", "division_code", "station_name", "room_id",
                "room_kind", "room_name", "village_code", "village", "address", "opened_on")
DATE_JOIN = "、"


def _sheet(name, kind, keys, rows):
    return {"name": name,
            "columns": [{"key": key, "title": sheet_format.heading(kind, key)} for key in keys],
            "rows": [[row.get(key) for key in keys] for row in rows]}


def _report(name, columns, rows):
    return {"name": name, "columns": [{"key": k, "title": t} for k, t in columns],
            "rows": [[row.get(key) for key, _ in columns] for row in rows]}


def _names(db, found, extra_codes=()):
    """{code: current name} of the stations' townships, counties and cities."""
    codes = {s[level] for s in found for level in ("division_code", "county", "city")}
    return {code: doc["name"] for code, doc in
            divisions.by_code(db, sorted(codes | set(extra_codes))).items()}


def _region(station, names):
    code = station["division_code"]
    return {"station_id": station["_id"], "division_code": code,
            "township": names.get(code, station["division_name"]),
            "county": names.get(station["county"]), "city": names.get(station["city"])}


def _status(status):
    return sheet_format.word_of(sheet_format.STATUS_WORDS, status)


def station_row(station, names):
    operator = station.get("operator") or {}
    dates = sheet_history.dates_of(station["history"])
    for field in sheet_history.LIST_FIELDS:
        dates[field] = DATE_JOIN.join(dates[field]) or None
    return {**_region(station, names), "name": station["name"], "address": station.get("address"),
            "population_served": station["population_served"],
            "operator_name": operator.get("name"), "operator_credit_code": operator.get("credit_code"),
            "contract_start": operator.get("contract_start"), "contract_end": operator.get("contract_end"),
            "second_station_reason": station.get("second_station_reason"), **dates,
            "status": _status(station["status"])}


def export_stations(db, query, caller):
    found = stations.export_rows(db, stations.selector(query, caller))
    names = _names(db, found)
    return _sheet("stations", sheet_format.STATION, STATION_COLUMNS,
                  [station_row(s, names) for s in found])


def export_staff(db, query, caller):
    found = stations.export_rows(db, stations.selector(query, caller))
    stations.audit_shown(db, caller, found)
    names = _names(db, found)
    rows = []
    for station in found:
        for member in station.get("staff", []):
            shown = stations.staff_view(member, caller)
            rows.append({**_region(station, names), "station_name": station["name"],
                         "staff_id": member["id"], "person_name": shown["name"],
                         "role": sheet_format.word_of(sheet_format.ROLE_WORDS, member["role"]),
                         "phone": shown.get("phone"),
                         "certification": sheet_format.word_of(sheet_format.CERTIFICATION_WORDS,
                                                               member.get("certification") or "none"),
                         "since": member.get("since")})
    return _sheet("station-staff", sheet_format.STAFF, STAFF_COLUMNS, rows)


def export_rooms(db, query, caller):
    found = stations.export_rows(db, stations.selector(query, caller))
    villages = {r["village_code"] for s in found for r in s.get("rooms", [])}
    names = _names(db, found, villages)
    rows = []
    for station in found:
        for room in station.get("rooms", []):
            rows.append({**_region(station, names), "station_name": station["name"],
                         "room_id": room["id"],
                         "room_kind": sheet_format.word_of(sheet_format.ROOM_KIND_WORDS, room["kind"]),
                         "room_name": room["name"], "village_code": room["village_code"],
                         "village": names.get(room["village_code"]), "address": room.get("address"),
                         "opened_on": room.get("opened_on")})
    return _sheet("station-rooms", sheet_format.ROOM, ROOM_COLUMNS, rows)


def _heading(key):
    return sheet_format.heading(sheet_format.STATION, key)


CHECKLIST_COLUMNS = [(k, _heading(k)) for k in ("station_id", "division_code", "township", "name")] + [
    ("status", _heading("status")), ("checklist_met", "满足项数")] + [
    column for item in CHECKLIST_ITEMS for column in (
        (item, sheet_format.CHECKLIST_TITLES[item]),
        (f"{item}_attested_on", f"{sheet_format.CHECKLIST_TITLES[item]}核验日期"),
        (f"{item}_note", f"{sheet_format.CHECKLIST_TITLES[item]}说明"))]


def export_checklists(db, query, caller):
    found = stations.export_rows(db, stations.selector(query, caller))
    names = _names(db, found)
    rows = []
    for station in found:
        row = {**_region(station, names), "name": station["name"], "status": _status(station["status"])}
        checklist = station["checklist"]
        row["checklist_met"] = sum(1 for entry in checklist.values() if entry["state"] == "met")
        for item in CHECKLIST_ITEMS:
            entry = checklist.get(item) or {}
            row[item] = sheet_format.word_of(sheet_format.CHECKLIST_STATE_WORDS, entry.get("state"))
            row[f"{item}_attested_on"] = entry.get("attested_on")
            row[f"{item}_note"] = entry.get("note")
        rows.append(row)
    return _report("station-checklists", CHECKLIST_COLUMNS, rows)


GAP_COLUMNS = [(k, _heading(k)) for k in ("station_id", "division_code", "township", "name", "status",
                                          "population_served")] + [
    ("missing_head", "缺站长"), ("missing_supervisor", "缺督导"), ("missing_resident", "缺驻站社工")]


def export_staffing_gaps(db, query, caller):
    found = stations.export_rows(db, stations.gaps_selector(query, caller))
    names = _names(db, found)
    rows = []
    for station in found:
        missing = station["staffing"].get("missing") or {}
        rows.append({**_region(station, names), "name": station["name"],
                     "status": _status(station["status"]),
                     "population_served": station["population_served"],
                     **{f"missing_{role}": missing.get(role, 0)
                        for role in ("head", "supervisor", "resident")}})
    return _report("staffing-gaps", GAP_COLUMNS, rows)


COVERAGE_COLUMNS = [("region", "区划代码"), ("name", "名称"), ("units", "乡镇(街道)数"),
                    ("with_station", "有站点"), ("operating", "有运营站点"),
                    ("coverage_rate", "覆盖率"), ("operating_rate", "运营率"),
                    ("other_units", "其他单位数"), ("as_of", "截至日期")]


def export_coverage(db, query, caller):
    """The region's figures (first row) and each child's, as of the date asked."""
    access.ensure_within(caller, query["region"], "region")
    answer = coverage.asked(db, query, caller)
    rows = [{**answer, "name": f"{answer['name']}（合计）"}] + [
        {**child, "as_of": answer["as_of"]} for child in answer["children"]]
    return _report(f"coverage-{answer['region']}-{answer['as_of']}", COVERAGE_COLUMNS, rows)


TEMPLATES = {sheet_format.STATION: STATION_COLUMNS, sheet_format.STAFF: STAFF_COLUMNS,
             sheet_format.ROOM: ROOM_COLUMNS}


def template(kind):
    """An empty sheet of one kind with every heading the exports write (the blank
    columns of a new province's sheet stay blank: 站点编号, 人员编号, 社工室编号)."""
    return _sheet(f"template-{kind}", kind, TEMPLATES[kind], [])
