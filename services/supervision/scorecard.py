"""Scorecards: pre-aggregated per region and month, kept by events (scorecard_feed.py).

    scorecard: {_id: "county:340102:2026-11", level (station | county | city | province),
                code, parent, province, month,
                d: {level figure: change this month},     # levels: sum of changes up to M
                f: {flow figure: count of this month}}    # flows: this month's own counts

Every event the scorecard hears adds ($inc) to the documents of its station,
county and city for one or a few months, in the inbox transaction (one
`bulk_write`). A province's figures are its cities' summed (plus its own
documents, which hold only what belongs to no city, such as a province fund's
money), so no document is written by every event (`places`). A question reads,
for the asked code and for its children (the next level down), the documents
of the months up to the asked one: a few dozen documents a year per code,
whatever the number of stations, reports or records behind them. Nothing is
scanned. Region names come from `region_names` (stations_view.py).

Figures (figures.py): station status and 六有 (`live`, `operating`,
`liuyou_items`, `liuyou_full`), 1+1+X (`staffing_ok`), supervision this quarter
(`sessions_quarter`, `supervised_quarter`), the latest inspection score
(`inspected`, `score_centi`), rectification (`rect_open`, `rect_overdue`,
`rect_opened`, `rect_closed`), monthly reports (`reports_on_time`,
`reports_late`, `reports_overdue`, `reports_missing`, `reports_returned`),
volunteer hours and active volunteers (`volunteer_minutes`,
`volunteers_active`), money raised and spent (`raised_fen`, `spent_fen`).
Rates and the overall score are computed from them with the weights of
SUPERVISION_SCORE_WEIGHTS (docs/supervision.md).
"""
import collections

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import access
from services.common.clock import china_today
from services.common.errors import InvalidInput, NotFound, write_conflict
from services.supervision import figures, rules, settings, stations_view

CHILD = {"province": "city", "city": "county", "county": "station", "station": None}
LEVEL_OF = {2: "province", 4: "city", 6: "county"}
RATES = ("supervision", "inspection", "reports", "rectification", "liuyou", "staffing")
RANK_COLUMNS = [("rank", "名次"), ("code", "代码"), ("name", "名称"), ("value", "指标值")]


def ensure_indexes(db):
    db.scorecard.create_index([("level", 1), ("code", 1), ("month", 1)])
    db.scorecard.create_index([("parent", 1), ("level", 1), ("month", 1)])
    db.scorecard.create_index([("province", 1), ("level", 1), ("month", 1)])


def places(regions):
    """(level, code, parent, province) of every document an event of these regions adds to.

    A province's figures are the sum of its cities' (read anyway as its children)
    and of its own documents, which hold only what belongs to no city (a province
    fund's money): so no document is written by every event, and events of
    different cities never contend for one (service.py handles them side by side)."""
    out = []
    province = regions.get("province")
    chain = [("station", regions.get("station_id"), regions.get("county")),
             ("county", regions.get("county"), regions.get("city")),
             ("city", regions.get("city"), province)]
    for level, code, parent in chain:
        if code:
            out.append((level, code, parent, province))
    if not regions.get("city") and province:
        out.append(("province", province, None, province))
    return out


def inc(levels=None, flows=None):
    """The $inc fields of level changes and flow counts."""
    fields = {f"d.{k}": v for k, v in (levels or {}).items() if v}
    fields.update({f"f.{k}": v for k, v in (flows or {}).items() if v})
    return fields


def write(db, session, month, changes):
    """changes: [((level, code, parent, province), {"$inc" fields})]: one bulk_write."""
    write_months(db, session, [(month, place, change) for place, change in changes])


