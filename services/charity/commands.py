"""The charity service's `wushe` subcommands:

    wushe charity check [--fund FUND_ID]    recompute every balance from the entries; exit 1 on any difference
"""
import sys

from services.common.access import SYSTEM


def check(cluster, fund_id=None, out=print):
    """Ask the charity service to recompute every kept balance and rollup; print what differs."""
    result = cluster.charity.check_ledger({"fund_id": fund_id} if fund_id else {}, caller=SYSTEM)
    for problem in result["problems"]:
        out(problem)
    out(f"charity check: {result['funds']} funds, {result['entries']} entries, "
        f"{len(result['problems'])} differences")
    return result


def _check(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        result = check(cluster, args.fund)
    if not result["ok"]:
        sys.exit(1)


def register(subparsers):
    charity = subparsers.add_parser("charity", help="the charity service's commands")
    commands = charity.add_subparsers(dest="charity_command", required=True)
    s = commands.add_parser("check", help="recompute every fund's balances from its entries and "
                                          "report any difference (exit 1 if there is one)")
    s.add_argument("--fund", default=None, help="only this fund")
    s.set_defaults(fn=_check)
