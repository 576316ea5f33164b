"""The JSON API against its own OpenAPI description, fuzzed by schemathesis in process.

Schemathesis reads ``/api/openapi.json`` from the ASGI app and generates requests for
every operation: valid ones, and invalid ones (ids out of range, wrong types, missing
and extra parameters). Every answer must be no server error and conform to the
schema: its status code documented, its body of the documented shape and type.

The operations' strategies are drawn by Hypothesis here rather than through
``schemathesis.pytest.from_fixture``, whose lazy loader reads a pytest attribute
that pytest 9 no longer has; the checks run are the same (``call_and_validate``).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Ok

from tests.fuzz.conftest import API_TOKEN, Site

AUTHORIZATION = {"Authorization": f"Bearer {API_TOKEN}"}
OPERATIONS = {"GET /api/sends", "GET /api/sends/{send_id}", "GET /api/system"}


Request = Case[APIOperation[Any, Any, Any, Any]]


def cases(site: Site, mode: GenerationMode) -> st.SearchStrategy[Request]:
    """Requests for every operation the app's schema describes."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", site.app)
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == OPERATIONS
    return st.one_of([operation.as_strategy(generation_mode=mode) for operation in operations])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("authorization", [AUTHORIZATION, {}], ids=["token", "stranger"])
def test_the_api_answers_as_its_schema_says(
    site: Site, mode: GenerationMode, authorization: dict[str, str]
) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases(site, mode))
    def check(case: Request) -> None:
        case.call_and_validate(headers=authorization)

    check()