def write_months(db, session, changes):
    """changes: [(month, (level, code, parent, province), {"$inc" fields})]: one bulk_write,
    one upsert per document. Changes of one document are summed (a sum of 0 is kept: the
    upserts one by one would have left the field at 0), and the first one's place is the
    one a new document gets, as with the upserts one by one."""
    summed = {}
    for month, (level, code, parent, province), change in changes:
        if not change:
            continue
        key = f"{level}:{code}:{month}"
        if key not in summed:
            summed[key] = ({"level": level, "code": code, "parent": parent, "province": province,
                            "month": month}, {})
        total = summed[key][1]
        for field, value in change.items():
            total[field] = total.get(field, 0) + value
    if not summed:
        return
    writes = [UpdateOne({"_id": key}, {"$inc": total, "$setOnInsert": place}, upsert=True)
              for key, (place, total) in summed.items()]
    try:
        db.scorecard.bulk_write(writes, ordered=False, session=session)
    except (DuplicateKeyError, BulkWriteError):
        # Two upserts raced to create one document (docs/mongo-wire-server.md, trap 3).
        raise write_conflict(f"scorecard documents of {sorted({c[0] for c in changes})} created meanwhile")


def increment(db, session, regions, month, levels=None, flows=None):
    """Add `levels` changes and `flows` counts of `month` to every place of `regions`."""
    change = inc(levels, flows)
    write(db, session, month, [(place, change) for place in places(regions)])


def apply_steps(db, session, regions, steps):
    """Level changes of several months: one bulk_write for them all."""
    where = places(regions)
    write_months(db, session, [(month, place, inc(levels=change))
                               for month, change in sorted(steps.items()) for place in where])


# -- questions ---------------------------------------------------------------------------------


def _zero():
    return {"levels": dict.fromkeys(figures.LEVELS, 0), "flows": dict.fromkeys(figures.FLOWS, 0),
            "quarter": {"sessions": 0, "supervised": 0}}


def _summed(docs, month):
    """{code: {levels, flows, quarter}} of documents up to `month`."""
    quarter = set(rules.quarter_months(rules.quarter_of(month)))
    out = collections.defaultdict(_zero)
    for doc in docs:
        sums = out[doc["code"]]
        for k, v in (doc.get("d") or {}).items():
            sums["levels"][k] = sums["levels"].get(k, 0) + v
        if doc["month"] == month:
            for k, v in (doc.get("f") or {}).items():
                sums["flows"][k] = sums["flows"].get(k, 0) + v
        if doc["month"] in quarter:
            for k in ("sessions", "supervised"):
                sums["quarter"][k] += (doc.get("f") or {}).get(k, 0)
    return out


FIELDS = {"code": 1, "month": 1, "d": 1, "f": 1}


def _add(total, part):
    for key in ("levels", "flows", "quarter"):
        for k, v in part[key].items():
            total[key][k] = total[key].get(k, 0) + v
    return total


def children_sums(db, level, code, month):
    child = CHILD[level]
    if not child:
        return {}
    return _summed(db.scorecard.find({"parent": code, "level": child, "month": {"$lte": month}}, FIELDS),
                   month)


def sums(db, level, code, month, children=None):
    """{levels, flows, quarter} of one place up to `month` (a province: with its cities')."""
    own = _summed(db.scorecard.find({"level": level, "code": code, "month": {"$lte": month}}, FIELDS),
                  month)[code]
    if level == "province":
        for part in (children if children is not None else children_sums(db, level, code, month)).values():
            _add(own, part)
    return own


def _card(level, code, name, month, sums, weights):
    levels, flows, quarter = sums["levels"], sums["flows"], sums["quarter"]
    rated = figures.rates(levels, flows, quarter)
    numbers = {**levels, **flows, "sessions_quarter": quarter["sessions"],
               "supervised_quarter": quarter["supervised"],
               "inspection_average": round(levels["score_centi"] / levels["inspected"] / 100, 2)
               if levels["inspected"] else None}
    return {"level": level, "code": code, "name": name, "month": month,
            "quarter": rules.quarter_of(month), "figures": numbers, "rates": rated,
            "overall": figures.overall(rated, weights)}


def month_flows(db, level, code, month, session=None):
    doc = db.scorecard.find_one({"_id": f"{level}:{code}:{month}"}, {"f": 1}, session=session)
    return {**dict.fromkeys(figures.FLOWS, 0), **((doc or {}).get("f") or {})}


