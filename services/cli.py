"""The `wushe` command: run, operate and inspect the platform.

  wushe up | down                     the whole platform locally (make up / make down)
  wushe serve SERVICE                 one process: registry, volunteer, ..., or gateway
  wushe topology                      declare exchanges, inboxes and the dead-letter queue
  wushe token --role R --region C     print a bearer token
  wushe dead-letters [--retry]        list dead letters, or send them back to their queue
  wushe replay --service S --since T --queue Q   re-publish a service's event log
  wushe asyncapi                      print the AsyncAPI 3.0 document of every event
  wushe backup DIR | restore DIR      every service's database to files, and back
  wushe rebuild SERVICE               empty a service's read models and replay their events
  wushe consumers add NAME --types P... | list | remove NAME | replay NAME --since T
                                      other systems' own queues and users (docs/consumers.md)
Each service adds its own subcommands (services/<service>/commands.py), e.g.
  wushe import-divisions FILE...      load division CSV files (any order)
"""
import argparse
import sys


def _serve(args):
    if args.service == "gateway":
        import os

        os.execvp(sys.executable, [sys.executable, "-m", "gunicorn",
                                   "-c", "python:gateway.gunicorn_conf", "gateway.wsgi:app"])
    from nameko.cli.run import run

    from services.common import catalog, config, logs

    if args.service not in catalog.names():
        sys.exit(f"unknown service {args.service!r}; one of {', '.join(catalog.names())} or gateway")
    logs.configure(config.log_level())
    run([catalog.service_class(args.service)], config.nameko_config(args.service))


def _topology(args):
    from services.common import topology

    names = topology.declare()
    print("declared: exchanges, wushe.dead-letters, " + ", ".join(names))


def _token(args):
    from gateway.auth import issue_token

    print(issue_token(args.role, args.region, sub=args.sub, ttl_seconds=args.ttl))


def _dead_letters(args):
    from services.common import deadletters

    deadletters.main(retry=args.retry, limit=args.limit)


