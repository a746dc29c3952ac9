"""Benchmarks of the charity service, each figure beside its raw baseline.

    python bench/charity.py [--quick] [--threads N]

Starts its own platform like the test harness (a Mongo-wire server in memory, a
fresh RabbitMQ vhost, the topology and the charity service as `wushe serve
charity` runs it; the registry and volunteer services are not needed) and prints:

  1. ledger postings: donations recorded per second through RPC (each one journal
     entry of two postings, its balances, rollups and receipt number, its events in
     the outbox and its Idempotency-Key, in one transaction) from N threads, each
     with its own proxy and its own fund; beside a raw pymongo transaction of the
     same reads and writes on the same server from N threads (no RPC, no nameko);
  2. the disbursement race: N threads approving disbursements of ONE fund at once
     (every approval write-conflicts with the others on the fund's cash balance
     and is retried inside its transaction), approvals per second; beside the same
     writes as raw transactions racing on one fund; the fund affords exactly the
     approvals it gets, the rest are refused, and the bench checks that;
  3. a fund's balances (`get_fund`) and its public report for a year
     (`public_report`) over RPC, median of 40 calls, for a fund of 10,000 and a
     fund of 100,000 entries, the two funds' calls interleaved (so that both are
     timed in the same state of the server and of a shared machine: timed one
     after the other, drift alone moved them by up to 2x). The entries (and the
     balances and rollups that go with them) are seeded with insert_many
     straight into the service's database:
     100,000 donations through RPC would take many minutes here and their path is
     measured in 1; the seeded figures are checked with the report (`reconciles`)
     and against the seeding's own sums. Both answers read kept documents, never
     the entries, so they should not grow with them;
  4. the charity process's resident memory (VmRSS) after the run.

About 3 minutes on a 2-core machine (--quick: about 1, with 2,000 and 20,000 entries).
"""
import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("WUSHE_SERVICES", "registry,volunteer,charity")

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
import pymongo  # noqa: E402
from bson import ObjectId  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from pymongo import ReturnDocument  # noqa: E402
from pymongo.read_concern import ReadConcern  # noqa: E402
from pymongo.write_concern import WriteConcern  # noqa: E402

from services.charity import ledger, rules  # noqa: E402
from services.common import localmongo  # noqa: E402
from tests.harness import Platform, new_vhost, rabbitmqctl  # noqa: E402

SYSTEM = {"sub": "bench", "role": "system", "region": ""}
APPROVER = {"sub": "bench-approver", "role": "province_admin", "region": "34"}
AMQP_URI = None


def table(title, rows):
    print(f"\n{title}", flush=True)
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}", flush=True)


def credit_code(n):
    first17 = f"53340100MJ{n:07d}"
    return first17 + rules.credit_check_character(first17)


def open_fund(cluster, n, region="340102001"):
    return cluster.charity.open_fund({
        "name": f"基准基金{n}", "kind": "community_fund", "purpose": "基准", "region": region,
        "host": {"name": f"基准慈善会{n}", "credit_code": credit_code(n)},
        "committee": [{"name": f"委员{i}", "role": "supervisor" if i == 0 else "member"} for i in range(5)]},
        caller=SYSTEM)


def run_threads(threads, work, rpc=True):
    """work(i, cluster_or_None) in `threads` threads; seconds between start and end."""
    barrier = threading.Barrier(threads + 1)
    errors = []

    def run(i):
        if rpc:
            with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=300) as cluster:
                barrier.wait()
                try:
                    work(i, cluster)
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                barrier.wait()
        else:
            barrier.wait()
            try:
                work(i, None)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            barrier.wait()

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    barrier.wait()
    elapsed = time.perf_counter() - started
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return elapsed


def transaction(client, fn):
    with client.start_session() as session:
        return session.with_transaction(fn, read_concern=ReadConcern("majority"),
                                        write_concern=WriteConcern("majority"))


# ---- 1. donations (ledger postings) ------------------------------------------

