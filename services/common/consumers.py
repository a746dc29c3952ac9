"""External consuming systems: one broker user and one durable queue each.

Another government system (a big-data bureau, the ministry's statistics, a
city's grid platform) reads the platform's events from its own queue
`ext.<name>`, declared and bound by the platform (`wushe consumers add`), with
a user `ext.<name>` that may do one thing: read that queue.

What the user may do (RabbitMQ access control, https://www.rabbitmq.com/docs/access-control):
  configure "^$"   declare, delete nothing (not even its own queue)
  write     "^$"   publish to no exchange (the default one is `amq.default`, also
                   refused) and bind nothing (queue.bind needs write on the queue)
  read      "^ext\\.<name>$"  basic.consume / basic.get (and purge) of its queue only
  topic permissions write "^$", read "^$" on each `<service>.events` exchange it
                   is bound to: a second lock should anyone widen the permissions above
  no user tag      the management API refuses it (401) outright. Even the
                   `management` tag lists every queue of the vhost, so none is
                   given; the consumer watches its own backlog with a passive
                   queue.declare (which RabbitMQ allows to any user of the vhost).

The queue carries the inbox arguments (services.common.inbox): a quorum queue
whose letters go to `wushe.dead-letters` after DELIVERY_LIMIT deliveries.
"""
import re
import secrets
import urllib.parse

import amqp.exceptions
import kombu

from services.common import catalog, config, events, inbox
from services.common.broker_admin import BrokerAdmin
from services.common.errors import Conflict, InvalidInput, NotFound

PREFIX = "ext."
NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
WORD = re.compile(r"^(?:[a-z0-9_]+|\*|#)$")
NOTHING = "^$"


def queue_name(name):
    return PREFIX + name


def user_name(name):
    return PREFIX + name


def permissions(name):
    """configure, write, read of the consumer's user (names hold no regex characters but '.')."""
    return {"configure": NOTHING, "write": NOTHING,
            "read": "^" + queue_name(name).replace(".", r"\.") + "$"}


def check_name(name):
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidInput("a consumer name is 2-40 of a-z, 0-9 and '-', starting with a letter",
                           fields={"name": ["not like 'city-grid' or 'stats-bureau'"]})
    return name


def topic_matches(pattern, routing_key):
    """AMQP topic matching: `*` one word, `#` zero or more."""
    def match(p, k):
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])
    return match(pattern.split("."), routing_key.split("."))


def bindings_for(patterns, contracts=None):
    """[(service, pattern)]: each pattern on every events exchange publishing a matching type.
    A pattern that matches no published type is refused (a typo would bind nothing)."""
    contracts = catalog.contracts() if contracts is None else contracts
    if not patterns:
        raise InvalidInput("name at least one event type or pattern", fields={"types": ["missing"]})
    found, problems = [], {}
    for pattern in patterns:
        if not isinstance(pattern, str) or not all(WORD.match(w) for w in pattern.split(".")):
            problems[pattern] = "not an event type or a pattern of words, `*` and `#`"
            continue
        services = [c.service for c in contracts
                    if any(topic_matches(pattern, t) for t in c.by_type)]
        if not services:
            problems[pattern] = "matches no event type the platform publishes (wushe asyncapi)"
        found.extend((service, pattern) for service in services
                     if (service, pattern) not in found)
    if problems:
        raise InvalidInput(f"unusable event types: {', '.join(sorted(problems))}",
                           fields={"types": [f"{p}: {why}" for p, why in problems.items()]})
    return found


def queue(name, bindings):
    return kombu.Queue(queue_name(name), durable=True, queue_arguments=inbox.INBOX_ARGUMENTS,
                       bindings=[kombu.binding(events.events_exchange(service), routing_key=pattern)
                                 for service, pattern in bindings])


def _queue_state(connection, name):
    """(ready messages, consumers) from a passive declare, or None if there is no such queue."""
    channel = connection.channel()
    try:
        ok = channel.queue_declare(queue=name, passive=True)
        return ok.message_count, ok.consumer_count
    except amqp.exceptions.NotFound:
        return None
    finally:
        try:
            channel.close()
        except Exception:  # a refused passive declare closed it already
            pass


def amqp_url(name, amqp_uri=None, broker_url=None):
    """The consumer's AMQP URL without its password: host and port of `broker_url` (what
    the consuming system reaches) or of the platform's URI, and the platform's vhost."""
    platform = kombu.Connection(amqp_uri or config.amqp_uri())
    public = kombu.Connection(broker_url) if broker_url else platform
    vhost = urllib.parse.quote(platform.virtual_host or "/", safe="")
    scheme = "amqps" if public.ssl else "amqp"
    return f"{scheme}://{urllib.parse.quote(user_name(name), safe='.')}@{public.hostname}:{public.port or 5672}/{vhost}"


def asyncapi_url(gateway_url=None):
    base = (gateway_url or f"http://{config.gateway_bind()}").rstrip("/")
    return f"{base}/api/v1/asyncapi.json"


