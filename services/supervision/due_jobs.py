"""The scheduled job: at each due time, what was missed is marked, once.

Run by the service's timer every SUPERVISION_DUE_CHECK_SECONDS (and by the
system-only RPC `run_due_jobs`, which names the instant to judge by):

* monthly reports: for each of the last SUPERVISION_REPORT_LOOKBACK_MONTHS
  report months whose due time has passed, every station operating on the due
  day with no report is marked overdue (reports.mark_overdue). A month is one
  run (`due_runs` {_id: "reports:2026-11", lease_until, owner, done_at}),
  claimed with a lease so two replicas do not both walk the stations, and
  marked done when every station is judged: a station registered afterwards
  is not marked for a month long past. If a replica dies mid-run its lease
  runs out and another one finishes the run.
* rectification items: every item still owed whose next escalation time has
  passed takes its steps (rectifications.escalate).

Each mark is its own command (a transaction with its event) and conditional
(no report yet; the number of escalation steps taken unchanged), so when two
replicas race on one, the loser's transaction retries, finds it done and
emits nothing: each overdue mark happens once.
"""
import datetime
import logging
import uuid

from services.common.clock import utcnow
from services.supervision import rectifications, reports, rules, settings

log = logging.getLogger(__name__)
LEASE = datetime.timedelta(minutes=5)
OWNER = uuid.uuid4().hex


def ensure_indexes(db):
    db.due_runs.create_index([("done_at", 1)])


def _claim(db, run_id, now):
    # The run's document exists before it is claimed (docs/mongo-wire-server.md, trap 3).
    db.due_runs.update_one({"_id": run_id}, {"$setOnInsert": {"done_at": None, "lease_until": None}},
                           upsert=True)
    claimed = db.due_runs.update_one(
        {"_id": run_id, "done_at": None, "lease_until": {"$not": {"$gt": now}}},
        {"$set": {"lease_until": now + LEASE, "owner": OWNER}})
    return claimed.modified_count == 1


def overdue_reports(db, command, now):
    marked = 0
    due_day = settings.report_due_day()
    for month in rules.due_months(now, due_day, settings.report_lookback_months()):
        run_id = f"reports:{month}"
        if not _claim(db, run_id, now):
            continue
        due_on = rules.report_due_on(month, due_day)
        due_at = rules.report_due_at(month, due_day)
        for station in db.stations.find({"status": {"$ne": "planned"}}).sort("_id", 1):
            if not rules.operating_on(station.get("status_history"), due_on):
                continue
            if db.reports.find_one({"_id": reports.report_id(station["_id"], month)}, {"_id": 1}):
                continue
            if command(lambda tx, s=station: reports.mark_overdue(tx, s, month, due_at, now)):
                marked += 1
        db.due_runs.update_one({"_id": run_id, "owner": OWNER}, {"$set": {"done_at": utcnow()}})
    return marked


def overdue_rectifications(db, command, now):
    steps = 0
    for item_id in rectifications.due_for_escalation(db, now):
        steps += command(lambda tx, i=item_id: rectifications.escalate(tx, i, now))
    return steps


def run(db, command, now=None):
    """Mark what is overdue as of `now`; {reports_marked, escalation_steps}."""
    now = now or utcnow()
    done = {"reports_marked": overdue_reports(db, command, now),
            "escalation_steps": overdue_rectifications(db, command, now)}
    if any(done.values()):
        log.info("due times passed", extra=done)
    return done
