"""Event contracts hold at the source: an event its publisher's contract does not allow
never reaches the outbox, and the change that emitted it is rolled back with it."""
import pytest

from services.common import catalog
from services.common.contract import EventContractError
from services.common.mongo import run_in_transaction
from services.common.outbox import record
from tests.unit.test_asyncapi import station_event


def _attempt(db, name, data):
    def command(tx):
        tx.db.stations.insert_one({"_id": "340102001-01", "name": "明光路街道社工站"},
                                  session=tx.session)
        tx.emit(name, "340102001-01", data)

    with pytest.raises(EventContractError) as refused:
        record(db, "registry", command)
    return refused.value


def test_a_wrong_event_is_refused_before_the_outbox_and_its_change_rolled_back(fresh_db):
    data = station_event(version="four")["data"]
    refusal = _attempt(fresh_db, "station.opened", data)
    assert "wushe.registry.station.opened.v1" in str(refusal) and "version" in str(refusal)
    assert fresh_db.outbox.count_documents({}) == 0
    assert fresh_db.stations.count_documents({}) == 0


def test_an_undeclared_event_or_an_undeclared_field_is_refused_too(fresh_db):
    assert "does not declare" in str(_attempt(fresh_db, "station.teleported", {}))
    with_extra = station_event(donor_phone="13800000000")["data"]
    assert "donor_phone" in str(_attempt(fresh_db, "station.opened", with_extra))
    assert fresh_db.outbox.count_documents({}) == 0


def test_a_true_event_reaches_the_outbox_with_its_change(fresh_db):
    def command(tx):
        tx.db.stations.insert_one({"_id": "340102001-01"}, session=tx.session)
        return tx.emit("station.opened", "340102001-01", station_event()["data"])["id"]

    event_id, emitted = record(fresh_db, "registry", command)
    assert [e["id"] for e in emitted] == [event_id]
    assert fresh_db.outbox.find_one({"_id": event_id})["type"] == "wushe.registry.station.opened.v1"
    assert fresh_db.stations.count_documents({}) == 1


def test_every_consumer_of_station_events_applies_one_with_a_field_added(mongo_client, fresh_db):
    """A v1 consumer keeps working when the publisher adds a field (README: Events)."""
    event = station_event(floor_area_m2=420)
    consumers = [name for name in catalog.names()
                 if (subs := catalog.subscriptions(name)) and event["type"] in subs.handlers
                 and name != "registry"]  # registry's own coverage model needs its divisions
    assert "volunteer" in consumers
    # What a consumer needs before an event means anything to it.
    given = {"webhooks": lambda db: db.webhook_subscriptions.insert_one(
        {"_id": "WH-all", "types": ["wushe.registry.*"]})}
    for name in consumers:
        db = mongo_client[f"{fresh_db.name}_{name}"]
        handler = catalog.subscriptions(name).handlers[event["type"]]
        given.get(name, lambda db: None)(db)
        try:
            run_in_transaction(db, lambda session: handler(db, session, event))
            written = sum(db[c].count_documents({}) for c in db.list_collection_names()
                          if c != "webhook_subscriptions")
            assert written, f"{name} wrote nothing for a station event with an added field"
        finally:
            mongo_client.drop_database(db.name)


def test_the_personal_data_scan_finds_a_name_a_service_holds_in_a_log_or_an_event(
        mongo_client, fresh_db, tmp_path):
    from tests.contracts import personal_data

    fresh_db.volunteers.insert_one({"_id": "V34010200000001", "name": "欧阳小明", "phone": "13912345678"})
    fresh_db.outbox.insert_one({"_id": "e1", "event": {"type": "wushe.volunteer.x.v1", "id": "e1",
                                                       "data": {"note": "欧阳小明来过"}}})
    (tmp_path / "volunteer-0.log").write_text('{"message": "ok"}\n{"phone": "13912345678"}\n',
                                              encoding="utf-8")
    found = personal_data.scan(mongo_client, lambda service: fresh_db.name if service == "volunteer"
                               else f"{fresh_db.name}_none", str(tmp_path))
    assert ("event wushe.volunteer.x.v1 e1", "欧阳小明") in found
    assert ("log volunteer-0.log:2", "13912345678") in found
