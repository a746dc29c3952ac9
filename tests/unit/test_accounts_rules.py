"""The accounts' rules without storage: password strength, who may grant what, the
growing wait after failures, temporary passwords and Argon2id hashes."""
import datetime

import pytest

from services.accounts import lockout, password_rules, passwords, roles
from services.accounts.errors import AccountLocked, SignInDelayed
from services.common.errors import Forbidden

PROVINCE = {"sub": "p", "role": "province_admin", "region": "34"}
CITY = {"sub": "c", "role": "city_officer", "region": "3401"}
COUNTY = {"sub": "k", "role": "county_officer", "region": "340102"}
STAFF = {"sub": "s", "role": "station_staff", "region": "340102001"}
AUDITOR = {"sub": "a", "role": "auditor", "region": "34"}


# ---- password strength ----

@pytest.mark.parametrize("password", ["Abcdefgh12", "abcdefgh1!", "ABCDEFGH1!", "社工站密码abc12",
                                      "correct horse battery 9"])
def test_strong_enough(password):
    assert password_rules.problems(password, "li.si") == []


@pytest.mark.parametrize("password,problem", [
    ("Abc12!x", "at least 10 characters"),
    ("abcdefghijk1", "at least 3 of"),
    ("ABCDEFGHIJKL", "at least 3 of"),
    ("Li.Si-2026-ok", "must not contain the login"),
    ("Abcdefgh12\n", "no line breaks"),
    ("Aa1!" * 40, "at most 128"),
])
def test_too_weak_says_what_to_change_and_never_repeats_it(password, problem):
    found = password_rules.problems(password, "li.si")
    assert any(problem in p for p in found), found
    assert all(password not in p for p in found)


def test_temporary_passwords_meet_the_rules_and_differ():
    made = {passwords.temporary_password("zhang.san") for _ in range(50)}
    assert len(made) == 50
    assert all(password_rules.problems(p, "zhang.san") == [] for p in made)


def test_argon2id_hash_verifies_only_its_password():
    stored = passwords.hash_password("Correct-Horse-42")
    assert stored.startswith("$argon2id$") and "Correct-Horse-42" not in stored
    assert passwords.verify(stored, "Correct-Horse-42")
    assert not passwords.verify(stored, "correct-horse-42")
    assert not passwords.verify(None, "anything")        # no such account: still a check
    assert not passwords.verify("not-a-hash", "anything")
    assert not passwords.needs_rehash(stored)


# ---- who may grant what ----

@pytest.mark.parametrize("caller,role,region", [
    (PROVINCE, "province_admin", "34"), (PROVINCE, "auditor", "3401"),
    (CITY, "city_officer", "3401"), (CITY, "auditor", "340102"), (CITY, "county_officer", "340103"),
    (COUNTY, "county_officer", "340102"), (COUNTY, "station_staff", "340102001"),
])
def test_may_grant(caller, role, region):
    assert roles.may_grant(caller, role, region) is None


@pytest.mark.parametrize("caller,role,region,why", [
    (COUNTY, "city_officer", "3401", "outside your region"),
    (COUNTY, "province_admin", "34", "outside your region"),
    (CITY, "province_admin", "34", "outside your region"),
    (COUNTY, "county_officer", "340103", "outside your region"),
    (COUNTY, "station_staff", "340103001", "outside your region"),
    (COUNTY, "auditor", "340102", "auditors are granted only"),
    (CITY, "auditor", "3402", "outside your region"),
    (STAFF, "station_staff", "340102001", "does not manage accounts"),
    (AUDITOR, "station_staff", "340102001", "does not manage accounts"),
])
def test_may_not_grant(caller, role, region, why):
    assert why in roles.may_grant(caller, role, region)


def test_a_role_above_ones_own_is_refused_even_inside_the_region():
    # Inside the city officer's own region: the role is what is wrong.
    assert "a role above its own" in roles.may_grant(CITY, "province_admin", "3401")
    assert "a role above its own" in roles.may_grant(COUNTY, "city_officer", "340102")
    with pytest.raises(Forbidden) as refused:
        roles.ensure_may_grant(COUNTY, "city_officer", "3401")
    assert "region" in refused.value.fields


def test_the_system_caller_grants_anything():
    assert roles.may_grant({"sub": "system", "role": "system", "region": ""}, "province_admin", "34") is None


@pytest.mark.parametrize("role,region", [("county_officer", "3401"), ("station_staff", "340102"),
                                         ("auditor", "340102001"), ("mayor", "34")])
def test_role_and_region_must_fit(role, region):
    with pytest.raises(ValueError):
        roles.check_role_region(role, region)


# ---- the growing wait, then the lock ----

NOW = datetime.datetime(2026, 11, 22, 8, 30, tzinfo=datetime.timezone.utc)


def guard(failures, seconds_ago, locked_for=None):
    return {"_id": "li.si", "failures": failures,
            "last_failure_at": NOW - datetime.timedelta(seconds=seconds_ago),
            "locked_until": NOW + datetime.timedelta(seconds=locked_for) if locked_for else None}


def test_three_failures_are_free_then_the_wait_doubles():
    assert [lockout.delay_seconds(n) for n in range(7)] == [0, 0, 0, 1, 2, 4, 8]
    assert lockout.refusal(guard(2, 0), NOW) is None
    waited = lockout.refusal(guard(3, 0.2), NOW)
    assert isinstance(waited, SignInDelayed) and waited.details["retry_after"] == 1
    assert lockout.refusal(guard(3, 1.5), NOW) is None
    assert lockout.refusal(guard(4, 1.0), NOW).details["retry_after"] == 1
    assert lockout.delay_seconds(40) == 60  # at most SIGNIN_DELAY_MAX_SECONDS


def test_a_lock_is_refused_until_it_ends(monkeypatch):
    locked = lockout.refusal(guard(5, 10, locked_for=890), NOW)
    assert isinstance(locked, AccountLocked) and locked.details["retry_after"] == 890
    assert locked.details["locked_until"].endswith("Z")
    assert lockout.refusal(guard(5, 901, locked_for=-1), NOW) is None
    monkeypatch.setenv("SIGNIN_FREE_FAILURES", "0")
    assert lockout.delay_seconds(0) == 1
