"""Division storage and queries against the real Mongo-wire server, with the
shipped Anhui (34) codes."""
import random
import uuid

import pymongo
import pytest

from services.common.errors import InvalidInput, NotFound
from services.registry import divisions as d
from services.registry.division_files import division_files, read_division_files
from tests.fixtures import CommandLog

pytestmark = pytest.mark.integration

CHUNK = 5000


def _import(db, rows, chunk=CHUNK):
    total = {"inserted": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(rows), chunk):
        for key, value in d.import_divisions(db, rows[start:start + chunk]).items():
            total[key] += value
    return total


@pytest.fixture(scope="module")
def anhui_rows(divisions_dir):
    return read_division_files(division_files(divisions_dir))


@pytest.fixture(scope="module")
def anhui(mongo_client, anhui_rows):
    """One database with Anhui imported (and counted), shared by the read-only tests."""
    name = f"t_div_{uuid.uuid4().hex[:10]}"
    db = mongo_client[name]
    d.ensure_indexes(db)
    first = _import(db, anhui_rows)
    regions = d.recount_units(db)
    yield {"db": db, "first": first, "regions": regions}
    mongo_client.drop_database(name)


def test_first_import_stores_every_row(anhui):
    db = anhui["db"]
    assert anhui["first"] == {"inserted": 20155, "updated": 0, "unchanged": 0}
    # 1 province + 16 cities + 119 counties got their counts.
    assert anhui["regions"] == 136
    levels = {g["_id"]: g["n"] for g in db.divisions.aggregate(
        [{"$group": {"_id": "$level", "n": {"$sum": 1}}}])}
    assert levels == {"province": 1, "city": 16, "county": 119, "township": 1685, "village": 18334}
    # How long it takes is measured in bench/run.py, not asserted here.


def test_township_kinds_stored(anhui):
    db = anhui["db"]
    kinds = {g["_id"]: g["n"] for g in db.divisions.aggregate(
        [{"$match": {"level": "township"}}, {"$group": {"_id": "$kind", "n": {"$sum": 1}}}])}
    assert kinds == {"town": 1012, "street": 303, "township": 226, "other": 144}
    assert db.divisions.find_one({"_id": "340705402"})["kind"] == "street"   # 天井湖社区街道, digits 402
    assert db.divisions.find_one({"_id": "340711198"})["kind"] == "other"    # 郊区直辖村级区划, digits 198
    assert db.divisions.find_one({"_id": "340121401"})["kind"] == "other"    # 安徽省水家湖农场


def test_unit_counts(anhui):
    db = anhui["db"]
    anhui_province = d.get_division(db, "34")
    # Every township-level row of Anhui is counted once, as a unit or apart.
    assert anhui_province["units"] + anhui_province["other_units"] == 1685
    assert (anhui_province["units"], anhui_province["other_units"]) == (1541, 144)
    tongling = d.get_division(db, "3407")
    assert (tongling["units"], tongling["other_units"]) == (54, 6)
    tongguan = d.get_division(db, "340705")    # 2 streets, 1 town, 18 社区街道; 2 zones
    assert (tongguan["units"], tongguan["other_units"]) == (21, 2)
    jiaoqu = d.get_division(db, "340711")      # 2 streets, 5 towns, 1 township; 2 other
    assert (jiaoqu["units"], jiaoqu["other_units"]) == (8, 2)
    yaohai = d.get_division(db, "340102")
    assert (yaohai["units"], yaohai["other_units"]) == (12, 1)
    assert d.get_division(db, "340102001")["units"] == 1
    assert (d.get_division(db, "340711198")["units"], d.get_division(db, "340711198")["other_units"]) == (0, 1)
    # The cities of Anhui add up to the province.
    cities = d.list_divisions(db, "34", 1, 100)["items"]
    assert len(cities) == 16
    assert sum(c["units"] for c in cities) == 1541
    assert sum(c["other_units"] for c in cities) == 144


def test_reimport_changes_nothing_and_writes_nothing(anhui, mongo_uri, anhui_rows):
    log = CommandLog()
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, event_listeners=[log])
    try:
        db = client[anhui["db"].name]
        before = list(db.divisions.find({"_id": {"$in": ["34", "3407", "340705402"]}}))
        again = _import(db, anhui_rows)
        assert again == {"inserted": 0, "updated": 0, "unchanged": 20155}
        assert d.recount_units(db) == 0
        writes = [n for n in log.names if n in ("insert", "update", "delete", "findAndModify")]
        assert writes == []
        assert list(db.divisions.find({"_id": {"$in": ["34", "3407", "340705402"]}})) == before
    finally:
        client.close()


def test_files_in_reversed_order_and_chunks_shuffled_give_the_same_store(fresh_db, anhui, divisions_dir):
    files = list(reversed(division_files(divisions_dir)))
    rows = read_division_files(files)
    rows = list(reversed(rows))             # villages first, the province last
    chunks = [rows[i:i + 3000] for i in range(0, len(rows), 3000)]
    random.Random(34).shuffle(chunks)
    d.ensure_indexes(fresh_db)
    total = {"inserted": 0, "updated": 0, "unchanged": 0}
    for chunk in chunks:
        for key, value in d.import_divisions(fresh_db, chunk).items():
            total[key] += value
    assert total == {"inserted": 20155, "updated": 0, "unchanged": 0}
    d.recount_units(fresh_db)
    theirs = list(anhui["db"].divisions.find({}).sort("_id", 1))
    ours = list(fresh_db.divisions.find({}).sort("_id", 1))
    assert len(ours) == 20155
    assert ours == theirs