def _replay(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        count = getattr(cluster, args.service).replay_events(args.since, args.queue, args.type or None)
    print(f"replayed {count} {args.service} events since {args.since} to {args.queue}")


def _backup(args):
    from services.common import backup, mongo

    manifest = backup.backup(mongo.client(), args.dir)
    for service, entry in manifest["services"].items():
        print(f"{service}: {sum(entry['collections'].values())} documents in "
              f"{len(entry['collections'])} collections, last event "
              f"{(entry['last_event'] or {}).get('id')}")
    print(f"backup written to {args.dir}")


def _restore(args):
    from services.common import backup, mongo

    try:
        restored = backup.restore(mongo.client(), args.dir)
    except backup.RestoreRefused as exc:
        sys.exit(f"wushe restore: {exc}")
    for service, counts in restored.items():
        print(f"{service}: {sum(counts.values())} documents restored")
    print("now rebuild each service's read models: wushe rebuild SERVICE")


def _rebuild(args):
    """Empty a service's read models, then have every publisher replay what feeds them."""
    from services.common import rpcclient
    from services.common.access import SYSTEM

    with rpcclient.cluster() as cluster:
        plan = getattr(cluster, args.service).clear_read_models(caller=SYSTEM)
        if not plan["queue"]:
            print(f"{args.service} keeps no read models")
            return
        for publisher, types in plan["publishers"].items():
            count = getattr(cluster, publisher).replay_events("1970-01-01T00:00:00Z", plan["queue"],
                                                              types)
            print(f"{publisher}: {count} events replayed to {plan['queue']}")
    print(f"cleared {plan['cleared']}; the inbox rebuilds them as the events arrive")


def _consumers(args):
    import json

    from services.common import consumers
    from services.common.broker_admin import BrokerAdminError

    try:
        if args.action == "add":
            made = consumers.add(args.name, args.types, broker_url=args.broker_url,
                                 gateway_url=args.gateway_url)
            if args.json:
                print(json.dumps(made, ensure_ascii=False))
                return
            print(f"consumer {made['name']} added\n"
                  f"  user      {made['user']}\n"
                  f"  password  {made['password']}\n"
                  f"            (shown once, stored nowhere: hand it over now; to replace it,\n"
                  f"            remove the consumer and add it again)\n"
                  f"  vhost     {made['vhost']}\n"
                  f"  queue     {made['queue']} (quorum; dead letters to wushe.dead-letters)\n"
                  f"  amqp url  {made['amqp_url']}  (the password is not in it)\n"
                  f"  asyncapi  {made['asyncapi_url']}")
            for b in made["bindings"]:
                print(f"  binding   {b['exchange']} {b['routing_key']}")
            print(f"  history   wushe consumers replay {made['name']} --since 1970-01-01T00:00:00Z")
        elif args.action == "list":
            found = consumers.list_()
            if args.json:
                print(json.dumps(found, ensure_ascii=False))
                return
            for c in found:
                oldest = c["oldest_message_time"] or "n/a (RabbitMQ reports it for classic queues only)"
                drains = f"{c['drains_in_seconds']} s at {c['ack_rate']}/s acked" \
                    if c["drains_in_seconds"] is not None else "n/a (no acks in the last sample)"
                unacked = c["unacknowledged"] if c["unacknowledged"] is not None else "n/a"
                print(f"{c['name']}: user {c['user'] or 'MISSING'}, queue {c['queue'] or 'MISSING'}, "
                      f"{c['consumers'] if c['consumers'] is not None else '-'} consumers\n"
                      f"  backlog   {c['ready']} ready, {unacked} unacknowledged; "
                      f"oldest {oldest}; drains in {drains}")
                for b in c["bindings"]:
                    print(f"  binding   {b['exchange']} {b['routing_key']}")
            print(f"{len(found)} consumers")
        elif args.action == "remove":
            removed = consumers.remove(args.name)
            print(f"consumer {args.name} removed: user {'deleted' if removed['user'] else 'absent'}, "
                  f"queue {'deleted' if removed['queue'] else 'absent'} "
                  f"({removed['messages_dropped']} messages dropped)")
        elif args.action == "replay":
            counts = consumers.replay(args.name, args.since, args.types)
            for service, count in counts.items():
                print(f"{service}: {count} events replayed to {consumers.queue_name(args.name)}")
            print(f"{sum(counts.values())} events replayed since {args.since}")
    except BrokerAdminError as exc:
        sys.exit(f"wushe consumers {args.action}: {exc}")


def _asyncapi(args):
    import json

    from services.common import asyncapi

    print(json.dumps(asyncapi.build(), ensure_ascii=False, indent=2))


def _up(args):
    from services import local

    local.up()


def _down(args):
    from services import local

    local.down()


def parser():
    p = argparse.ArgumentParser(prog="wushe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the platform locally").set_defaults(fn=_up)
    sub.add_parser("down", help="stop the local platform").set_defaults(fn=_down)
    s = sub.add_parser("serve", help="run one service or the gateway in the foreground")
    s.add_argument("service")
    s.set_defaults(fn=_serve)
    sub.add_parser("topology", help="declare the broker topology").set_defaults(fn=_topology)
    s = sub.add_parser("token", help="print a bearer token")
    s.add_argument("--role", required=True)
    s.add_argument("--region", required=True)
    s.add_argument("--sub", default=None)
    s.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    s.set_defaults(fn=_token)
    s = sub.add_parser("dead-letters", help="list dead letters; --retry sends them back")
    s.add_argument("--retry", action="store_true")
    s.add_argument("--limit", type=int, default=1000)
    s.set_defaults(fn=_dead_letters)
    s = sub.add_parser("replay", help="re-publish a service's events to one queue")
    s.add_argument("--service", required=True)
    s.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-01T00:00:00Z")
    s.add_argument("--queue", required=True)
    s.add_argument("--type", action="append", help="only this event type (repeatable)")
    s.set_defaults(fn=_replay)
    sub.add_parser("asyncapi", help="print the AsyncAPI document of the platform's events"
                   ).set_defaults(fn=_asyncapi)
    s = sub.add_parser("backup", help="write every service's database to DIR")
    s.add_argument("dir")
    s.set_defaults(fn=_backup)
    s = sub.add_parser("restore", help="load a backup from DIR into empty databases")
    s.add_argument("dir")
    s.set_defaults(fn=_restore)
    s = sub.add_parser("rebuild", help="rebuild a service's read models from the events")
    s.add_argument("service")
    s.set_defaults(fn=_rebuild)
    s = sub.add_parser("consumers", help="other systems' queues and users on the broker")
    actions = s.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="a user and queue ext.NAME bound to event types")
    a.add_argument("name")
    a.add_argument("--types", nargs="+", required=True, metavar="PATTERN",
                   help="event types or topic patterns, e.g. wushe.registry.station.#")
    a.add_argument("--broker-url", help="the broker address the consuming system reaches "
                   "(default: the host of AMQP_URI)")
    a.add_argument("--gateway-url", help="the gateway's public base URL (for the AsyncAPI URL)")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("list", help="each consumer with its bindings and backlog")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("remove", help="delete the consumer's user and queue")
    a.add_argument("name")
    a = actions.add_parser("replay", help="re-send its types' history to ext.NAME")
    a.add_argument("name")
    a.add_argument("--since", required=True, help="ISO 8601 time, e.g. 2026-11-01T00:00:00Z")
    a.add_argument("--types", nargs="+", metavar="PATTERN", help="these instead of the queue's "
                   "bindings (read from the management API)")
    s.set_defaults(fn=_consumers)
    from services.common import catalog

    for _service, commands in catalog.command_modules():
        commands.register(sub)
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"] and argv[1:2] != ["gateway"]:
        # nameko services run on eventlet: patch before anything (pymongo, kombu,
        # the service modules that the parser's subcommands import) is imported.
        import eventlet

        eventlet.monkey_patch()
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except Exception as exc:  # a clear line for the operator, not a traceback
        from services.common.errors import DomainError

        if isinstance(exc, DomainError):
            sys.exit(f"wushe {args.command}: {exc} {exc.fields or ''}")
        raise


if __name__ == "__main__":
    main()