def donation_body(fund_id, k):
    return {"fund_id": fund_id, "kind": "money", "received_on": "2026-03-01", "amount_fen": 1_000 + k,
            "channel": "online", "donor": {"kind": "person", "name": "基准捐赠人", "consent_public": k % 2 == 0}}


def donations_rpc(threads, per_thread):
    with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=120) as cluster:
        funds = [open_fund(cluster, 100 + i)["id"] for i in range(threads)]
        cluster.charity.record_donation(donation_body(funds[0], 0), caller=SYSTEM, idempotency_key="warm")

    def work(i, cluster):
        for k in range(per_thread):
            cluster.charity.record_donation(donation_body(funds[i], k), caller=SYSTEM,
                                            idempotency_key=f"d-{i}-{k}")

    return run_threads(threads, work)


def raw_fund(db, n):
    """What opening a fund leaves: the fund, its balances and a receipt counter."""
    fund_id = f"RAW{n}-{uuid.uuid4().hex[:6]}"
    db.funds.insert_one({"_id": fund_id, "status": "open", "moves": 0, "region": "340102001"})
    db.balances.insert_many([{"_id": f"{fund_id}:{a}", "fund_id": fund_id, "available_fen": 10 ** 12,
                              "reserved_fen": 0, "net_fen": 0} for a in ledger.CHART])
    db.counters.insert_one({"_id": f"receipt:{fund_id}", "seq": 0})
    return fund_id


def templates(db):
    """Documents the service wrote in part 1 and 2, so that the raw baseline writes the same
    documents (sizes and shapes), not smaller ones."""
    def one(collection, **selector):
        doc = db[collection].find_one(selector)
        assert doc is not None, (collection, selector)
        doc.pop("_id")
        return doc

    return {
        "entry": one("entries", kind="donation"), "receipt": one("receipts"), "donation": one("donations"),
        "donation_events": [one("outbox", type="wushe.charity.donation.received.v1"),
                            one("outbox", type="wushe.charity.receipt.issued.v1")],
        "donation_key": one("idempotency", method="record_donation"),
        "approval_event": one("outbox", type="wushe.charity.disbursement.approved.v1"),
        "approval_key": one("idempotency", method="approve_disbursement"),
        "disbursement": one("disbursements", status="requested"),
    }


def fresh(template, **fields):
    return {**template, "_id": uuid.uuid4().hex, **fields}


def donation_raw(client, db, t, fund_id, k):
    """The reads and writes record_donation makes, as one plain transaction."""
    key = f"raw-{fund_id}-{k}"
    month = "2026-03"

    def body(s):
        db.idempotency.find_one({"_id": key}, session=s)
        db.funds.find_one_and_update({"_id": fund_id, "status": {"$in": ["open"]}}, {"$inc": {"moves": 1}},
                                     return_document=ReturnDocument.AFTER, session=s)
        for account, delta in (("cash", 1_000), ("donation_income", -1_000)):
            db.balances.update_one({"_id": f"{fund_id}:{account}"},
                                   {"$inc": {"net_fen": delta, "balance_fen": abs(delta), "available_fen": abs(delta),
                                             "postings": 1, "debits_fen": max(delta, 0),
                                             "credits_fen": max(-delta, 0)},
                                    "$set": {"updated_at": datetime.datetime.now(datetime.timezone.utc)}}, session=s)
        db.entries.insert_one(fresh(t["entry"], fund_id=fund_id), session=s)
        for account in ("cash", "donation_income"):
            db.ledger_months.update_one({"_id": f"{fund_id}:{month}:{account}:money:person"},
                                        {"$inc": {"debits_fen": 1_000, "credits_fen": 0, "entries": 1},
                                         "$setOnInsert": {"fund_id": fund_id, "month": month, "account": account,
                                                          "dim": "money:person"}}, upsert=True, session=s)
        db.donor_months.update_one({"_id": f"{fund_id}:{month}:anonymous"},
                                   {"$inc": {"amount_fen": 1_000, "donations": 1},
                                    "$setOnInsert": {"fund_id": fund_id, "month": month}}, upsert=True, session=s)
        seq = db.counters.find_one_and_update({"_id": f"receipt:{fund_id}"}, {"$inc": {"seq": 1}},
                                              return_document=ReturnDocument.AFTER, session=s)["seq"]
        db.receipts.insert_one(fresh(t["receipt"], fund_id=fund_id, seq=seq), session=s)
        db.donations.insert_one(fresh(t["donation"], fund_id=fund_id), session=s)
        db.outbox.insert_many([fresh(e) for e in t["donation_events"]], session=s)
        db.idempotency.insert_one({**t["donation_key"], "_id": key}, session=s)

    db.idempotency.find_one({"_id": key})
    transaction(client, body)


