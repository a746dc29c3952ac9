"""Accounts storage on the real Mongo-wire server: each command's change, events and
audit entry commit together; refresh tokens rotate and a reused one ends its family;
failures slow down, then lock; a refused command leaves nothing behind."""
import pytest

from services.accounts import accounts, errors, sessions, sign_in
from services.common.access import SYSTEM
from services.common.outbox import record

pytestmark = pytest.mark.integration

PASSWORD = "Correct-Horse-42"
ADMIN = {"sub": "t-admin", "role": "province_admin", "region": "34"}


def command_on(db):
    return lambda fn: record(db, "accounts", fn)[0]


@pytest.fixture
def db(fresh_db):
    accounts.ensure_indexes(fresh_db)
    sessions.ensure_indexes(fresh_db)
    return fresh_db


def make_account(db, login="li.si", role="station_staff", region="340102001", password=PASSWORD):
    """An account whose holder already chose `password`."""
    command = command_on(db)
    from services.accounts import passwords

    made = command(lambda tx: accounts.create(tx, {"login": login, "display_name": "李四",
                                                   "role": role, "region": region},
                                              SYSTEM, passwords.hash_password(password), 3600))
    db.accounts.update_one({"_id": made["_id"]}, {"$set": {"password.must_change": False}})
    return made


def events_of(db, type_suffix):
    return [e["event"] for e in db.outbox.find() if e["type"].endswith(type_suffix)]


def test_a_sign_in_commits_a_session_its_audit_entry_and_no_password(db):
    made = make_account(db)
    grant = sign_in.sign_in(db, command_on(db), {"login": "LI.SI", "password": PASSWORD})
    session = db.sessions.find_one({"_id": grant["session"]["sid"]})
    assert session["account_id"] == made["_id"] and session["scope"] == "full"
    assert grant["session"]["sub"] == made["_id"] and grant["refresh_token"]
    # Only the refresh token's hash is kept.
    assert db.refresh_tokens.find_one({"_id": sessions.digest(grant["refresh_token"])})
    assert grant["refresh_token"] not in str(list(db.refresh_tokens.find()))
    [entry] = db.audit.find({"kind": "sign_in"})
    assert (entry["outcome"], entry["records"], entry["login"]) == \
        ("success", [{"type": "account", "id": made["_id"]}], "li.si")
    assert "340102001" in entry["regions"]
    everything = str([list(db[c].find()) for c in db.list_collection_names() if c != "accounts"])
    assert PASSWORD not in everything and "argon2" not in everything


def test_refresh_rotates_and_a_reused_token_ends_the_whole_family(db):
    make_account(db)
    command = command_on(db)
    first = sign_in.sign_in(db, command, {"login": "li.si", "password": PASSWORD})
    second = sign_in.refresh(command, {"refresh_token": first["refresh_token"]})
    assert second["session"]["sid"] == first["session"]["sid"]
    assert second["refresh_token"] != first["refresh_token"]
    third = sign_in.refresh(command, {"refresh_token": second["refresh_token"]})
    # The first token again: someone else holds the session. It ends, for everyone.
    with pytest.raises(errors.RefreshTokenReused):
        sign_in.refresh(command, {"refresh_token": first["refresh_token"]})
    [revoked] = events_of(db, "session.revoked.v1")
    assert revoked["data"]["reason"] == "refresh_token_reused"
    assert [s["session_id"] for s in revoked["data"]["sessions"]] == [first["session"]["sid"]]
    with pytest.raises(errors.SessionEnded):
        sign_in.refresh(command, {"refresh_token": third["refresh_token"]})
    assert [s["session_id"] for s in sessions.revoked(db)] == [first["session"]["sid"]]
    assert db.audit.count_documents({"reason": "refresh_token_reused"}) == 1


def test_failures_wait_then_lock_and_an_unknown_login_behaves_alike(db, monkeypatch):
    monkeypatch.setenv("SIGNIN_DELAY_SECONDS", "0")   # no waiting in this test
    made = make_account(db)
    command = command_on(db)
    for login in ("li.si", "nobody.here"):
        for _ in range(4):
            with pytest.raises(errors.InvalidCredentials):
                sign_in.sign_in(db, command, {"login": login, "password": "wrong-Password-1"})
        with pytest.raises(errors.AccountLocked) as locked:
            sign_in.sign_in(db, command, {"login": login, "password": "wrong-Password-1"})
        assert 0 < locked.value.details["retry_after"] <= 15 * 60
        # Locked: even the right password is refused, without being checked.
        with pytest.raises(errors.AccountLocked):
            sign_in.sign_in(db, command, {"login": login, "password": PASSWORD})
    [event] = events_of(db, "account.locked.v1")
    assert event["data"]["account_id"] == made["_id"] and event["data"]["failures"] == 5
    assert "li.si" not in str(event) and "nobody" not in str(event)
    reasons = [e["reason"] for e in db.audit.find({"kind": "sign_in"}).sort("at", 1)]
    assert reasons == ["wrong_password"] * 4 + ["lockout", "locked"] + \
        ["unknown_login"] * 4 + ["lockout", "locked"]
    # An unknown login is kept masked: people type passwords into the login field.
    assert db.audit.find_one({"reason": "unknown_login"})["login"] == "no***"


def test_the_delay_grows_before_the_lock(db, monkeypatch):
    monkeypatch.setenv("SIGNIN_DELAY_SECONDS", "30")
    make_account(db)
    command = command_on(db)
    for _ in range(3):
        with pytest.raises(errors.InvalidCredentials):
            sign_in.sign_in(db, command, {"login": "li.si", "password": "wrong-Password-1"})
    with pytest.raises(errors.SignInDelayed) as delayed:
        sign_in.sign_in(db, command, {"login": "li.si", "password": PASSWORD})
    assert 25 <= delayed.value.details["retry_after"] <= 30
    assert db.audit.find_one({"reason": "throttled"})["outcome"] == "refused"


def test_disabling_ends_every_session_in_the_same_transaction(db):
    made = make_account(db)
    command = command_on(db)
    grants = [sign_in.sign_in(db, command, {"login": "li.si", "password": PASSWORD})
              for _ in range(2)]
    command(lambda tx: accounts.update(tx, made["_id"], {"enabled": False}, ADMIN))
    [revoked] = events_of(db, "session.revoked.v1")
    assert revoked["data"]["reason"] == "disabled"
    assert {s["session_id"] for s in revoked["data"]["sessions"]} == \
        {g["session"]["sid"] for g in grants}
    assert events_of(db, "account.disabled.v1")
    with pytest.raises(errors.AccountDisabled):
        sign_in.sign_in(db, command, {"login": "li.si", "password": PASSWORD})
    with pytest.raises(errors.SessionEnded):
        sign_in.refresh(command, {"refresh_token": grants[0]["refresh_token"]})
    # The kit's change entry names what the change made, in the same transaction.
    assert db.audit.find_one({"kind": "change",
                              "records.type": "wushe.accounts.account.disabled.v1"})


def test_a_refused_grant_leaves_no_account_event_or_entry(db):
    county = {"sub": "t-county", "role": "county_officer", "region": "340102"}
    from services.common.errors import Forbidden

    with pytest.raises(Forbidden):
        command_on(db)(lambda tx: accounts.create(tx, {"login": "wang.wu", "display_name": "王五",
                                                       "role": "city_officer", "region": "3401"},
                                                  county, "not-a-hash", 60))
    assert db.accounts.count_documents({}) == 0
    assert db.outbox.count_documents({}) == 0 and db.audit.count_documents({}) == 0
