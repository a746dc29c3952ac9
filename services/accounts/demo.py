"""The accounts' part of `wushe up`: one demo account per role, in Anhui (34), Hefei (3401),
瑶海区 (340102) and 明光路街道 (340102001, where the registry's demo opens a station).

Each is made as a real one is: a province admin creates it (a temporary
password), its holder signs in and changes the password to DEMO_PASSWORD.
Checks first, so a second `make up` adds nothing; an account left half made
by an interrupted run is reset and finished.
"""
from services.registry.demo import CALLER

AFTER = ("registry",)

# Local demo only: it meets the password rules, and every demo login is printed with it.
DEMO_PASSWORD = "Wushe-Demo-2026"

DEMO_ACCOUNTS = [
    ("demo-province", "省厅管理员（演示）", "province_admin", "34"),
    ("demo-hefei", "合肥市民政局（演示）", "city_officer", "3401"),
    ("demo-yaohai", "瑶海区民政局（演示）", "county_officer", "340102"),
    ("demo-mingguang", "明光路街道社工站（演示）", "station_staff", "340102001"),
    ("demo-auditor", "省审计（演示）", "auditor", "34"),
]


def demo_accounts():
    """[(login, role, region)] of the demo accounts, for the `wushe up` banner."""
    return [(login, role, region) for login, _name, role, region in DEMO_ACCOUNTS]


def _finish(accounts, login, temporary):
    """Sign in with the temporary password and set the demo one, as the holder would."""
    grant = accounts.sign_in({"login": login, "password": temporary})
    session = grant["session"]
    holder = {"sub": session["sub"], "role": session["role"], "region": session["region"],
              "sid": session["sid"], "scope": session["scope"]}
    accounts.change_password({"current_password": temporary, "new_password": DEMO_PASSWORD},
                             caller=holder)


def load(cluster, out=print):
    accounts = cluster.accounts
    made = 0
    for login, name, role, region in DEMO_ACCOUNTS:
        found = accounts.list_accounts({"login": login, "per_page": 1}, caller=CALLER)["items"]
        if found and found[0]["login"] == login:
            if not found[0]["must_change_password"]:
                continue
            temporary = accounts.reset_password(found[0]["id"], caller=CALLER)["temporary_password"]
        else:
            temporary = accounts.create_account({"login": login, "display_name": name,
                                                 "role": role, "region": region},
                                                caller=CALLER)["temporary_password"]
        _finish(accounts, login, temporary)
        made += 1
    if made:
        out(f"demo: {made} accounts, password {DEMO_PASSWORD}: "
            + ", ".join(f"{login} ({role} {region})" for login, role, region in demo_accounts()))


def banner(gateway_url):
    """Lines `wushe up` prints: where to sign in, and the demo logins."""
    lines = [f"  sign in:    {gateway_url}/signin   (demo password {DEMO_PASSWORD})"]
    lines += [f"    {login:16} {role:15} {region}" for login, role, region in demo_accounts()]
    return lines
