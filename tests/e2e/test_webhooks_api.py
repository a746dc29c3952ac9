"""Webhooks as a province admin uses them: over HTTP through the gateway, a station
registered through the registry arriving at a local receiver as a signed CloudEvent."""
import json

import pytest

from tests.fixtures import Api, division_files, drop_platform, make_platform, wait_for
from tests.integration.test_webhooks import FAST, Receiver, verify

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own(mongo_uri, tmp_path_factory):
    """Registry, webhooks (loopback receivers allowed) and the gateway, on their own."""
    from services.registry.commands import import_divisions

    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("webhooks-api"))
    try:
        registry = platform.start_service("registry", wait=False)
        webhooks = platform.start_service("webhooks", wait=False, **FAST)
        registry.wait_ready()
        webhooks.wait_ready()
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        platform.gateway = platform.start_gateway("registry,webhooks")
        yield platform
    finally:
        drop_platform(platform)


def client(platform, role, region):
    from gateway.auth import issue_token

    return Api(platform.gateway.base_url, issue_token(role, region, sub=f"{role}-{region}"))


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def test_a_station_registered_reaches_the_webhook_signed(own, receiver, units):
    admin = client(own, "province_admin", "34")
    made = admin.post("/api/v1/webhooks", json={
        "url": receiver.url("/stations"), "types": ["wushe.registry.station.created.v1"],
        "description": "民政数据中心"})
    assert made.status_code == 201, made.text
    webhook = made.json()
    assert made.headers["Location"].endswith(f"/api/v1/webhooks/{webhook['id']}")
    assert webhook["secret"].startswith("whsec_") and webhook["types"] == [
        "wushe.registry.station.created.v1"]

    shown = admin.get(f"/api/v1/webhooks/{webhook['id']}").json()
    assert "secret" not in shown and shown["status"] == "active"
    listed = admin.get("/api/v1/webhooks").json()
    assert webhook["id"] in [w["id"] for w in listed["items"]]
    assert all("secret" not in w for w in listed["items"])

    unit = units.township()
    station = admin.post("/api/v1/stations", json={"division_code": unit["code"],
                                                   "name": f"{unit['name']}社工站"})
    assert station.status_code == 201, station.text
    [got] = wait_for(lambda: receiver.at("/stations"), timeout=30, message="the delivery")
    event = json.loads(got["body"])
    assert event["type"] == "wushe.registry.station.created.v1"
    assert event["subject"] == station.json()["id"] and event["specversion"] == "1.0"
    assert verify(webhook["secret"], got["headers"], got["body"])

    log = wait_for(lambda: (page := admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries")
                            .json())["items"] and page["items"][0]["status"] == "delivered" and page,
                   message="the delivery log")
    assert log["total"] == 1 and log["items"][0]["event_id"] == event["id"]
    delivery = log["items"][0]

    again = admin.post(f"/api/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 200, again.text
    wait_for(lambda: len(receiver.at("/stations")) == 2, message="the redelivery")

    paused = admin.post(f"/api/v1/webhooks/{webhook['id']}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["paused_reason"] == "operator"
    assert admin.get("/api/v1/webhooks?status=paused").json()["total"] >= 1
    resumed = admin.post(f"/api/v1/webhooks/{webhook['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"

    assert admin.delete(f"/api/v1/webhooks/{webhook['id']}").status_code == 204
    assert admin.get(f"/api/v1/webhooks/{webhook['id']}").status_code == 404


def test_who_may_do_what(own, receiver):
    body = {"url": receiver.url("/roles"), "types": ["wushe.registry.*"]}
    for role, region in (("city_officer", "3401"), ("auditor", "34")):
        refused = client(own, role, region).post("/api/v1/webhooks", json=body)
        assert refused.status_code == 403, (role, refused.text)
    made = client(own, "province_admin", "34").post("/api/v1/webhooks", json=body).json()
    auditor = client(own, "auditor", "34")
    assert auditor.get(f"/api/v1/webhooks/{made['id']}").status_code == 200
    assert auditor.get(f"/api/v1/webhooks/{made['id']}/deliveries").status_code == 200
    assert auditor.post(f"/api/v1/webhooks/{made['id']}/pause").status_code == 403
    assert client(own, "county_officer", "340102").get("/api/v1/webhooks").status_code == 403


def test_bad_input_names_the_field(own):
    admin = client(own, "province_admin", "34")
    for body, field in (({"types": ["wushe.registry.*"]}, "url"),
                        ({"url": "https://10.0.0.7/h", "types": ["wushe.registry.*"]}, "url"),
                        ({"url": "http://127.0.0.1:9/h", "types": []}, "types"),
                        ({"url": "http://127.0.0.1:9/h", "types": ["wushe.registry.nothing.v9"]},
                         "types")):
        refused = admin.post("/api/v1/webhooks", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert field in refused.json()["error"]["fields"], refused.text
    assert admin.get("/api/v1/webhooks/not-an-id").status_code == 400
    assert admin.get("/api/v1/webhooks/wh-0000000000000000").status_code == 404
    assert admin.post("/api/v1/webhooks/wh-0000000000000000/deliveries/zz/redeliver").status_code == 400


def test_the_platform_with_default_settings_refuses_loopback(api):
    """The session platform runs the webhooks service with default settings: receivers
    on loopback or private addresses are refused there."""
    admin = api("province_admin", "34")
    for url in ("http://127.0.0.1:9/hook", "https://127.0.0.1/hook", "https://192.168.0.5/"):
        refused = admin.post("/api/v1/webhooks", json={"url": url, "types": ["wushe.registry.*"]})
        assert refused.status_code == 400, refused.text
        assert "url" in refused.json()["error"]["fields"]
