"""Contract checks the test run applies to itself: the AsyncAPI document against the
specification's own schema (vendored in asyncapi-specs/), and every event the tests
caused against the document."""