def donations_raw(client, db, t, threads, per_thread):
    funds = [raw_fund(db, i) for i in range(threads)]

    def work(i, _):
        for k in range(per_thread):
            donation_raw(client, db, t, funds[i], k)

    return run_threads(threads, work, rpc=False)


# ---- 2. the disbursement race -------------------------------------------------

def race_rpc(threads, per_thread, amount=10_000):
    """Approvals of one fund's disbursements from `threads` threads at once."""
    total = threads * per_thread
    affordable = total * 3 // 4
    with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=300) as cluster:
        fund_id = open_fund(cluster, 200, region="340102002")["id"]
        cluster.charity.record_donation(dict(donation_body(fund_id, 0), amount_fen=affordable * amount),
                                        caller=SYSTEM, idempotency_key="race-money")
        ids = [cluster.charity.request_disbursement({
            "fund_id": fund_id, "purpose": "基准", "category": "direct_aid",
            "payee": {"kind": "organisation", "name": "基准"}, "amount_fen": amount},
            caller=SYSTEM, idempotency_key=f"race-r-{k}")["id"] for k in range(total)]
    outcome = {"approved": 0, "refused": 0}
    lock = threading.Lock()

    def work(i, cluster):
        for disbursement_id in ids[i::threads]:
            try:
                cluster.charity.approve_disbursement(disbursement_id, {}, caller=APPROVER,
                                                     idempotency_key=f"race-a-{disbursement_id}")
                result = "approved"
            except Exception as refusal:  # noqa: BLE001
                if getattr(refusal, "code", None) != "insufficient_funds":
                    raise
                result = "refused"
            with lock:
                outcome[result] += 1

    seconds = run_threads(threads, work)
    assert outcome == {"approved": affordable, "refused": total - affordable}, outcome
    return total, seconds, outcome


def approval_raw(client, db, t, fund_id, disbursement_id, amount):
    """The reads and writes approve_disbursement makes, as one plain transaction (a
    refusal: the balance read that names the available amount, an abort, the kept refusal)."""
    key = f"raw-a-{disbursement_id}"

    def body(s):
        db.idempotency.find_one({"_id": key}, session=s)
        db.disbursements.find_one({"_id": disbursement_id}, session=s)
        db.funds.find_one_and_update({"_id": fund_id, "status": {"$in": ["open"]}}, {"$inc": {"moves": 1}},
                                     return_document=ReturnDocument.AFTER, session=s)
        reserved = db.balances.update_one({"_id": f"{fund_id}:cash", "available_fen": {"$gte": amount}},
                                          {"$inc": {"reserved_fen": amount, "available_fen": -amount},
                                           "$set": {"updated_at": datetime.datetime.now(datetime.timezone.utc)}},
                                          session=s)
        if reserved.matched_count != 1:
            db.balances.find_one({"_id": f"{fund_id}:cash"}, session=s)
            raise Refused()
        db.disbursements.find_one_and_update(
            {"_id": disbursement_id, "status": {"$in": ["requested"]}},
            {"$set": {"status": "approved", "approved_by": {"sub": "raw", "role": "province_admin"}},
             "$push": {"history": t["disbursement"]["history"][0]}},
            return_document=ReturnDocument.AFTER, session=s)
        db.outbox.insert_many([fresh(t["approval_event"])], session=s)
        db.idempotency.insert_one({**t["approval_key"], "_id": key}, session=s)

    db.disbursements.find_one({"_id": disbursement_id}, {"fund_id": 1})
    db.idempotency.find_one({"_id": key})
    try:
        transaction(client, body)
        return True
    except Refused:
        db.idempotency.update_one({"_id": key}, {"$setOnInsert": {"refusal": {"code": "insufficient_funds"}}},
                                  upsert=True)
        return False


