"""What the soak checks once the load is over and the platform has settled.

Every check answers (name, passed, detail). Sources are read through the
API (what officers see) and, for the event log and the inbox markers, from
each service's own database, which is where those facts live.
"""
import collections
import time

from services.common import catalog, deadletters, inbox

# Consumers that take events off their inbox without a marker by design.
MARKLESS = {"webhooks": "skips the inbox transaction while no webhook is subscribed"}


def all_items(client, path):
    items, page = [], 1
    joiner = "&" if "?" in path else "?"
    while True:
        status, body = client.get(f"{path}{joiner}page={page}&per_page=500")
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body}")
        items.extend(body["items"])
        if len(items) >= body["total"] or not body["items"]:
            return items
        page += 1


def _verdict(name, problems, detail_ok):
    return (name, not problems, "; ".join(problems[:5]) if problems else detail_ok)


# ---- settle ----------------------------------------------------------------------

def pending_outbox(client, platform, services):
    return {s: platform.db(client, s).outbox.count_documents({"published_at": None}) for s in services}


def inbox_depths(platform, services):
    depths = {}
    with platform.connection() as connection:
        channel = connection.channel()
        for service in services:
            if catalog.subscriptions(service) is None:
                continue
            try:
                _, messages, _ = channel.queue_declare(inbox.inbox_name(service), passive=True)
            except Exception:  # noqa: BLE001 (a closed channel: reopen and count it as busy)
                channel = connection.channel()
                messages = -1
            depths[service] = messages
    return depths


