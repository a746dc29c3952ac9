"""Donations and their receipts against the real broker and Mongo-wire server: numbers
without gaps per host and year even when donations race on two replicas, voids
recorded and never deletions, a public check that shows only what it should, and
personal data masked for auditors and absent from events."""
import json

import pytest
import pymongo

from services.common.clock import china_today
from services.common.errors import Conflict, InvalidInput, NotFound
from tests.integration.test_charity_support import FundScene, key

pytestmark = pytest.mark.integration

DONOR = {"kind": "person", "name": "欧阳小明", "phone": "13912345678", "id_number": "34010219580301123X",
         "consent_public": False}


@pytest.fixture
def scene(cluster, units):
    return FundScene(cluster, units.township())


def seq(number):
    return int(number.rsplit("-", 1)[1])


def test_receipts_racing_on_two_replicas_are_numbered_without_gaps(platform, scene):
    replica = platform.start_service("charity")
    try:
        bodies = [{"fund_id": scene.fund_id, "kind": "money", "received_on": "2026-04-01",
                   "amount_fen": 100 + i, "channel": "online", "donor": {"kind": "anonymous"}}
                  for i in range(24)]
        # Every fourth one is refused (dated in the future): it takes no number.
        for i in range(3, 24, 4):
            bodies[i]["received_on"] = "2099-01-01"
        with platform.rpc(timeout=120) as cluster:
            replies = [cluster.charity.record_donation.call_async(b, caller=scene.staff, idempotency_key=key())
                       for b in bodies]
            done, refused = [], 0
            for reply in replies:
                try:
                    done.append(reply.result())
                except InvalidInput:
                    refused += 1
    finally:
        replica.stop()
    assert refused == 6 and len(done) == 18
    numbers = sorted(seq(d["receipt_number"]) for d in done)
    assert numbers == list(range(1, 19))
    prefix = f"JZSJ-{china_today().year}-{scene.fund['host']['credit_code']}-"
    assert all(d["receipt_number"].startswith(prefix) for d in done)


def test_a_receipt_names_what_the_law_asks_and_prints(scene):
    donation = scene.donate(600_000, donor=dict(DONOR, consent_public=True), handler="李社工")
    receipt = scene.charity.get_receipt(donation["receipt_number"], caller=scene.staff)
    assert receipt["donor"] == {"kind": "person", "name": "欧阳小明", "id_number": "34010219580301123X"}
    assert (receipt["kind"], receipt["amount_fen"], receipt["status"]) == ("money", 600_000, "valid")
    assert receipt["host"] == scene.fund["host"] and receipt["handler"] == "李社工"
    assert receipt["received_on"] == "2026-03-05" and receipt["issued_on"] == china_today().isoformat()
    page = scene.charity.print_receipt(donation["receipt_number"], caller=scene.staff)
    assert page["title"] == "捐赠收据" and page["amount_in_words"] == "人民币陆仟元整"
    assert page["amount_yuan"] == "6000.00" and page["receiving_organisation"] == "合肥市慈善总会"
    assert page["watermark"] is None
    goods = scene.donate_in_kind([{"name": "大米", "quantity": "12.5", "unit": "公斤", "value_fen": 7_500},
                                  {"name": "食用油", "quantity": 10, "unit": "桶", "value_fen": 60_000}])
    page = scene.charity.print_receipt(goods["receipt_number"], caller=scene.staff)
    assert page["property_kind"] == "实物"
    assert [(l["description"], l["quantity"], l["unit"], l["amount_fen"]) for l in page["lines"]] == \
        [("大米", "12.5", "公斤", 7_500), ("食用油", "10", "桶", 60_000)]
    assert page["amount_fen"] == 67_500
    # Goods are kept apart from cash.
    assert scene.balances()["in_kind_fen"] == 67_500 and scene.balances()["cash_posted_fen"] == 600_000
    anonymous = scene.donate(1_000, donor={"kind": "anonymous"})
    assert scene.charity.print_receipt(anonymous["receipt_number"], caller=scene.staff)["donor"] == "匿名"


