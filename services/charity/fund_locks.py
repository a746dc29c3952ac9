"""One money command per fund at a time in this process: fewer write conflicts, never
the guarantee.

Commands moving one fund's money all write its fund and balance documents, so
concurrent ones in one process would only write-conflict and run again (the
database's conflict detection is what keeps a fund from being overdrawn, across
replicas: services/charity/ledger.py). Queuing them here first makes each
transaction short and conflict-free within the process; commands of different
funds still run side by side. (Green locks once `wushe serve` has
monkey-patched threading.)
"""
import contextlib
import threading

_guard = threading.Lock()
_locks = {}   # fund id -> [lock, holders and waiters]


@contextlib.contextmanager
def held(fund_id):
    if fund_id is None:
        yield
        return
    with _guard:
        entry = _locks.setdefault(fund_id, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _guard:
            entry[1] -= 1
            if entry[1] == 0:
                _locks.pop(fund_id, None)
