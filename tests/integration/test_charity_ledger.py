"""The ledger against the real broker and Mongo-wire server: available cash never goes
below zero even with two replicas racing, money commands are idempotent, entries are
reversed at most once, and only the right officer approves."""
import pytest

from services.common.errors import Conflict, DomainError, Forbidden, InvalidInput
from tests.integration.test_charity_support import FundScene, caller, key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def second_replica(platform):
    """Another charity process on the same vhost and databases: RPCs alternate between them."""
    replica = platform.start_service("charity")
    yield replica
    replica.stop()


@pytest.fixture
def scene(cluster, units):
    return FundScene(cluster, units.township())


def test_fifty_approvals_at_once_against_two_replicas_reserve_exactly_what_the_fund_affords(
        platform, second_replica, scene):
    scene.donate(20 * 30_000)
    requested = [scene.request(30_000) for _ in range(50)]
    with platform.rpc(timeout=120) as cluster:
        replies = [cluster.charity.approve_disbursement.call_async(
            r["id"], {}, caller=scene.approver, idempotency_key=key()) for r in requested]
        approved, refused = [], []
        for reply in replies:
            try:
                approved.append(reply.result())
            except DomainError as refusal:
                refused.append(refusal)
    assert len(approved) == 20
    assert len(refused) == 30
    assert {r.status for r in refused} == {409}
    assert {r.code for r in refused} == {"insufficient_funds"}
    assert all(r.details["available_fen"] == 0 and "0 fen" in r.message for r in refused)
    balances = scene.balances()
    assert balances == dict(balances, cash_posted_fen=600_000, cash_reserved_fen=600_000,
                            cash_available_fen=0)
    # Paying them all, also spread over both replicas, empties the fund to the fen.
    with platform.rpc(timeout=120) as cluster:
        replies = [cluster.charity.pay_disbursement.call_async(
            a["id"], {}, caller=scene.approver, idempotency_key=key()) for a in approved]
        assert all(reply.result()["status"] == "paid" for reply in replies)
    assert scene.balances()["cash_posted_fen"] == 0
    assert scene.charity.check_ledger({"fund_id": scene.fund_id}, caller=scene.approver)["ok"]
    # Both replicas took part: each logged some of the refusals.
    for replica in (platform.charity, second_replica):
        assert any("charity.approve_disbursement" in line.get("message", "")
                   for line in replica.log_lines()), replica.name


def test_a_refusal_names_the_available_amount(scene):
    scene.donate(10_000)
    requested = scene.request(10_001)
    with pytest.raises(DomainError) as refused:
        scene.approve(requested["id"])
    assert (refused.value.status, refused.value.code) == (409, "insufficient_funds")
    assert refused.value.details == {"fund_id": scene.fund_id, "available_fen": 10_000, "asked_fen": 10_001}
    assert refused.value.fields == {"amount_fen": ["more than the 10000 fen available"]}
    assert "100.00 yuan (10000 fen) available" in refused.value.message


def test_the_same_key_and_body_is_one_donation_another_body_is_a_409(scene):
    first = scene.donate(5_000, idempotency_key="donation-1")
    again = scene.donate(5_000, idempotency_key="donation-1")
    assert again == first
    assert len(scene.entries()) == 1
    assert scene.balances()["cash_posted_fen"] == 5_000
    with pytest.raises(Conflict) as refused:
        scene.donate(6_000, idempotency_key="donation-1")
    assert refused.value.fields == {"Idempotency-Key": ["already used with a different request"]}
    assert len(scene.entries()) == 1
    # The key is the caller's own: another officer's same key is another request.
    other = scene.donate(5_000, who=caller("station_staff", scene.township), idempotency_key="donation-1")
    assert other["id"] != first["id"]


def test_a_key_refused_for_lack_of_money_stays_refused_a_new_key_is_judged_anew(scene):
    requested = scene.request(8_000)
    with pytest.raises(DomainError) as refused:
        scene.approve(requested["id"], idempotency_key="approve-1")
    assert refused.value.code == "insufficient_funds"
    scene.donate(10_000)
    with pytest.raises(DomainError) as again:
        scene.approve(requested["id"], idempotency_key="approve-1")
    assert again.value.code == "insufficient_funds" and again.value.status == 409
    assert again.value.details["available_fen"] == 0   # the first answer, not today's
    approved = scene.approve(requested["id"], idempotency_key="approve-2")
    assert approved["status"] == "approved"
    assert scene.balances()["cash_available_fen"] == 2_000


def test_money_commands_without_a_key_are_refused_naming_the_header(scene):
    with pytest.raises(InvalidInput) as refused:
        scene.charity.record_donation({"fund_id": scene.fund_id, "kind": "money",
                                       "received_on": "2026-03-01", "amount_fen": 100,
                                       "channel": "cash", "donor": {"kind": "anonymous"}},
                                      caller=scene.staff)
    assert refused.value.fields == {"Idempotency-Key": ["required for money commands"]}


