"""`wushe up`'s charity demo on a platform of its own: built over RPC after the registry's
and the volunteer service's demos, added once however often it is loaded, and its
ledger passes `wushe charity check`."""
import pytest

from services.charity import commands, demo
from services.registry import demo as registry_demo
from services.volunteer import demo as volunteer_demo
from services.registry.demo import CALLER

pytestmark = pytest.mark.integration


def test_the_demo_builds_a_hefei_fund_once_and_its_ledger_checks(isolated_platform):
    platform = isolated_platform
    for service in ("registry", "volunteer", "charity"):
        platform.start_service(service, wait=False)
    for process in platform.processes:
        process.wait_ready()
    with platform.rpc(timeout=120) as cluster:
        lines = []
        for module in (registry_demo, volunteer_demo, demo):
            module.load(cluster, lines.append)
        demo.load(cluster, lines.append)   # a second `make up` adds nothing
        funds = cluster.charity.list_funds({"region": "3401"}, caller=CALLER)["items"]
        assert [f["name"] for f in funds] == [demo.FUND_NAME]
        fund = funds[0]
        assert fund["balances"]["in_kind_fen"] == 920_000
        assert fund["balances"]["cash_posted_fen"] == 5_338_800 - 400_000 - 500_000
        assert fund["balances"]["cash_reserved_fen"] == 80_000
        receipts = cluster.charity.list_receipts({"fund_id": fund["id"]}, caller=CALLER)
        assert receipts["total"] == 5
        round_ = cluster.charity.list_rounds({"fund_id": fund["id"]}, caller=CALLER)["items"][0]
        ranking = cluster.charity.get_round(round_["id"], caller=CALLER)["ranking"]
        assert len(ranking) == 4 and all(a["reviews"] == 2 for a in ranking)
        assert any(a["applicant"]["kind"] == "volunteer_team" for a in ranking)
        statuses = sorted(d["status"] for d in cluster.charity.list_disbursements(
            {"fund_id": fund["id"]}, caller=CALLER)["items"])
        assert statuses == ["approved", "paid", "paid", "requested"]
        report = cluster.charity.public_report(fund["id"], {})
        assert report["reconciles"]
        out = []
        assert commands.check(cluster, out=out.append)["ok"]
        assert out[-1].endswith("0 differences")
    assert any(line.startswith("demo: 合肥市社区慈善基金") for line in lines)