class Refused(Exception):
    pass


def race_raw(client, db, t, threads, per_thread, amount=10_000):
    total = threads * per_thread
    affordable = total * 3 // 4
    fund_id = raw_fund(db, 300)
    db.balances.update_one({"_id": f"{fund_id}:cash"}, {"$set": {"available_fen": affordable * amount}})
    ids = [f"{fund_id}-B{k}" for k in range(total)]
    db.disbursements.insert_many([{**t["disbursement"], "_id": d, "fund_id": fund_id} for d in ids])
    outcome = {"approved": 0, "refused": 0}
    lock = threading.Lock()

    def work(i, _):
        for disbursement_id in ids[i::threads]:
            result = "approved" if approval_raw(client, db, t, fund_id, disbursement_id, amount) else "refused"
            with lock:
                outcome[result] += 1

    seconds = run_threads(threads, work, rpc=False)
    assert outcome == {"approved": affordable, "refused": total - affordable}, outcome
    return seconds


# ---- 3. balances and the public report at 10x the entries ---------------------

class Seeder:
    """Entries of one fund for a year, with the balances and rollups they make."""

    DONORS = [f"基准单位{i}" for i in range(40)]

    def __init__(self, fund_id, year=2025, seed=11):
        self.fund_id = fund_id
        self.year = year
        self.random = random.Random(seed)
        self.net = {a: 0 for a in ledger.CHART}
        self.debits = {a: 0 for a in ledger.CHART}
        self.credits = {a: 0 for a in ledger.CHART}
        self.postings = {a: 0 for a in ledger.CHART}
        self.months = {}
        self.donors = {}
        self.count = 0
        self.income = 0
        self.paid = 0

    def _entry(self, day, kind, dim, postings):
        month = day.isoformat()[:7]
        for p in postings:
            a, v = p["account"], p["amount_fen"]
            self.net[a] += v
            self.debits[a] += max(v, 0)
            self.credits[a] += max(-v, 0)
            self.postings[a] += 1
            roll = self.months.setdefault((month, a, dim), {"debits_fen": 0, "credits_fen": 0, "entries": 0})
            roll["debits_fen"] += max(v, 0)
            roll["credits_fen"] += max(-v, 0)
            roll["entries"] += 1
        self.count += 1
        return {"_id": "E" + str(ObjectId()), "fund_id": self.fund_id, "kind": kind,
                "booked_on": day.isoformat(), "month": month, "dim": dim,
                "postings": [dict(p, type=ledger.account_type(p["account"])) for p in postings],
                "refs": {}, "memo": None, "reverses": None, "created_at": datetime.datetime.now(datetime.timezone.utc),
                "created_by": "system:bench", "region": "340102003", "division_code": "340102003",
                "county": "340102", "city": "3401", "province": "34"}

    def batch(self, size):
        out = []
        for _ in range(size):
            day = datetime.date(self.year, 1, 1) + datetime.timedelta(days=self.random.randrange(365))
            if self.random.random() < 0.85 or self.net["cash"] < 50_000:
                amount = self.random.randrange(100, 50_000)
                named = self.random.random() < 0.2
                donor_kind = "organisation" if named else "anonymous"
                key = ("n" + str(self.random.randrange(len(self.DONORS)))) if named else "anonymous"
                donor = self.donors.setdefault((day.isoformat()[:7], key), {
                    "public_name": self.DONORS[int(key[1:])] if named else rules.PUBLIC_ANONYMOUS,
                    "donor_kind": donor_kind if named else None, "amount_fen": 0, "donations": 0})
                donor["amount_fen"] += amount
                donor["donations"] += 1
                self.income += amount
                out.append(self._entry(day, "donation", f"money:{donor_kind}", [
                    {"account": "cash", "amount_fen": amount}, {"account": "donation_income", "amount_fen": -amount}]))
            else:
                amount = self.random.randrange(100, 40_000)
                category = self.random.choice(("direct_aid", "activity"))
                account = "aid_expense" if category == "direct_aid" else "grant_expense"
                self.paid += amount
                out.append(self._entry(day, "payment", f"category:{category}", [
                    {"account": account, "amount_fen": amount}, {"account": "cash", "amount_fen": -amount}]))
        return out

    def kept(self, db):
        """Write the balances and rollups the seeded entries make."""
        for a, kind_name in ledger.CHART.items():
            balance = ledger.normal_sign(a) * self.net[a]
            db.balances.update_one({"_id": f"{self.fund_id}:{a}"}, {"$set": {
                "debits_fen": self.debits[a], "credits_fen": self.credits[a], "net_fen": self.net[a],
                "balance_fen": balance, "available_fen": balance, "reserved_fen": 0,
                "postings": self.postings[a]}})
        db.ledger_months.delete_many({"fund_id": self.fund_id})
        db.ledger_months.insert_many([{"_id": f"{self.fund_id}:{m}:{a}:{d}", "fund_id": self.fund_id, "month": m,
                                       "account": a, "dim": d, **v} for (m, a, d), v in self.months.items()])
        db.donor_months.delete_many({"fund_id": self.fund_id})
        db.donor_months.insert_many([{"_id": f"{self.fund_id}:{m}:{k}", "fund_id": self.fund_id, "month": m,
                                      "donor_key": k, **v} for (m, k), v in self.donors.items()])
        return len(self.months) + len(self.donors)


