"""Personal data must not leave its service: no ID number, phone or person's name in any
event, nor in any log line. Checked over everything a test platform wrote.

What is looked for:
* ID numbers: any 18-character resident ID with a valid GB 11643 check digit
  and birth date (the services keep none in full, so they are found by shape);
* phones and names: every value the services hold in their personal-data fields
  (PERSONAL_FIELDS below: volunteers, station staff, donors, accounts, ...),
  read from their databases when the platform stops, so whatever the tests
  entered is looked for, exactly. Masked forms (张*丰, 139****5678) never match.
A finding names the event type and id, or the log file and line.
"""
import datetime
import glob
import json
import os
import re

from services.common import catalog

# service -> [(collection, dotted field path)]; a path through a list (staff.name)
# looks into every element. A new service holding personal data adds its fields here.
PERSONAL_FIELDS = {
    "registry": [("stations", "staff.name"), ("stations", "staff.phone")],
    "volunteer": [("volunteers", "name"), ("volunteers", "phone"), ("certificates", "name")],
    "charity": [("donations", "donor.name"), ("donations", "donor.phone"),
                ("donations", "donor.id_number"), ("receipts", "donor.name")],
    "supervision": [("supervisors", "name"), ("supervisors", "phone")],
    "accounts": [("accounts", "display_name"), ("accounts", "phone")],
}

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
MIN_NAME_LENGTH = 2  # one-character values would match everywhere


def looks_like_id_number(text):
    digits = text.upper()
    if _CHECK[sum(int(d) * w for d, w in zip(digits[:17], _WEIGHTS)) % 11] != digits[17]:
        return False
    try:
        born = datetime.date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def _values(node, path):
    head, _, rest = path.partition(".")
    if isinstance(node, list):
        for item in node:
            yield from _values(item, path)
        return
    if not isinstance(node, dict) or head not in node:
        return
    value = node[head]
    if rest:
        yield from _values(value, rest)
    elif isinstance(value, str):
        yield value


def held_values(client, database_of):
    """Every phone and name the platform's services hold."""
    found = set()
    for service in catalog.names():
        db = client[database_of(service)]
        for collection, path in PERSONAL_FIELDS.get(service, []):
            projection = {path.split(".")[0]: 1}
            for doc in db[collection].find({}, projection):
                found.update(v.strip() for v in _values(doc, path)
                             if len(v.strip()) >= MIN_NAME_LENGTH and "*" not in v)
    return found


def leaks_in(text, values):
    hits = [m for m in _ID_NUMBER.findall(text) if looks_like_id_number(m)]
    hits.extend(v for v in values if v in text)
    return hits


def scan(client, database_of, log_dir):
    """[(where, what leaked)] over every outbox event and every log line of a platform."""
    values = held_values(client, database_of)
    problems = []
    for service in catalog.names():
        for entry in client[database_of(service)].outbox.find({}, {"event": 1}):
            event = entry["event"]
            for hit in leaks_in(json.dumps(event, ensure_ascii=False), values):
                problems.append((f"event {event.get('type')} {event.get('id')}", hit))
    for path in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                for hit in leaks_in(line, values):
                    problems.append((f"log {os.path.basename(path)}:{number}", hit))
    return problems
