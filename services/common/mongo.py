"""The service's own MongoDB database, and transactions on it.

One MongoClient per process (pymongo pools connections and is thread- and
greenlet-safe); each service reaches only its own database.
"""
import threading

import pymongo
from nameko.extensions import DependencyProvider
from pymongo import monitoring
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from services.common import config, metrics

_clients = {}
_lock = threading.Lock()

class CommandCounter(monitoring.CommandListener):
    """Counts every command sent: metrics.MONGO_COMMANDS."""

    def started(self, event):
        metrics.MONGO_COMMANDS.labels(event.database_name, event.command_name).inc()

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def client(uri=None):
    uri = uri or config.mongo_uri()
    with _lock:
        if uri not in _clients:
            _clients[uri] = pymongo.MongoClient(
                uri, tz_aware=True, serverSelectionTimeoutMS=10_000, appname="wushe",
                event_listeners=[CommandCounter()])
        return _clients[uri]


def service_db(service, uri=None):
    return client(uri)[config.database_name(service)]


def run_in_transaction(db, fn):
    """Run fn(session) in a multi-document transaction, retried on transient errors.

    Majority read and write concern: what a transaction commits survives a
    primary failover in the production replica set.
    """
    with db.client.start_session() as session:
        return session.with_transaction(
            fn,
            read_concern=ReadConcern("majority"),
            write_concern=WriteConcern("majority"),
        )


class ServiceDatabase(DependencyProvider):
    """Injects the pymongo Database owned by this service."""

    def setup(self):
        self.database = service_db(self.container.service_name)

    def get_dependency(self, worker_ctx):
        return self.database