def time_queries(fund_ids, calls=40, settle=10.0):
    """Median answer times per fund, the funds' calls interleaved (A, B, A, B, ...) so that
    both are measured in the same state of the server and of the machine."""
    time.sleep(settle)
    took = {(f, name): [] for f in fund_ids for name in ("balances", "report")}
    answers = {}
    with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=120) as cluster:
        calls_of = {"balances": lambda f: cluster.charity.get_fund(f, caller=SYSTEM),
                    "report": lambda f: cluster.charity.public_report(f, {"from": "2025-01", "to": "2025-12"})}
        for f in fund_ids:
            for name, call in calls_of.items():
                for _ in range(3):
                    call(f)
        for _ in range(calls):
            for name, call in calls_of.items():
                for f in fund_ids:
                    started = time.perf_counter()
                    answers[(f, name)] = call(f)
                    took[(f, name)].append(time.perf_counter() - started)
    return {key: (statistics.median(values), answers[key]) for key, values in took.items()}


def throughput(client, db, raw_db, threads, per_thread, race_per_thread):
    """Parts 1 and 2: the service through RPC, then the raw baseline writing its documents."""
    total = threads * per_thread
    rpc_s = donations_rpc(threads, per_thread)
    count, race_s, outcome = race_rpc(threads, race_per_thread)
    t = templates(db)
    raw_s = donations_raw(client, raw_db, t, threads, per_thread)
    race_raw_s = race_raw(client, raw_db, t, threads, race_per_thread)
    table(f"1. ledger postings: donations (one entry, two postings, a receipt), {threads} threads, "
          f"{total} each way", [
              ("through the service (RPC)", f"{total / rpc_s:.0f} donations/s ({rpc_s:.1f} s)"),
              ("raw transaction, same writes", f"{total / raw_s:.0f} donations/s ({raw_s:.1f} s)"),
              ("service / raw", f"{raw_s / rpc_s:.2f}"),
          ])
    table(f"2. the disbursement race: {count} approvals of one fund's disbursements, {threads} threads "
          f"({outcome['approved']} afforded, {outcome['refused']} refused, as expected)", [
              ("through the service (RPC)", f"{count / race_s:.0f} approvals/s ({race_s:.1f} s)"),
              ("raw transaction, same writes", f"{count / race_raw_s:.0f} approvals/s ({race_raw_s:.1f} s)"),
              ("service / raw", f"{race_raw_s / race_s:.2f}"),
          ])


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    global AMQP_URI
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--queries-only", action="store_true", help="only part 3 (and 4)")
    args = parser.parse_args()
    threads = args.threads
    per_thread = 40 if args.quick else 150
    race_per_thread = 20 if args.quick else 60
    sizes = (2_000, 20_000) if args.quick else (10_000, 100_000)

    workdir = tempfile.mkdtemp(prefix="wushe-bench-charity-")
    port = localmongo.free_port()
    mongo_log = open(os.path.join(workdir, "mongo.log"), "wb")
    mongo = subprocess.Popen(localmongo.server_command(port, ":memory:"), stdout=mongo_log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    mongo_uri = localmongo.local_uri(port)
    localmongo.wait_until_up(mongo_uri)
    vhost, AMQP_URI = new_vhost()
    platform = Platform(mongo_uri, AMQP_URI, workdir)
    try:
        platform.topology()
        charity = platform.start_service("charity")
        client = pymongo.MongoClient(mongo_uri, tz_aware=True, retryWrites=False)
        db = platform.db(client, "charity")
        raw_db = client[f"{platform.db_prefix}_raw"]
        print(f"wushe charity bench: {os.cpu_count()} cores, {threads} threads", flush=True)

        if not args.queries_only:
            throughput(client, db, raw_db, threads, per_thread, race_per_thread)
        with ClusterRpcProxy({"AMQP_URI": AMQP_URI}, timeout=120) as cluster:
            fund_ids = [open_fund(cluster, 400 + n, region="340102003")["id"] for n in range(len(sizes))]
        seeders = []
        for fund_id, size in zip(fund_ids, sizes):
            seeder = Seeder(fund_id, seed=size)
            started = time.perf_counter()
            while seeder.count < size:
                db.entries.insert_many(seeder.batch(min(10_000, size - seeder.count)), ordered=False)
            kept = seeder.kept(db)
            print(f"  (a fund of {size:,} entries seeded with insert_many in {time.perf_counter() - started:.0f} s; "
                  f"{kept:,} rollup documents)", flush=True)
            seeders.append(seeder)
        answers = time_queries(fund_ids)
        for fund_id, seeder in zip(fund_ids, seeders):
            report = answers[(fund_id, "report")][1]
            assert report["reconciles"], report["checks"]
            assert report["income"]["total_fen"] == seeder.income
            assert report["spending"]["paid_fen"] == seeder.paid
            assert answers[(fund_id, "balances")][1]["balances"]["cash_posted_fen"] == seeder.net["cash"]
        header = [("", "  ".join(f"{size:>10,} entries" for size in sizes))]
        lines = []
        for name, label in (("balances", "fund with balances (get_fund), median"),
                            ("report", "public report of a year, median")):
            times = [answers[(f, name)][0] for f in fund_ids]
            lines.append((label, "  ".join(f"{t * 1000:>15.1f} ms" for t in times)))
            lines.append((f"  {name}: larger / smaller", f"{times[-1] / times[0]:.2f}x for "
                                                         f"{sizes[-1] // sizes[0]}x the entries"))
        table("3. answers that must not grow with the entries (over RPC, 40 calls each, the two funds "
              "interleaved)", header + lines)

        table("4. the charity process", [("resident memory after the run", f"{rss_mib(charity.proc.pid):.0f} MiB")])
    finally:
        platform.stop_all()
        rabbitmqctl("delete_vhost", vhost)
        mongo.terminate()
        mongo.wait(30)


if __name__ == "__main__":
    main()
