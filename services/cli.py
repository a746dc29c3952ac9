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