def test_changed_rows_are_updated_and_counts_follow(fresh_db, anhui_rows):
    tongling = [r for r in anhui_rows
                if r["code"] in ("34", "3407") or r["code"][:4] == "3407" and r["level"] != "village"]
    d.ensure_indexes(fresh_db)
    assert d.import_divisions(fresh_db, tongling) == {"inserted": 66, "updated": 0, "unchanged": 0}
    assert d.recount_units(fresh_db) == 6   # province, city, 4 counties
    assert d.recount_units(fresh_db) == 0
    # A renamed development zone: the name now says street, so it becomes a unit.
    renamed = [dict(r) for r in tongling]
    for r in renamed:
        if r["code"] == "340705400":
            r["name"] = "经开区街道"
            r.pop("kind")
    assert d.import_divisions(fresh_db, renamed) == {"inserted": 0, "updated": 1, "unchanged": 65}
    doc = d.get_division(fresh_db, "340705400")
    assert (doc["name"], doc["kind"], doc["units"], doc["other_units"]) == ("经开区街道", "street", 1, 0)
    # The regions keep their counts until the recount.
    assert d.get_division(fresh_db, "340705")["units"] == 21
    assert d.recount_units(fresh_db) == 3  # the county, the city, the province
    assert (d.get_division(fresh_db, "340705")["units"], d.get_division(fresh_db, "340705")["other_units"]) == (22, 1)
    assert d.get_division(fresh_db, "3407")["units"] == 55
    assert d.get_division(fresh_db, "34")["units"] == 55


def test_import_rejects_bad_rows(fresh_db):
    with pytest.raises(InvalidInput):
        d.import_divisions(fresh_db, [{"code": "3401x", "name": "合肥市"}])
    with pytest.raises(InvalidInput):
        d.import_divisions(fresh_db, [{"code": "3401", "name": ""}])
    with pytest.raises(InvalidInput):
        d.import_divisions(fresh_db, [{"code": "3401", "name": "合肥市", "parent": "35"}])
    assert fresh_db.divisions.count_documents({}) == 0


def test_get_division(anhui):
    db = anhui["db"]
    assert d.get_division(db, "340705402") == {
        "code": "340705402", "name": "天井湖社区街道", "level": "township", "kind": "street",
        "parent": "340705", "province": "34", "city": "3407", "county": "340705",
        "units": 1, "other_units": 0}
    assert d.get_division(db, "3407") == {
        "code": "3407", "name": "铜陵市", "level": "city", "parent": "34", "province": "34",
        "city": "3407", "county": None, "units": 54, "other_units": 6}
    with pytest.raises(NotFound):
        d.get_division(db, "349999")
    with pytest.raises(InvalidInput):
        d.get_division(db, "34a")


def test_list_divisions(anhui):
    db = anhui["db"]
    provinces = d.list_divisions(db, None, 1, 50)
    assert provinces["total"] == 1
    assert [p["code"] for p in provinces["items"]] == ["34"]
    counties = d.list_divisions(db, "3407", 1, 50)
    assert [(c["code"], c["name"]) for c in counties["items"]] == [
        ("340705", "铜官区"), ("340706", "义安区"), ("340711", "郊区"), ("340722", "枞阳县")]
    page2 = d.list_divisions(db, "340102", 2, 5)
    assert page2["total"] == 13 and page2["page"] == 2 and page2["per_page"] == 5
    assert [t["code"] for t in page2["items"]] == [
        "340102007", "340102008", "340102010", "340102011", "340102012"]
    last = d.list_divisions(db, "340102", 3, 5)
    assert [t["code"] for t in last["items"]] == ["340102014", "340102100", "340102401"]
    villages = d.list_divisions(db, "340102001", 1, 50)
    assert villages["total"] == 3
    assert villages["items"][0] == {
        "code": "340102001001", "name": "填海巷社区居委会", "level": "village",
        "parent": "340102001", "province": "34", "city": "3401", "county": "340102",
        "township": "340102001"}
    with pytest.raises(NotFound):
        d.list_divisions(db, "3499", 1, 50)
    with pytest.raises(InvalidInput) as info:
        d.list_divisions(db, "34", 0, 50)
    assert "page" in info.value.fields
    with pytest.raises(InvalidInput):
        d.list_divisions(db, "34", 1, 100000)


def test_division_path(anhui):
    path = d.division_path(anhui["db"], "340102001001")
    assert [(p["code"], p["name"]) for p in path] == [
        ("34", "安徽省"), ("3401", "合肥市"), ("340102", "瑶海区"),
        ("340102001", "明光路街道"), ("340102001001", "填海巷社区居委会")]
    assert [p["code"] for p in d.division_path(anhui["db"], "34")] == ["34"]
    with pytest.raises(NotFound):
        d.division_path(anhui["db"], "340102999")


def test_township_of(anhui):
    db = anhui["db"]
    unit = d.township_of(db, "340711198")
    assert unit["kind"] == "other" and unit["county"] == "340711"
    for bad in ("340711", "340102001001", "abc", None, 340711100):
        with pytest.raises(InvalidInput) as info:
            d.township_of(db, bad)
        assert "division_code" in info.value.fields
    with pytest.raises(NotFound) as info:
        d.township_of(db, "340711999")
    assert "division_code" in info.value.fields


def test_indexes(fresh_db):
    d.ensure_indexes(fresh_db)
    d.ensure_indexes(fresh_db)  # idempotent
    names = set(fresh_db.divisions.index_information())
    assert {"parent_code", "level_kind"} <= names
