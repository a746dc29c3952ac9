"""Every operation of every service against its OpenAPI document (schemathesis).

schemathesis reads /api/v1/openapi.json of the session's platform and calls every
operation as a province_admin: the examples, coverage and fuzzing phases, then
the stateful phase, which follows the document's links from each create to the
operations that take its id. Any failure of the checks below fails this test with
schemathesis' own report (each failure with a curl line to reproduce it).

Bounded to fit CI: a few examples per operation, fixed seed (SCHEMATHESIS_SEED to
try another), two workers. SCHEMATHESIS_EXAMPLES raises the count for a longer hunt.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "negative_data_rejection", "positive_data_acceptance", "ignored_auth",
          "missing_required_header", "use_after_free", "ensure_resource_availability")
PHASES = ("examples", "coverage", "fuzzing", "stateful")
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261201")

# Operations whose input must also satisfy a rule across fields or against stored
# data, which OpenAPI 3.0 cannot state: a request that fits the document may still
# be refused (400, naming the field). positive_data_acceptance (a request that
# fits must be accepted) does not apply to them; every other check does. The
# same list, for clients, is in docs/api-contract.md.
RULES_BEYOND_THE_SCHEMA = {
    "supervision_compliance_calendar": "exactly one of station, county, city",
    "volunteer_hours_totals": "exactly one of team, region",
    "supervision_scorecard": "exactly one of station, county, city, province",
    "accounts_update_account": "the role must fit the account's stored region",
    "volunteer_create_activity": "ends after it starts",
    "volunteer_record_hours": "ends after it starts, inside the activity's window",
    "volunteer_correct_hours": "either cancel, or a new start and end",
    "supervision_open_campaign": "per_city or share, not both",
    "charity_request_disbursement": "a project or a contract, not both",
    "charity_record_donation": "a money donation needs its channel",
    "charity_open_fund": "the credit code's check character (GB 32100-2015)",
    "charity_distribute_goods": "no more than the stock in hand",
    "charity_submit_application": "the applicant's kind decides which code is required",
    "volunteer_import_hours": "the sheet's columns",
    "registry_import_stations": "the sheets' columns",
    "supervision_publish_checklist": "rule.max for points and scale items",
    "supervision_create_inspection": "a third-party evaluation names its evaluator",
    "supervision_score_inspection": "scores for the checklist's own items",
    "supervision_submit_rectification": "notes or files as evidence",
    "supervision_record_session": "a group session has two people or more",
    "volunteer_register_volunteer": "the birth date must match the ID number",
    "volunteer_lookup_volunteer": "the ID number's check digit (GB 11643)",
    "webhooks_create_webhook": "https, to a public address",
}

CONFIG = f"""
[checks]
enabled = false
{chr(10).join(f'{name}.enabled = true' for name in CHECKS)}

[phases.stateful]
max-steps = 6
""" + "".join(f"""
[[operations]]
include-operation-id = "{operation}"
checks.positive_data_acceptance.enabled = false
""" for operation in RULES_BEYOND_THE_SCHEMA)


def register_formats():
    """schemathesis hooks (SCHEMATHESIS_HOOKS names this module): values of the formats
    the document uses for rules beyond a pattern, so valid requests are generated."""
    import schemathesis
    from hypothesis import strategies as st

    from services.charity.rules import CREDIT_CHARS, credit_check_character

    head = st.text(alphabet=CREDIT_CHARS, min_size=2, max_size=2)
    digits = st.text(alphabet="0123456789", min_size=6, max_size=6)
    tail = st.text(alphabet=CREDIT_CHARS, min_size=9, max_size=9)
    codes = st.tuples(head, digits, tail).map("".join).map(
        lambda first17: first17 + credit_check_character(first17))
    schemathesis.openapi.format("unified-social-credit-code", codes)


HOOKS = "tests.contracts.test_schemathesis"
if os.environ.get("SCHEMATHESIS_HOOKS") == HOOKS:
    register_formats()


@pytest.fixture(scope="module")
def fuzzed_platform(mongo_uri, tmp_path_factory):
    """A platform of its own: what schemathesis creates (stations in any township, a region's
    name as a person's) must not meet the other tests' townships nor the personal-data scan
    of the session platform's events."""
    from services.common.catalog import names
    from services.registry.commands import import_divisions
    from tests.fixtures import division_files, make_platform
    from tests.harness import rabbitmqctl

    platform = make_platform(mongo_uri, tmp_path_factory.mktemp("fuzzed"))
    try:
        services = names()
        started = [platform.start_service(service, wait=False) for service in services]
        for process in started:
            process.wait_ready()
        import_divisions(division_files(), out=lambda line: None, rpc=platform.rpc())
        platform.gateway = platform.start_gateway(",".join(services))
        yield platform
    finally:
        platform.stop_all()
        rabbitmqctl("delete_vhost", platform.vhost)


def test_every_operation_keeps_its_contract(fuzzed_platform, tmp_path):
    from gateway.auth import issue_token
    from tests.fixtures import PROVINCE_ADMIN

    platform = fuzzed_platform

    token = issue_token(PROVINCE_ADMIN["role"], PROVINCE_ADMIN["region"], sub=PROVINCE_ADMIN["sub"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    st = os.path.join(os.path.dirname(sys.executable), "st")
    argv = [st, "--config-file", str(config), "run",
            platform.gateway.base_url + "/api/v1/openapi.json",
            "-H", f"Authorization: Bearer {token}",
            "--phases", ",".join(PHASES), "--max-examples", str(EXAMPLES), "--seed", SEED,
            "--workers", "2", "--no-shrink", "--request-timeout", "60",
            # Patterns stacked on lengths (free text) leave hypothesis few examples to keep.
            "--suppress-health-check", "filter_too_much,too_slow",
            "--output-truncate", "false", "--warnings", "off"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900,
                            cwd=str(tmp_path), env=dict(os.environ, NO_COLOR="1", PYTHONPATH=ROOT,
                                     SCHEMATHESIS_HOOKS=HOOKS))
    report = result.stdout + result.stderr
    assert result.returncode == 0, "schemathesis found failures:\n" + report[-60000:]
