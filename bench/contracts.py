"""What checking an event against its contract costs, per event.

    python bench/contracts.py [--quick]

Every `tx.emit` validates the event's data against its declaration
(services/common/contract.py) inside the command's transaction. This times
that check for the registry's station snapshot (the largest event data the
platform sends: nested history, staffing and staff) and the volunteer's hour
record, beside building the same CloudEvent without a check (the raw
baseline), in one process on one core.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import services  # noqa: E402,F401  (first: quiets eventlet's import banner)
from services.common import events  # noqa: E402
from services.registry.contract import CONTRACT as REGISTRY  # noqa: E402
from services.volunteer.contract import CONTRACT as VOLUNTEER  # noqa: E402
from tests.unit.test_asyncapi import station_event  # noqa: E402

HOURS = {"record_id": "H0123456789abcde", "volunteer_number": "V34010200000001",
         "activity_id": "A0123456789abcde", "team_id": "T0123456789abcde",
         "station_id": "340102001-01", "division_code": "340102001", "county": "340102",
         "city": "3401", "province": "34", "start": "2026-10-29T01:00:00Z",
         "end": "2026-10-29T03:30:00Z", "service_date": "2026-10-29", "minutes": 150,
         "approved_at": "2026-10-30T02:00:00.000000Z"}


def per_event_us(fn, n):
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 2_000 if parser.parse_args().quick else 20_000
    station = dict(station_event()["data"],
                   staff=[{"id": f"s{i}", "role": "resident", "certification": "junior"}
                          for i in range(4)])
    cases = [("registry station.opened (snapshot)", REGISTRY["station.opened"], station),
             ("volunteer hours.approved", VOLUNTEER["hours.approved"], HOURS)]
    print(f"contract check per event, {n} events each, one core")
    width = max(len(c[0]) for c in cases)
    for name, spec, data in cases:
        raw = per_event_us(lambda: events.cloud_event(spec.service, spec.name, "s", data), n)
        checked = per_event_us(lambda: (spec.check(data),
                                        events.cloud_event(spec.service, spec.name, "s", data)), n)
        print(f"  {name.ljust(width)}  checked {checked:6.1f} us   raw build {raw:5.1f} us   "
              f"ratio {checked / raw:4.1f}x   check alone {checked - raw:6.1f} us")


if __name__ == "__main__":
    main()
