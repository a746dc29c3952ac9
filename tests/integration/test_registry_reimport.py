"""Divisions change between imports (a township becomes a development zone, a
name is corrected); coverage must follow at once, not at the unit's next event."""
import pytest

from services.registry.commands import import_divisions
from tests.fixtures import PROVINCE_ADMIN, wait_for

pytestmark = pytest.mark.integration


def _coverage(platform, region):
    with platform.rpc() as cluster:
        return cluster.registry.coverage({"region": region}, caller=PROVINCE_ADMIN)


def test_a_unit_that_becomes_a_development_zone_leaves_the_rates(platform, units, tmp_path):
    county, townships = units.county()
    unit = townships[0]
    with platform.rpc() as cluster:
        station = cluster.registry.create_station(
            {"division_code": unit["code"], "name": f"{unit['name']}社工站", "planned_on": "2026-01-05"},
            caller=PROVINCE_ADMIN)
        cluster.registry.transition_station(station["id"], {"to": "built", "on": "2026-03-01"},
                                            caller=PROVINCE_ADMIN)
    before = wait_for(lambda: (c := _coverage(platform, county))["with_station"] == 1 and c,
                      message="the station in coverage")

    renamed = tmp_path / "streets.csv"
    renamed.write_text(
        "code,name,areaCode,provinceCode,cityCode\n"
        f'{unit["code"]},"{unit["name"][:2]}经济开发区",{unit["areaCode"]},34,{unit["cityCode"]}\n',
        encoding="utf-8")
    result = import_divisions([str(renamed)], out=lambda line: None, rpc=platform.rpc())
    assert result["updated"] == 1

    after = _coverage(platform, county)
    assert after["units"] == before["units"] - 1
    assert after["other_units"] == before["other_units"] + 1
    assert after["with_station"] == 0 and after["coverage_rate"] == 0.0
