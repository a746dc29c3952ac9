"""Every operation of the OpenAPI document x every role x a target in the caller's
region, in a sibling region and in the parent region, driven over HTTP against the
session platform; the expectations are the table authorization_matrix.md."""
import pytest

from tests.contracts.authz import matrix
from tests.contracts.authz.conftest import record_matrix

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def document(api):
    response = api().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_table_has_a_row_for_every_operation_and_no_other(document):
    rows = matrix.read_table()
    operations = matrix.document_operations(document)
    missing = sorted(set(operations) - set(rows))
    gone = sorted(set(rows) - set(operations))
    assert not missing, ("operations with no row in tests/contracts/authz/authorization_matrix.md "
                         f"(add one): {', '.join(missing)}")
    assert not gone, f"rows naming operations the document no longer has: {', '.join(gone)}"


def test_every_cell_answers_as_the_table_says(world, document):
    rows = matrix.read_table()
    known = matrix.document_operations(document)
    rows = {name: row for name, row in rows.items() if name in known}
    driver = matrix.Driver(world, document)
    driver.run_all(rows)
    text, problems = driver.render(rows)
    record_matrix(text)
    assert not problems, f"{len(problems)} cells answer otherwise than the table says:\n" + "\n".join(problems)