def settle(client, platform, services, timeout=240):
    """Until every outbox is published and every inbox empty, twice in a row."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        busy = sum(pending_outbox(client, platform, services).values()) + \
            sum(abs(v) for v in inbox_depths(platform, services).values())
        quiet = quiet + 1 if busy == 0 else 0
        if quiet >= 2:
            return True
        time.sleep(1)
    return False


# ---- 1. every acknowledged operation exists exactly once ---------------------------

def exactly_once(lanes, ops):
    rows = []
    unresolved = collections.Counter(op.kind for op in ops if op and op.outcome == "unresolved")
    refused = collections.Counter(op.kind for op in ops if op and op.outcome == "refused")
    examples = {}
    for op in ops:
        if op and op.outcome == "refused":
            examples.setdefault(op.kind, f"{op.status} {str(op.body)[:160]}")

    def count(values):
        return collections.Counter(values)

    problems = collections.defaultdict(list)
    acknowledged = collections.Counter()
    for lane in lanes:
        c = lane.officer
        volunteers = count(v["number"] for v in all_items(c, f"/volunteers?region={lane.work_unit['code']}"))
        _compare(problems["register_volunteer"], lane.volunteers, volunteers, unresolved["register_volunteer"])
        acknowledged["register_volunteer"] += len(lane.volunteers)

        records = all_items(c, f"/hours?activity_id={lane.activity}")
        _compare(problems["record_hours"], lane.hours, count(r["id"] for r in records),
                 unresolved["record_hours"])
        acknowledged["record_hours"] += len(lane.hours)
        approved = count(r["id"] for r in records if r["status"] == "approved")
        _compare(problems["approve_hours"], lane.approved, approved, 0)
        acknowledged["approve_hours"] += len(lane.approved)
        slots = count((r["volunteer_number"], r["start"]) for r in records)
        problems["record_hours"] += [f"two records of {k}" for k, n in slots.items() if n > 1]

        donations = count(d.get("payer_reference") for d in all_items(c, f"/charity/donations?fund_id={lane.fund}"))
        donations.pop(None, None)
        _compare(problems["donation"], lane.donations, donations, unresolved["donation"])
        acknowledged["donation"] += len(lane.donations)

        disbursements = all_items(c, f"/charity/disbursements?fund_id={lane.fund}")
        _compare(problems["request_disbursement"], lane.disbursement_refs,
                 count(d["purpose"] for d in disbursements), unresolved["request_disbursement"])
        acknowledged["request_disbursement"] += len(lane.disbursement_refs)
        status = {d["id"]: d["status"] for d in disbursements}
        for item in lane.paid:
            if status.get(item) != "paid":
                problems["pay_disbursement"].append(f"{item} is {status.get(item)}, paid was answered")
        for item in lane.approved_d:
            if status.get(item) != "approved":
                problems["approve_disbursement"].append(f"{item} is {status.get(item)}, approved was answered")
        acknowledged["approve_disbursement"] += len(lane.approved_d) + len(lane.paid)
        acknowledged["pay_disbursement"] += len(lane.paid)

        for month in lane.reports:
            _, report = lane.staff.get(f"/monthly-reports/{lane.station}/{month}")
            if (report or {}).get("status") != "submitted":
                problems["monthly_report"].append(f"{lane.station} {month}: {(report or {}).get('status')}")
        acknowledged["monthly_report"] += len(lane.reports)

        items = all_items(c, f"/rectifications?inspection_id={lane.inspection}")
        _compare(problems["raise_finding"], lane.finding_refs, count(r["observation"] for r in items),
                 unresolved["raise_finding"])
        acknowledged["raise_finding"] += len(lane.finding_refs)
        state = {r["id"]: r["status"] for r in items}
        for kind, ids, want in (("submit_rectification", lane.submitted, "submitted"),
                                ("close_rectification", lane.closed, "closed")):
            problems[kind] += [f"{i} is {state.get(i)}" for i in ids if state.get(i) != want]
        acknowledged["submit_rectification"] += len(lane.submitted) + len(lane.closed)
        acknowledged["close_rectification"] += len(lane.closed)

        _, station = lane.admin.get(f"/stations/{lane.toggle_station}")
        history = station.get("status_history") or station.get("history") or []
        if station["status"] != lane.toggle_status:
            problems["station_transition"].append(f"{lane.toggle_station} is {station['status']}, "
                                                  f"{lane.toggle_status} was answered")
        if history and len(history) != 3 + lane.toggles and not unresolved["station_transition"]:
            problems["station_transition"].append(f"{lane.toggle_station}: {len(history)} steps in its "
                                                  f"history, {3 + lane.toggles} answered")
        acknowledged["station_transition"] += lane.toggles
        if lane.population is not None and station["population_served"] != lane.population:
            problems["station_update"].append(f"{lane.toggle_station} population "
                                              f"{station['population_served']} != {lane.population}")
    acknowledged["station_update"] = sum(1 for op in ops if op and op.kind == "station_update"
                                         and op.outcome == "ok")
    for kind in sorted(set(acknowledged) | set(problems)):
        extra = []
        if unresolved[kind]:
            extra.append(f"{unresolved[kind]} unresolved")
        if refused[kind]:
            extra.append(f"{refused[kind]} refused, e.g. {examples[kind]}")
        detail = f"{acknowledged[kind]} acknowledged, each found once" + (f" ({', '.join(extra)})" if extra else "")
        rows.append(_verdict(f"exactly once: {kind}", problems[kind] + (
            [f"{refused[kind]} refused: {examples[kind]}"] if refused[kind] else []), detail))
    return rows


def _compare(problems, acknowledged, found, unresolved):
    """Each acknowledged thing found once; nothing found that nobody acknowledged
    (unless an unresolved attempt may have made it)."""
    for ref in acknowledged:
        if found.get(ref, 0) != 1:
            problems.append(f"{ref} found {found.get(ref, 0)} times")
    known = set(acknowledged)
    strays = sum(n for ref, n in found.items() if ref not in known)
    if strays > unresolved:
        problems.append(f"{strays} found that no answer acknowledged")


# ---- 2. read models against a recomputation from their sources ----------------------

def read_models(lanes):
    problems = collections.defaultdict(list)
    for lane in lanes:
        c = lane.officer
        stations = all_items(c, f"/stations?region={lane.county}")
        units_with, units_operating = set(), set()
        for s in stations:
            if s["status"] in ("built", "operating", "suspended"):
                units_with.add(s["division_code"])
            if s["status"] == "operating":
                units_operating.add(s["division_code"])
        _, coverage = c.get(f"/coverage?region={lane.county}")
        if (coverage["with_station"], coverage["operating"]) != (len(units_with), len(units_operating)):
            problems["coverage"].append(
                f"{lane.county}: read model {coverage['with_station']}/{coverage['operating']}, stations "
                f"say {len(units_with)}/{len(units_operating)}")

        approved = [r for r in all_items(c, f"/hours?region={lane.county}&status=approved")]
        minutes = sum(r["minutes"] for r in approved)
        _, totals = c.get(f"/hours/totals?region={lane.county}")
        if (totals["minutes"], totals["volunteers"]) != (minutes, len({r["volunteer_number"] for r in approved})):
            problems["hour totals"].append(f"{lane.county}: totals {totals['minutes']} min / "
                                           f"{totals['volunteers']} volunteers, records say {minutes} / "
                                           f"{len({r['volunteer_number'] for r in approved})}")

        _, balances = c.get(f"/charity/funds/{lane.fund}/balances")
        _, trial = c.get(f"/charity/funds/{lane.fund}/trial-balance?from=2020-01&to=2099-12")
        ledger = {row["account"]: row["closing_fen"] for row in trial["accounts"]}
        for account in balances["accounts"]:
            if ledger.get(account["account"], 0) != account["balance_fen"]:
                problems["fund balances"].append(
                    f"{lane.fund} {account['account']}: kept {account['balance_fen']}, "
                    f"ledger {ledger.get(account['account'], 0)}")
        reserved = sum(d["amount_fen"] for d in all_items(c, f"/charity/disbursements?fund_id={lane.fund}")
                       if d["status"] == "approved")
        if balances["cash_reserved_fen"] != reserved:
            problems["fund balances"].append(f"{lane.fund}: reserved {balances['cash_reserved_fen']}, "
                                             f"approved disbursements {reserved}")
        if not trial["balanced"]:
            problems["fund balances"].append(f"{lane.fund}: trial balance does not balance")

        for month in lane.reports[-6:]:
            _, card = c.get(f"/scorecards?station_id={lane.station}&month={month}")
            figures = (card or {}).get("figures") or {}
            filed = figures.get("reports_on_time", 0) + figures.get("reports_late", 0)
            if filed != 1:
                problems["scorecards"].append(f"{lane.station} {month}: scorecard counts {filed} reports, 1 filed")
        _, card = c.get(f"/scorecards?station_id={lane.station}&month={china_month()}")
        figures = (card or {}).get("figures") or {}
        if "inspected" in figures and figures["inspected"] != 0:
            problems["scorecards"].append(f"{lane.station}: inspected {figures['inspected']}, the "
                                          "inspection is still open")
    return [_verdict("read model: coverage from stations", problems["coverage"], f"{len(lanes)} counties agree"),
            _verdict("read model: hour totals from approved records", problems["hour totals"],
                     f"{len(lanes)} counties agree"),
            _verdict("read model: fund balances from the ledger", problems["fund balances"],
                     f"{len(lanes)} funds agree, reservations = approved disbursements"),
            _verdict("read model: scorecards from the events", problems["scorecards"],
                     "each filed report counted once in its month")]


def china_month():
    from services.common.clock import china_today

    return f"{china_today():%Y-%m}"


# ---- 3. events: outboxes drained, every event applied once by each consumer ------------

def events(client, platform, services):
    pending = pending_outbox(client, platform, services)
    rows = [_verdict("every outbox drained", [f"{s}: {n} unpublished" for s, n in pending.items() if n],
                     f"{len(services)} outboxes, 0 unpublished")]
    logs = {}
    for service in services:
        logs[service] = {doc["_id"]: (doc["type"], doc["event"]["source"])
                         for doc in platform.db(client, service).outbox.find({}, {"type": 1, "event.source": 1})}
    problems, applied, notes = [], 0, []
    for consumer in services:
        subscriptions = catalog.subscriptions(consumer)
        if subscriptions is None:
            continue
        handled = set(subscriptions.handlers)
        markers = {doc["_id"] for doc in platform.db(client, consumer).processed_events.find({}, {"_id": 1})}
        if consumer in MARKLESS and not markers:
            notes.append(f"{consumer} not counted: {MARKLESS[consumer]}")
            continue
        expected = {f"{source}#{event_id}" for publisher in services
                    for event_id, (event_type, source) in logs[publisher].items() if event_type in handled}
        missing = expected - markers
        applied += len(expected & markers)
        if missing:
            problems.append(f"{consumer}: {len(missing)} of {len(expected)} events not applied, "
                            f"e.g. {sorted(missing)[:2]}")
        strays = {m for m in markers if m.split("#", 1)[-1] not in {i for p in services for i in logs[p]}}
        if strays:
            problems.append(f"{consumer}: {len(strays)} markers of events no outbox holds")
    total = sum(len(v) for v in logs.values())
    rows.append(_verdict("every event applied once by every consumer", problems,
                         f"{total} events in the outboxes, {applied} applications, each marked once"
                         + "".join(f"; {n}" for n in notes)))
    return rows


def dead_letters(platform):
    letters = deadletters.read(platform.amqp_uri)
    causes = collections.Counter((l["queue"], l["reason"], (l["event"] or {}).get("type")
                                  if isinstance(l["event"], dict) else None) for l in letters)
    return [("dead letters", not letters, "none" if not letters else
             "; ".join(f"{n} x {q} {t} ({r})" for (q, r, t), n in causes.items()))], letters
