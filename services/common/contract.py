"""Event contracts as code: what a service publishes, and what another consumes.

Each service declares, in its own `services/<service>/contract.py`, every event
type it publishes as an `EventSpec`: the event's name and version (its
CloudEvents type is `wushe.<service>.<name>.v<version>`), what its `subject`
is, and a marshmallow schema of its `data`:

    CONTRACT = Contract("registry", [
        EventSpec("station.opened", StationSnapshot, subject="station id",
                  summary="A built station opened (built -> operating)."),
        ...])

* Emitting checks `data` against its declaration inside the command's
  transaction (services.common.outbox.Transaction.emit): an undeclared type or
  data that does not match is refused there, so it never reaches the outbox.
  The publisher is strict: every field it sends is declared.
* A consumer imports the publisher's declarations (never retypes a type name)
  and subscribes to them with `Subscriptions`, which builds the inbox bindings
  from the handlers, so a binding without a handler cannot be written, and a
  type the publisher does not declare fails at import, i.e. at start.
* Readers are tolerant: `EventSpec.read` checks the fields the declaration
  names and ignores fields added since (adding a field is not breaking).
* Versioning: a breaking change of `data` (a field removed, renamed, retyped
  or newly required) is a new declaration with `version=2`, published beside
  v1 until every consumer has moved; v1 is then retired. See README "Events".

The AsyncAPI document of the platform (services.common.asyncapi) is generated
from these declarations.
"""
import re

from marshmallow import EXCLUDE, RAISE

from services.common import events, inbox
from services.common.errors import InvalidInput

_NAME = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")


class EventContractError(Exception):
    """An event that its publisher's contract does not allow: a bug, never sent."""


class EventSpec:
    """One published event type."""

    def __init__(self, name, data, *, summary, subject, version=1, description=None):
        if not _NAME.match(name):
            raise ValueError(f"event name {name!r} is not like 'station.opened'")
        self.name = name
        self.version = version
        self.data = data
        self.summary = summary
        self.subject = subject
        self.description = description
        self.service = None
        self._strict = data(unknown=RAISE)
        self._tolerant = data(unknown=EXCLUDE)

    @property
    def type(self):
        return events.event_type(self.service, self.name, self.version)

    @property
    def key(self):
        """`registry.station.opened.v1`: the type without the `wushe.` prefix."""
        return self.type.split(".", 1)[1]

    def check(self, data):
        """Raise EventContractError unless `data` is exactly what is declared."""
        problems = self._strict.validate(data) if isinstance(data, dict) else {"_schema": ["not an object"]}
        if problems:
            raise EventContractError(f"{self.type}: data does not match its declaration: {problems}")

    def read(self, event, needs=None):
        """The event's data, checked against its declaration; fields it does not
        declare are ignored (a field added since is not breaking).

        needs: the fields this reader uses. They must be present; every field
        present is checked against its declared type. Without `needs`, every
        field the declaration requires must be present.

        A malformed event is an InvalidInput: its handler fails and the inbox
        retries, then dead-letters it, where an operator sees why."""
        data = event.get("data") if isinstance(event, dict) else None
        if not isinstance(data, dict):
            raise InvalidInput(f"{self.type} without data", fields={"data": ["missing"]})
        problems = self._tolerant.validate(data, partial=needs is not None)
        for name in needs or ():
            if data.get(name) in (None, ""):
                problems.setdefault(name, ["missing"])
        if problems:
            raise InvalidInput(f"{self.type} does not match its declaration: "
                               f"{', '.join(sorted(problems))}",
                               fields={k: v if isinstance(v, list) else [str(v)]
                                       for k, v in problems.items()})
        return data


class Contract:
    """Every event type one service publishes."""

    def __init__(self, service, specs):
        self.service = service
        self.specs = list(specs)
        self.by_type = {}
        self._by_name = {}
        for spec in self.specs:
            if spec.service is not None:
                raise ValueError(f"{spec.name} is declared twice")
            spec.service = service
            if spec.type in self.by_type:
                raise ValueError(f"{spec.type} is declared twice")
            self.by_type[spec.type] = spec
            self._by_name.setdefault(spec.name, []).append(spec)

    @property
    def exchange(self):
        return events.exchange_name(self.service)

    def spec(self, name):
        """The declaration `name` ("station.opened", or "station.opened.v2")."""
        match = re.match(r"^(.*)\.v(\d+)$", name)
        if match:
            found = self.by_type.get(events.event_type(self.service, match[1], int(match[2])))
            if found:
                return found
        versions = self._by_name.get(name, [])
        if len(versions) == 1:
            return versions[0]
        if versions:
            raise EventContractError(f"{name} has versions {[s.version for s in versions]}; "
                                     "emit one by name.vN")
        raise EventContractError(f"{self.service} does not declare an event {name!r}")

    def __getitem__(self, name):
        return self.spec(name)

    def select(self, *names):
        return [self.spec(name) for name in names]


class Subscriptions:
    """What one service consumes from its inbox: declared events, each with its handler.

        SUBSCRIPTIONS = Subscriptions("volunteer")
        SUBSCRIPTIONS.on(registry_contract.STATION_EVENTS, stations_view.apply_station_event,
                         many=stations_view.apply_station_events)

    Handlers are fn(db, session, event), run by the inbox in one transaction
    with the processed-event marker. `many`, where given, is the same rule for
    a list: fn(db, session, events) must leave exactly what applying each event
    in order with the handler leaves (a test says so); the inbox gives it the
    consecutive events of a batch that share it, so that one read and one write
    serve many events. The inbox queue is bound to exactly the handled types.
    """

    def __init__(self, service, read_models=()):
        """read_models: the collections these handlers alone write, which
        `wushe rebuild SERVICE` empties before the events are replayed."""
        self.service = service
        self.read_models = tuple(read_models)
        self.handlers = {}
        self.batch_handlers = {}
        self.specs = {}

    def on(self, specs, handler, many=None):
        for spec in ([specs] if isinstance(specs, EventSpec) else specs):
            if not isinstance(spec, EventSpec) or spec.service is None:
                raise EventContractError(f"{self.service} subscribes to {spec!r}, which no "
                                         "publisher's contract declares")
            if spec.type in self.handlers:
                raise EventContractError(f"{self.service} handles {spec.type} twice")
            self.handlers[spec.type] = handler
            if many is not None:
                self.batch_handlers[spec.type] = many
            self.specs[spec.type] = spec
        return self

    def bindings(self):
        """[(publishing service, routing key)] of the inbox."""
        return [(spec.service, spec.type) for spec in self.specs.values()]

    def queue(self):
        return inbox.inbox_queue(self.service, self.bindings())

    def types_by_publisher(self):
        found = {}
        for spec in self.specs.values():
            found.setdefault(spec.service, []).append(spec.type)
        return found