def add(name, patterns, amqp_uri=None, admin=None, broker_url=None, gateway_url=None):
    """Create the consumer's queue, bindings and user; all or nothing. Returns the
    connection details, with the generated password (shown once, never stored)."""
    check_name(name)
    bindings = bindings_for(patterns)
    amqp_uri = amqp_uri or config.amqp_uri()
    admin = admin or BrokerAdmin(amqp_uri)
    admin.overview()  # the management API answers, before anything is made
    user = user_name(name)
    if admin.user(user) is not None:
        where = ", ".join(sorted(p["vhost"] for p in admin.user_permissions(user))) or "no vhost"
        raise Conflict(f"user {user} exists already (permissions in {where}); "
                       f"`wushe consumers remove {name}` first", fields={"name": ["taken"]})
    password = secrets.token_urlsafe(24)
    with kombu.Connection(amqp_uri) as connection:
        if _queue_state(connection, queue_name(name)) is not None:
            raise Conflict(f"queue {queue_name(name)} exists already; "
                           f"`wushe consumers remove {name}` first", fields={"name": ["taken"]})
        made_queue = False
        try:
            queue(name, bindings)(connection.channel()).declare()
            made_queue = True
            admin.put_user(user, password, tags="")
            admin.set_permissions(user, **permissions(name))
            for service in sorted({s for s, _p in bindings}):
                admin.set_topic_permissions(user, events.exchange_name(service), NOTHING, NOTHING)
        except BaseException:
            admin.delete_user(user)
            if made_queue:
                connection.channel().queue_delete(queue_name(name))
            raise
    return {"name": name, "user": user, "password": password, "vhost": admin.vhost,
            "queue": queue_name(name),
            "bindings": [{"exchange": events.exchange_name(s), "routing_key": p} for s, p in bindings],
            "amqp_url": amqp_url(name, amqp_uri, broker_url),
            "asyncapi_url": asyncapi_url(gateway_url)}


def _names_in_vhost(admin):
    users = {p["user"][len(PREFIX):] for p in admin.vhost_permissions()
             if p["user"].startswith(PREFIX)}
    queues = {q["name"][len(PREFIX):] for q in admin.queues() if q["name"].startswith(PREFIX)}
    return sorted(users | queues)


def describe(name, admin, connection):
    """One consumer's user, bindings and backlog."""
    state = _queue_state(connection, queue_name(name))
    info = admin.queue(queue_name(name)) or {}
    stats = info.get("message_stats") or {}
    ack_rate = (stats.get("ack_details") or {}).get("rate")
    ready, consumers = state if state is not None else (None, None)
    oldest = info.get("head_message_timestamp")  # classic queues with timestamps only
    return {
        "name": name,
        "user": user_name(name) if admin.permissions(user_name(name)) is not None else None,
        "queue": queue_name(name) if state is not None else None,
        "bindings": [{"exchange": b["source"], "routing_key": b["routing_key"]}
                     for b in admin.queue_bindings(queue_name(name)) if b.get("source")],
        # ready and consumers: exact (passive declare); unacknowledged and the ack rate:
        # the management API's last sample (every 5 s by default).
        "ready": ready,
        "unacknowledged": info.get("messages_unacknowledged"),
        "consumers": consumers,
        "ack_rate": ack_rate,
        "oldest_message_time": oldest,
        "drains_in_seconds": (round(ready / ack_rate) if ready and ack_rate else None),
    }


def list_(amqp_uri=None, admin=None):
    amqp_uri = amqp_uri or config.amqp_uri()
    admin = admin or BrokerAdmin(amqp_uri)
    with kombu.Connection(amqp_uri) as connection:
        return [describe(name, admin, connection) for name in _names_in_vhost(admin)]


def remove(name, amqp_uri=None, admin=None):
    """Close the consumer's connections, delete its user and its queue (with what it holds)."""
    check_name(name)
    amqp_uri = amqp_uri or config.amqp_uri()
    admin = admin or BrokerAdmin(amqp_uri)
    user = user_name(name)
    removed = {"user": False, "queue": False, "messages_dropped": 0}
    elsewhere = [p["vhost"] for p in admin.user_permissions(user) if p["vhost"] != admin.vhost]
    if admin.permissions(user) is not None:
        if elsewhere:  # the same user name serves another vhost: leave that one alone
            admin.clear_permissions(user)
        else:
            for conn in admin.connections_of(user):
                admin.close_connection(conn["name"], f"consumer {name} removed")
            admin.delete_user(user)
        removed["user"] = True
    with kombu.Connection(amqp_uri) as connection:
        state = _queue_state(connection, queue_name(name))
        if state is not None:
            removed["messages_dropped"] = connection.channel().queue_delete(queue_name(name))
            removed["queue"] = True
    if not (removed["user"] or removed["queue"]):
        raise NotFound(f"no consumer {name} in vhost {admin.vhost}", fields={"name": ["unknown"]})
    return removed


def replay(name, since, patterns=None, amqp_uri=None, admin=None, rpc=None):
    """Re-send to the consumer's queue every event recorded since `since` of the types its
    bindings match (or `patterns`, which needs no management API: in the cluster), as
    {service: count}. Each publisher replays from its outbox; a missing queue is refused."""
    from services.common import rpcclient

    check_name(name)
    amqp_uri = amqp_uri or config.amqp_uri()
    if patterns:
        bound = bindings_for(patterns)
    else:
        admin = admin or BrokerAdmin(amqp_uri)
        bound = [(b["source"][:-len(".events")], b["routing_key"])
                 for b in admin.queue_bindings(queue_name(name)) if b["source"].endswith(".events")]
        if not bound:
            raise NotFound(f"no queue {queue_name(name)} bound to events in vhost {admin.vhost}",
                           fields={"name": ["unknown"]})
    wanted = {}
    for service, pattern in bound:
        if service in catalog.names():
            wanted.setdefault(service, set()).update(
                t for t in catalog.contract(service).by_type if topic_matches(pattern, t))
    counts = {}
    with (rpc if rpc is not None else rpcclient.cluster(amqp_uri)) as cluster:
        for service, types in sorted(wanted.items()):
            if types:
                counts[service] = getattr(cluster, service).replay_events(
                    since, queue_name(name), sorted(types))
    return counts
