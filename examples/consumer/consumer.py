"""Consume the wushe platform's events from your own queue into a local SQLite file.

A plain kombu program another team can copy: it needs kombu and jsonschema,
nothing of the platform. It declares and binds nothing (your user may not: the
platform made your queue `ext.<name>` and its bindings); it only consumes.

For each message, in order:
  1. parse the CloudEvents JSON and validate it against the AsyncAPI document
     of the platform (fetched from the gateway, or read from a file); a type the
     document does not know makes it fetch the document again once, since a new
     type may have been published since you started;
  2. store it in SQLite unless an event with the same `source` and `id` is there
     already (delivery is at least once: redeliveries and replays are dropped);
  3. only then acknowledge it. A message that is not valid JSON or breaks the
     contract is rejected: the broker moves it to the platform's dead-letter
     queue, where its operators see it.
A crash anywhere before 3 leaves the message unacknowledged; the broker
delivers it again to the next run, which finds it stored and drops it.

    WUSHE_PASSWORD=... python consumer.py \\
        --url amqp://ext.stats-bureau@broker.example:5672/wushe \\
        --queue ext.stats-bureau \\
        --asyncapi https://wushe.example/api/v1/asyncapi.json \\
        --db events.sqlite
"""
import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import urllib.parse
import urllib.request

import jsonschema
import kombu
from kombu.mixins import ConsumerMixin

log = logging.getLogger("wushe-consumer")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    source      TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT,
    time        TEXT NOT NULL,
    data        TEXT NOT NULL,          -- the event's `data`, JSON
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, id)
);
"""


def load_document(where):
    """The AsyncAPI document from an http(s) URL or a file."""
    if urllib.parse.urlparse(where).scheme in ("http", "https"):
        with urllib.request.urlopen(where, timeout=30) as response:
            return json.load(response)
    with open(where, encoding="utf-8") as f:
        return json.load(f)


class Contract:
    """One JSON Schema validator per event type, from the AsyncAPI document."""

    def __init__(self, where):
        self.where = where
        self.validators = {}
        self.reload()

    def reload(self):
        document = load_document(self.where)
        components = document["components"]
        self.validators = {
            message["name"]: jsonschema.Draft7Validator(
                {**message["payload"], "components": components},
                format_checker=jsonschema.FormatChecker())
            for message in components["messages"].values()}

    def problems(self, event):
        """[] if the event matches its type's schema, else what is wrong."""
        if not isinstance(event, dict):
            return ["not a JSON object"]
        validator = self.validators.get(event.get("type"))
        if validator is None:
            self.reload()  # a type published since the document was read
            validator = self.validators.get(event.get("type"))
        if validator is None:
            return [f"type {event.get('type')!r} is not in the AsyncAPI document"]
        return [f"{'/'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}"
                for e in validator.iter_errors(event)]


class Store:
    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.executescript(SCHEMA)

    def add(self, event):
        """True if stored, False if this source + id was stored before."""
        with self.db:  # one transaction, committed before the message is acknowledged
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO events (source, id, type, subject, time, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (event["source"], event["id"], event["type"], event.get("subject"),
                 event["time"], json.dumps(event["data"], ensure_ascii=False)))
        return cursor.rowcount == 1


class EventConsumer(ConsumerMixin):
    def __init__(self, connection, queue, contract, store, prefetch=50, die_before_ack=None):
        self.connection = connection
        # no_declare: the queue exists; declaring (even identically) needs rights we lack.
        self.queue = kombu.Queue(queue, no_declare=True)
        self.contract = contract
        self.store = store
        self.prefetch = prefetch
        self.die_before_ack = die_before_ack
        self.counts = {"stored": 0, "duplicate": 0, "rejected": 0}

    def get_consumers(self, Consumer, channel):
        return [Consumer(queues=[self.queue], callbacks=[self.on_message],
                         accept=["application/json"], prefetch_count=self.prefetch,
                         auto_declare=False)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        # A passive declare needs no permission: it tells the backlog.
        ok = channel.queue_declare(queue=self.queue.name, passive=True)
        log.info("consuming %s: %d messages waiting", self.queue.name, ok.message_count)

    def on_message(self, body, message):
        try:
            event = json.loads(message.body)
        except ValueError:
            event = None
        problems = self.contract.problems(event)
        if problems:
            self.counts["rejected"] += 1
            log.error("rejected (to the platform's dead letters): %s %s",
                      (event or {}).get("id") if isinstance(event, dict) else None, problems[:3])
            message.reject(requeue=False)
            return
        outcome = "stored" if self.store.add(event) else "duplicate"
        self.counts[outcome] += 1
        log.info("%s %s %s %s", outcome, event["type"], event["source"], event["id"])
        if self.die_before_ack is not None and self.counts["stored"] >= self.die_before_ack:
            log.warning("drill: exiting after storing, before acknowledging %s", event["id"])
            logging.shutdown()
            os._exit(3)
        message.ack()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="amqp://USER@HOST:PORT/VHOST (no password)")
    p.add_argument("--queue", required=True, help="ext.<name>, made for you by the platform")
    p.add_argument("--asyncapi", required=True, help="the document's URL or a file")
    p.add_argument("--db", default="events.sqlite", help="SQLite file (created if absent)")
    p.add_argument("--prefetch", type=int, default=50)
    p.add_argument("--die-before-ack", type=int, metavar="N",
                   help="drill: exit after storing the Nth event, before acknowledging it")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(message)s")

    password = os.environ.get("WUSHE_PASSWORD")
    if not password:
        sys.exit("set WUSHE_PASSWORD to the password the platform's operators gave you")
    url = urllib.parse.urlsplit(args.url)
    netloc = f"{url.username}:{urllib.parse.quote(password, safe='')}@{url.hostname}:{url.port or 5672}"
    connection = kombu.Connection(urllib.parse.urlunsplit(url._replace(netloc=netloc)),
                                  heartbeat=30)
    consumer = EventConsumer(connection, args.queue, Contract(args.asyncapi), Store(args.db),
                             args.prefetch, args.die_before_ack)

    def stop(signum, frame):
        consumer.should_stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    consumer.run()  # reconnects by itself when the broker goes away
    log.info("stopped: %s", consumer.counts)


if __name__ == "__main__":
    main()
