"""The `wushe` command: run, operate and inspect the platform.

  wushe up | down                     the whole platform locally (make up / make down)
  wushe serve SERVICE                 one process: registry, volunteer, ..., or gateway
  wushe topology                      declare exchanges, inboxes and the dead-letter queue
  wushe import-divisions FILE...      load division CSV files (any order)
  wushe token --role R --region C     print a bearer token
  wushe dead-letters [--retry]        list dead letters, or send them back to their queue
  wushe replay --service S --since T --queue Q   re-publish a service's event log
"""
import argparse
import sys


def _serve(args):
    if args.service == "gateway":
        import os

        os.execvp(sys.executable, [sys.executable, "-m", "gunicorn",
                                   "-c", "python:gateway.gunicorn_conf", "gateway.wsgi:app"])
    # nameko services run on eventlet: patch before anything opens a socket.
    import eventlet

    eventlet.monkey_patch()
    import importlib

    from nameko.cli.run import run

    from services.common import config, logs

    if args.service not in config.SERVICES:
        sys.exit(f"unknown service {args.service!r}; one of {', '.join(config.SERVICES)} or gateway")
    logs.configure(config.log_level())
    module = importlib.import_module(f"services.{args.service}.service")
    service_cls = next(v for v in vars(module).values()
                       if isinstance(v, type) and getattr(v, "name", None) == args.service)
    run([service_cls], config.nameko_config(args.service))


def _topology(args):
    from services.common import topology

    names = topology.declare()
    print("declared: exchanges, wushe.dead-letters, " + ", ".join(names))


def _rpc():
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.common import config

    return ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=config.rpc_timeout() * 4)


def import_divisions(paths, chunk=5000, out=print, rpc=None):
    from services.common.access import SYSTEM
    from services.registry.divisions import read_division_files

    rows = read_division_files(paths)
    # Parents first, so a reader never sees a unit whose region is missing.
    order = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
    rows.sort(key=lambda r: (order[r["level"]], r["code"]))
    summary = {"inserted": 0, "updated": 0, "unchanged": 0}
    with (rpc or _rpc()) as cluster:
        for start in range(0, len(rows), chunk):
            counts = cluster.registry.import_divisions(rows[start:start + chunk], caller=SYSTEM)
            for key in summary:
                summary[key] += counts[key]
        result = cluster.registry.finish_division_import(summary, caller=SYSTEM)
    out(f"divisions: {len(rows)} rows, {result['inserted']} new, {result['updated']} changed, "
        f"{result['unchanged']} unchanged; {result['regions']} regions recounted")
    return result


def _import_divisions(args):
    import_divisions(args.files)


def _token(args):
    from gateway.auth import issue_token

    print(issue_token(args.role, args.region, sub=args.sub, ttl_seconds=args.ttl))


def _dead_letters(args):
    from services.common import deadletters

    deadletters.main(retry=args.retry, limit=args.limit)


def _replay(args):
    with _rpc() as cluster:
        count = getattr(cluster, args.service).replay_events(args.since, args.queue, args.type or None)
    print(f"replayed {count} {args.service} events since {args.since} to {args.queue}")


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
    s = sub.add_parser("import-divisions", help="import division CSV files")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=_import_divisions)
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
    return p


def main(argv=None):
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
