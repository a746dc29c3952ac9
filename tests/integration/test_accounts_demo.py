"""`make up`'s demo accounts: one per role, signing in with the demo password, made
once however often the demo is loaded."""
import pytest

from services.accounts import demo
from services.common.access import ROLES

pytestmark = pytest.mark.integration


def test_one_demo_account_per_role_signs_in_with_the_demo_password(cluster):
    said = []
    demo.load(cluster, said.append)
    demo.load(cluster, said.append)      # a second `make up` adds nothing
    assert len(said) == 1 and demo.DEMO_PASSWORD in said[0]
    listed = demo.demo_accounts()
    assert sorted(role for _login, role, _region in listed) == sorted(ROLES)
    for login, role, region in listed:
        grant = cluster.accounts.sign_in({"login": login, "password": demo.DEMO_PASSWORD})
        assert (grant["session"]["role"], grant["session"]["region"], grant["session"]["scope"]) \
            == (role, region, "full")
