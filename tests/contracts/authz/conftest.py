"""The authorisation matrix's world (built once for the folder) and its printed result."""
import os
import time

import pytest

from tests.contracts.authz.world import World

REPORT_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", ".run", "authorization-matrix.txt")
_STARTED = time.time()


@pytest.fixture(scope="module")
def world(api, units):
    return World(api, units).build()


def record_matrix(text):
    """Keep the matrix's result in .run/, for the terminal summary and to read later."""
    path = os.path.abspath(REPORT_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def pytest_terminal_summary(terminalreporter):
    # The file, not a variable: the test module imports this file under another name.
    path = os.path.abspath(REPORT_PATH)
    if os.path.exists(path) and os.path.getmtime(path) >= _STARTED:
        terminalreporter.section("authorisation matrix")
        with open(path, encoding="utf-8") as f:
            terminalreporter.write(f.read())
        terminalreporter.write_line(f"(also in {path})")