def target(db, query, caller):
    if query.get("station_id"):
        station = stations_view.load(db, query["station_id"], caller)
        return "station", station["_id"], station.get("name")
    region = access.narrow(caller, query.get("region"))
    if len(region) == 9:   # a station's staff: their station
        station = db.stations.find_one({"division_code": region}, sort=[("_id", 1)])
        if station is None:
            raise NotFound(f"no station known in {region}", fields={"station_id": ["none in your region"]})
        return "station", station["_id"], station.get("name")
    if len(region) not in LEVEL_OF:
        raise InvalidInput("region must be a province, city or county code",
                           fields={"region": ["a province, city or county code"]})
    level = LEVEL_OF[len(region)]
    return level, region, stations_view.names(db, level, [region]).get(region)


def month_asked(query):
    month = query.get("month") or rules.month_of(china_today())
    rules.parse_month(month)
    return month


def card(db, query, caller):
    """The scorecard of a station or region for a month, with its children's."""
    level, code, name = target(db, query, caller)
    month = month_asked(query)
    weights = settings.score_weights()
    found = children_sums(db, level, code, month)
    answer = _card(level, code, name, month, sums(db, level, code, month, children=found), weights)
    children = []
    if found:
        child = CHILD[level]
        labels = stations_view.names(db, child, sorted(found))
        children = [_card(child, c, labels.get(c), month, found[c], weights) for c in sorted(found)]
    answer["weights"] = weights
    answer["children"] = children
    return answer


def _value(entry, figure):
    if figure == "overall":
        return entry["overall"]
    if figure in RATES:
        return entry["rates"][figure]
    return entry["figures"].get(figure)


def _ranks(entries, figure):
    ordered = sorted(entries, key=lambda e: (_value(e, figure) is None, -(_value(e, figure) or 0),
                                             e["code"]))
    ranks, previous, rank = {}, object(), 0
    for position, entry in enumerate(ordered, start=1):
        value = _value(entry, figure)
        if value != previous:
            rank, previous = position, value
        ranks[entry["code"]] = rank if value is not None else None
    return ordered, ranks


def _ranked(db, query, caller):
    region = access.narrow(caller, query.get("region") or "")
    level = query.get("level") or "county"
    if len(region) not in (2, 4) or (level == "city" and len(region) != 2):
        raise InvalidInput("rank cities within a province, counties within a province or a city",
                           fields={"region": ["a province code (cities), or a province or city "
                                              "code (counties)"]})
    month = month_asked(query)
    selector = {"level": level, "month": {"$lte": month}}
    selector.update({"parent": region} if (level == "city" or len(region) == 4) else {"province": region})
    found = _summed(db.scorecard.find(selector, FIELDS), month)
    labels = stations_view.names(db, level, sorted(found))
    weights = settings.score_weights()
    entries = [_card(level, c, labels.get(c), month, found[c], weights) for c in sorted(found)]
    figure = query.get("figure") or "overall"
    ordered, ranks = _ranks(entries, figure)
    every = {name: _ranks(entries, name)[1] for name in ("overall",) + RATES}
    items = [{"rank": ranks[e["code"]], "code": e["code"], "name": e["name"],
              "value": _value(e, figure), "figures": e["figures"], "rates": e["rates"],
              "overall": e["overall"], "ranks": {n: every[n][e["code"]] for n in every}}
             for e in ordered]
    return {"level": level, "region": region, "month": month, "figure": figure, "weights": weights,
            "items": items}


def rankings(db, query, caller):
    answer = _ranked(db, query, caller)
    page, per_page = query.get("page", 1), query.get("per_page", 50)
    answer["total"] = len(answer["items"])
    answer["items"] = answer["items"][(page - 1) * per_page: page * per_page]
    answer.update(page=page, per_page=per_page)
    return answer


def export_rankings(db, query, caller):
    answer = _ranked(db, query, caller)
    names = ("overall",) + RATES
    columns = RANK_COLUMNS + [(f"rate_{n}", f"{n}") for n in names[1:]] + [
        (f"rank_{n}", f"{n} 名次") for n in names]
    rows = []
    for item in answer["items"]:
        row = {**item, **{f"rate_{n}": item["rates"][n] for n in names[1:]},
               **{f"rank_{n}": item["ranks"][n] for n in names}}
        rows.append([row.get(k) for k, _ in columns])
    return {"name": f"rankings-{answer['level']}-{answer['month']}",
            "columns": [{"key": k, "title": t} for k, t in columns], "rows": rows}
