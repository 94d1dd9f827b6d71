"""Schemathesis against the app in-process: no server errors, no schema violations.

The demo data is loaded and an organiser's token is sent with every request, so the
authenticated endpoints answer with data rather than only with 401. The number of examples
is bounded and the run is derandomized, so it is repeatable and stays within about a minute.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from matchmaker.accounts.services import find_user_by_email
from matchmaker.api import services as tokens
from matchmaker.extensions import db

MAX_EXAMPLES = 25


@pytest.fixture
def organiser_token(app, runner) -> str:
    """Load the demo data and return an API token of its organiser."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    organiser = find_user_by_email("orga@ki-tag-lausitz.example")
    _token, secret = tokens.create_token(organiser, "schemathesis")
    db.session.commit()
    return secret


@pytest.fixture
def api_schema(app, organiser_token, request):
    """Read the OpenAPI document the app serves."""
    # schemathesis 4.32 renames the test node through ``_nodeid``, which pytest 9 dropped.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid

    def isolated(environ, start_response):
        # One app context per request, as a server has (the test's own context stays open).
        with app.app_context():
            return app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated)
    schema.config.update(headers={"Authorization": f"Bearer {organiser_token}"})
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate()
