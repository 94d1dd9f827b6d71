"""Fuzz every form with hypothesis: random Unicode, 1 MB strings, HTML/script payloads,
wrong types and missing fields. No answer may be a server error, a refused form must leave
the database unchanged, and every payload that is shown again must be escaped.
"""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from matchmaker.app import create_app
from matchmaker.extensions import db
from tests.conftest import base_config, clone_database
from tests.test_authorization_matrix import PASSWORD, ROUTES, fill, world_template  # noqa: F401

SCRIPT = "<script>alert('xss')</script>"
PAYLOADS = st.one_of(
    st.text(max_size=200),
    st.just(SCRIPT),
    st.just('"><img src=x onerror=alert(1)>'),
    st.just("x" * 1_000_000),
    st.sampled_from(
        ["-1", "0", "99999999999999999999", "1e309", "NaN", "", " ", "\x00", "ä" * 300]
    ),
    st.integers().map(str),
)
FORM_ROUTES = sorted(
    key
    for key, entry in ROUTES.items()
    if key[1] == "POST"
    and not key[0].startswith("api.")
    and key[0] not in ("accounts.logout", "privacy.delete_account", "accounts.login")
)
INPUT_RE = re.compile(r'<(?:input|textarea|select)[^>]*\bname="([^"]+)"')


def table_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in ("audit_entries", "outbox_messages", "search_words", "data_versions")
    }


@pytest.mark.slow
@pytest.mark.parametrize(("endpoint", "method"), FORM_ROUTES, ids=lambda v: str(v))
def test_form_survives_fuzzing(world_template, tmp_path, endpoint, method):  # noqa: F811
    template, ids = world_template
    entry = ROUTES[(endpoint, method)]
    uri, drop = clone_database(template, tmp_path)
    app = create_app(
        base_config(uri)
        | {"SCHEDULE_TIME_LIMIT": 1.0, "SCHEDULE_WORKERS": 1, "MAX_CONTENT_LENGTH": 2 * 1024 * 1024}
    )
    path = fill(entry.path, ids)
    try:
        with app.app_context():
            client = app.test_client()
            role = "organiser" if entry.access["organiser"] == "ok" else "owner"
            client.post("/account/login", data={"email": ids["emails"][role], "password": PASSWORD})
            page = client.get(path)
            fields = (
                sorted(set(INPUT_RE.findall(page.get_data(as_text=True))))
                if page.status_code == 200
                else []
            )
            fields = [f for f in fields if f != "csrf_token"] or ["name", "value", "id"]

            @settings(
                max_examples=12,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            )
            @given(st.dictionaries(st.sampled_from(fields), PAYLOADS, max_size=len(fields)))
            def fuzz(data):
                before = table_counts()
                response = client.open(path, method=method, data=data)
                assert response.status_code < 500, (endpoint, data, response.status_code)
                body = response.get_data(as_text=True)
                assert SCRIPT not in body, "an unescaped payload was rendered"
                assert (
                    "onerror=alert(1)>" not in body.replace("&gt;", ">") or "<img src=x" not in body
                )
                refused = response.status_code in (400, 413) or (
                    response.status_code == 200 and 'class="form-errors"' in body
                )
                if refused:
                    assert table_counts() == before, "a refused form changed the database"

            fuzz()
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
