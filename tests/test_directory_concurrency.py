"""Profiles created at the same moment all arrive, with their search words, and none gets a 500.

New words shared by simultaneous profiles used to race in the search index (select, then
insert: the slower request hit the unique word). Runs on SQLite by default and on PostgreSQL
with ``TEST_DATABASE_URL``, with real concurrent requests on separate connections.
"""

import pytest
from sqlalchemy import func, select
from test_directory_profiles import SME_FORM
from test_events_concurrency import logged_in_clients, run_together

from matchmaker.accounts.models import User
from matchmaker.directory.models import Profile, ProfileWord, SearchWord
from matchmaker.extensions import db

PEOPLE = 12
BURSTS = 3


@pytest.mark.slow
def test_profiles_created_at_the_same_moment(app, app_factory, make_user):
    clients = logged_in_clients(
        app_factory, [make_user().email for _person in range(PEOPLE)], app.config["JOBS_QUEUE"]
    )

    def creating(client, burst: int, n: int):
        # every burst brings words nobody has used yet, the same in all its requests
        form = {
            **SME_FORM,
            "name": f"Gleichzeitig {burst}-{n} GmbH",
            "description": f"Wir suchen Quantenkryptografie{burst} und Fotonenzählung{burst}.",
            "tags": f"Schwarmlogistik{burst}, eigenes{burst}x{n}",
        }
        return lambda: client.post("/profiles/new", data=form).status_code

    for burst in range(BURSTS):
        codes = run_together([creating(c, burst, n) for n, c in enumerate(clients)])
        assert codes == [302] * PEOPLE, codes

    db.session.expire_all()
    assert db.session.scalar(select(func.count(Profile.id))) == PEOPLE * BURSTS
    for burst in range(BURSTS):
        for word in (f"quantenkryptografie{burst}", f"schwarmlogistik{burst}"):
            holders = db.session.scalar(
                select(func.count(ProfileWord.profile_id))
                .join(SearchWord, SearchWord.id == ProfileWord.word_id)
                .where(SearchWord.word == word)
            )
            assert holders == PEOPLE, word
    # and the directory's own search finds them
    page = clients[0].get("/directory?q=Quantenkryptografie1").get_data(as_text=True)
    assert page.count("Gleichzeitig 1-") >= min(PEOPLE, 10)


@pytest.mark.slow
def test_the_same_address_signing_up_at_the_same_moment(app, app_factory):
    server = app_factory(RATELIMIT_ENABLED=False)
    form = {
        "name": "Doppelt Klick",
        "email": "doppelt@example.de",
        "password": "geheimes-passwort",
        "password_again": "geheimes-passwort",
    }

    def signing_up(client):
        def post():
            response = client.post("/account/register", data=form)
            return response.status_code, response.get_data(as_text=True)

        return post

    answers = run_together([signing_up(server.test_client()) for _click in range(PEOPLE)])
    codes = sorted(code for code, _page in answers)
    assert codes == [200] * (PEOPLE - 1) + [302]
    for code, page in answers:
        if code == 200:  # told why, with what they typed still in the form
            assert (
                "gleichzeitigen Änderung" in page
                or "Ein Konto mit dieser E-Mail-Adresse existiert bereits" in page
            ), page
            assert 'value="Doppelt Klick"' in page
    assert db.session.scalar(select(func.count(User.id))) == 1