def test_an_entry_is_reversed_at_most_once_even_when_two_replicas_race(platform, second_replica, scene):
    scene.donate(50_000)
    paid = scene.spend(20_000)
    assert scene.balances()["cash_posted_fen"] == 30_000
    with platform.rpc(timeout=60) as cluster:
        replies = [cluster.charity.reverse_entry.call_async(
            paid["entry_id"], {"reason": "付错了人"}, caller=scene.approver, idempotency_key=key())
            for _ in range(6)]
        reversed_, refused = [], []
        for reply in replies:
            try:
                reversed_.append(reply.result())
            except Conflict as refusal:
                refused.append(refusal)
    assert len(reversed_) == 1 and len(refused) == 5
    assert {r.details["reversed_by"] for r in refused} == {reversed_[0]["id"]}
    reversal = reversed_[0]
    assert reversal["reverses"] == paid["entry_id"] and reversal["kind"] == "reversal"
    assert [(p["account"], p["debit_fen"], p["credit_fen"]) for p in reversal["postings"]] == \
        [("aid_expense", 0, 20_000), ("cash", 20_000, 0)]
    assert scene.balances()["cash_posted_fen"] == 50_000
    original = scene.charity.get_entry(paid["entry_id"], caller=scene.auditor)
    assert original["reversed_by"] == reversal["id"]
    assert original["postings"][0]["debit_fen"] == 20_000   # never changed
    with pytest.raises(Conflict):
        scene.charity.reverse_entry(reversal["id"], {"reason": "再冲"}, caller=scene.approver,
                                    idempotency_key=key())
    assert scene.charity.get_disbursement(paid["id"], caller=scene.approver)["reversed_entry_id"] == reversal["id"]


def test_a_donation_already_spent_cannot_be_reversed_away(scene):
    donation = scene.donate(10_000)
    scene.approve(scene.request(8_000)["id"])
    with pytest.raises(DomainError) as refused:
        scene.charity.reverse_entry(donation["entry_id"], {"reason": "录错"}, caller=scene.approver,
                                    idempotency_key=key())
    assert (refused.value.status, refused.value.details["available_fen"]) == (409, 2_000)
    assert scene.balances()["cash_posted_fen"] == 10_000


def test_the_requester_never_approves_and_station_staff_and_auditors_do_not_either(scene):
    scene.donate(10_000)
    own = scene.request(1_000, who=scene.approver)
    with pytest.raises(Conflict) as refused:
        scene.approve(own["id"], who=scene.approver)
    assert "own request" in refused.value.message
    staff_request = scene.request(1_000, who=scene.staff)
    with pytest.raises(Forbidden):
        scene.approve(staff_request["id"], who=scene.staff)
    with pytest.raises(Forbidden):
        scene.approve(staff_request["id"], who=scene.auditor)
    with pytest.raises(Forbidden):
        scene.donate(100, who=scene.auditor)
    stranger = caller("county_officer", "340000")   # no such county: outside the fund's
    with pytest.raises(Forbidden):
        scene.approve(staff_request["id"], who=stranger)
    assert scene.approve(staff_request["id"])["status"] == "approved"
    assert scene.balances()["cash_available_fen"] == 9_000


def test_rejecting_or_cancelling_releases_the_reservation_and_paid_is_final(scene):
    scene.donate(10_000)
    first, second = scene.request(4_000), scene.request(5_000)
    scene.approve(first["id"])
    scene.approve(second["id"])
    assert scene.balances()["cash_available_fen"] == 1_000
    rejected = scene.charity.reject_disbursement(first["id"], {"reason": "材料不全"}, caller=scene.approver)
    assert rejected["status"] == "rejected"
    cancelled = scene.charity.cancel_disbursement(second["id"], {"reason": "重复申请"}, caller=scene.requester)
    assert cancelled["status"] == "cancelled"
    assert scene.balances() == dict(scene.balances(), cash_available_fen=10_000, cash_reserved_fen=0)
    paid = scene.spend(3_000)
    with pytest.raises(Conflict):
        scene.charity.cancel_disbursement(paid["id"], {"reason": "晚了"}, caller=scene.approver)
    with pytest.raises(Conflict):
        scene.pay(paid["id"])
    assert scene.balances()["cash_posted_fen"] == 7_000


def test_a_frozen_fund_moves_no_money_and_a_fund_closes_only_at_zero(scene):
    scene.donate(3_000)
    requested = scene.request(3_000)
    scene.charity.change_fund_status(scene.fund_id, "freeze", {"reason": "审计"}, caller=scene.approver)
    with pytest.raises(Conflict) as refused:
        scene.donate(100)
    assert refused.value.fields == {"fund_id": ["fund is frozen"]}
    with pytest.raises(Conflict):
        scene.approve(requested["id"])
    scene.charity.change_fund_status(scene.fund_id, "unfreeze", {}, caller=scene.approver)
    with pytest.raises(Conflict) as not_zero:
        scene.charity.change_fund_status(scene.fund_id, "close", {}, caller=scene.approver)
    assert not_zero.value.details["balances_fen"] == {"cash": 3_000}
    scene.approve(requested["id"])
    scene.pay(requested["id"])
    closed = scene.charity.change_fund_status(scene.fund_id, "close", {"reason": "撤并"}, caller=scene.approver)
    assert closed["status"] == "closed"
    assert [s["status"] for s in closed["status_history"]] == ["open", "frozen", "open", "closed"]
    with pytest.raises(Conflict):
        scene.donate(100)


def test_trial_balance_and_check_agree_with_the_entries(scene):
    scene.donate(12_345)
    scene.spend(2_345)
    trial = scene.charity.trial_balance(scene.fund_id, {"from": "2026-01", "to": "2026-12"},
                                        caller=scene.auditor)
    assert trial["balanced"] and trial["total_debits_fen"] == trial["total_credits_fen"] == 14_690
    rows = {r["account"]: r for r in trial["accounts"]}
    assert rows["cash"]["closing_fen"] == 10_000
    assert rows["donation_income"]["closing_fen"] == 12_345
    assert rows["aid_expense"]["closing_fen"] == 2_345
    checked = scene.charity.check_ledger({"fund_id": scene.fund_id}, caller=scene.auditor)
    assert checked == {"funds": 1, "entries": 2, "problems": [], "ok": True}