def test_auditors_see_donors_masked_and_the_public_sees_only_the_masked_donor(cluster, scene):
    donation = scene.donate(8_800, donor=DONOR)
    seen = scene.charity.get_donation(donation["id"], caller=scene.auditor)
    assert seen["donor"]["name"] == "欧**明" and seen["donor"]["phone"] == "139****5678"
    assert seen["donor"]["id_number"] == "340***********123X"
    full = scene.charity.get_donation(donation["id"], caller=scene.staff)
    assert full["donor"]["name"] == "欧阳小明"
    public = cluster.charity.verify_receipt(donation["receipt_number"])
    assert public == {"number": donation["receipt_number"], "donor": "欧**明", "amount_fen": 8_800,
                      "amount_yuan": "88.00", "issued_on": china_today().isoformat(),
                      "organisation": "合肥市慈善总会", "status": "valid"}
    with pytest.raises(NotFound):
        cluster.charity.verify_receipt("JZSJ-2026-53340100MJ0000000Y-999999")
    exported = scene.charity.export_donations({"fund_id": scene.fund_id}, caller=scene.auditor)
    assert "欧阳小明" not in json.dumps(exported, ensure_ascii=False)
    assert "13912345678" not in json.dumps(exported, ensure_ascii=False)


def test_a_void_is_recorded_a_replacement_gets_a_new_number_and_nothing_is_deleted(cluster, scene):
    donation = scene.donate(2_000, donor=DONOR)
    number = donation["receipt_number"]
    replacement = scene.charity.void_receipt(number, {"reason": "姓名写错", "reissue": True,
                                                      "donor_name": "欧阳晓明"}, caller=scene.staff)
    assert replacement["replaces"] == number and seq(replacement["number"]) == seq(number) + 1
    assert replacement["donor"]["name"] == "欧阳晓明"
    voided = scene.charity.get_receipt(number, caller=scene.auditor)
    assert voided["status"] == "voided" and voided["replaced_by"] == replacement["number"]
    assert voided["void"]["reason"] == "姓名写错" and voided["void"]["by"] == "station_staff:staff-1"
    assert cluster.charity.verify_receipt(number)["status"] == "voided"
    assert scene.charity.print_receipt(number, caller=scene.staff)["watermark"] == "作废"
    with pytest.raises(Conflict):
        scene.charity.void_receipt(number, {"reason": "再作废"}, caller=scene.staff)
    listed = scene.charity.list_receipts({"fund_id": scene.fund_id}, caller=scene.auditor)
    assert listed["total"] == 2
    # Reversing the donation voids its (replacement) receipt too.
    scene.charity.reverse_entry(donation["entry_id"], {"reason": "重复录入"}, caller=scene.approver,
                                idempotency_key=key())
    assert scene.charity.get_receipt(replacement["number"], caller=scene.staff)["status"] == "voided"
    assert scene.charity.get_donation(donation["id"], caller=scene.staff)["status"] == "reversed"


def test_events_carry_amounts_and_regions_never_a_donors_name_phone_or_id(platform, scene):
    donation = scene.donate(4_321, donor=DONOR)
    client = pymongo.MongoClient(platform.mongo_uri, tz_aware=True)
    try:
        outbox = platform.db(client, "charity").outbox
        events = [e["event"] for e in outbox.find({"event.subject": {"$in": [donation["id"],
                                                                             donation["receipt_number"]]}})]
    finally:
        client.close()
    received = next(e for e in events if e["type"] == "wushe.charity.donation.received.v1")
    assert received["data"] == {
        "donation_id": donation["id"], "fund_id": scene.fund_id, "station_id": None,
        "division_code": scene.township, "county": scene.county, "city": scene.county[:4],
        "province": scene.county[:2], "kind": "money", "amount_fen": 4_321, "received_on": "2026-03-05",
        "donor_kind": "person", "channel": "bank_transfer"}
    text = json.dumps(events, ensure_ascii=False)
    assert "欧阳" not in text and "13912345678" not in text and "34010219580301123X" not in text
    assert {e["type"] for e in events} == {"wushe.charity.donation.received.v1",
                                           "wushe.charity.receipt.issued.v1"}
