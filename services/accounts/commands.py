"""`wushe accounts add` and `wushe accounts reset`: the operator's way in.

The first province admin of a new installation, and an admin who locked
themselves out, are made here with the system caller; the temporary password
is printed once, to be changed at the first sign-in.
"""
from services.common.access import SYSTEM


def _add(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        made = cluster.accounts.create_account({"login": args.login, "display_name": args.name,
                                                "role": args.role, "region": args.region},
                                               caller=SYSTEM)
    print(f"account {made['id']} ({made['login']}, {made['role']} {made['region']})")
    print(f"temporary password (shown once, valid until {made['temporary_password_expires_at']}):"
          f" {made['temporary_password']}")


def _reset(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        found = cluster.accounts.list_accounts({"login": args.login, "per_page": 1},
                                               caller=SYSTEM)["items"]
        if not found or found[0]["login"] != args.login.lower():
            raise SystemExit(f"wushe accounts reset: no account {args.login}")
        reset = cluster.accounts.reset_password(found[0]["id"], caller=SYSTEM)
    print(f"temporary password for {args.login} (shown once, valid until {reset['expires_at']}):"
          f" {reset['temporary_password']}")


def register(subparsers):
    s = subparsers.add_parser("accounts", help="add an account or reset its password (operators)")
    sub = s.add_subparsers(dest="accounts_command", required=True)
    a = sub.add_parser("add", help="create an account; prints its temporary password")
    a.add_argument("--login", required=True)
    a.add_argument("--name", required=True, help="display name")
    a.add_argument("--role", required=True)
    a.add_argument("--region", required=True)
    a.set_defaults(fn=_add)
    r = sub.add_parser("reset", help="reset a password (and lift a lock); prints the new one")
    r.add_argument("--login", required=True)
    r.set_defaults(fn=_reset)
