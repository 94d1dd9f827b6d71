"""Access control for every edit and delete route: anonymous, other member, owner, organiser."""

import pytest

from matchmaker.directory import services
from matchmaker.extensions import db

ROLES = ("anonymous", "other", "owner", "organiser")
EXPECTED = {"anonymous": 302, "other": 403, "owner": 200, "organiser": 200}


@pytest.fixture
def world(make_user, make_profile):
    owner = make_user(email="owner@example.de")
    other = make_user(email="other@example.de")
    organiser = make_user(email="orga@example.de", organiser=True)
    startup = make_profile(kind="startup", owner=owner)
    solution = services.save_solution(
        startup, {"title": "Lösung", "description": "Eine KI-Lösung für Rechnungen."}
    )
    db.session.commit()
    return {
        "users": {"other": other, "owner": owner, "organiser": organiser},
        "profile": startup.id,
        "solution": solution.id,
    }


ROUTES = [
    "/profiles/{profile}/edit",
    "/profiles/{profile}/delete",
    "/profiles/{profile}/solutions/new",
    "/solutions/{solution}/edit",
    "/solutions/{solution}/delete",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES)
def test_edit_routes_get(client, login, world, role, route):
    if role != "anonymous":
        login(world["users"][role])
    response = client.get(route.format(**world))
    assert response.status_code == EXPECTED[role]
    if role == "anonymous":
        assert "/account/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["anonymous", "other"])
@pytest.mark.parametrize("route", ROUTES)
def test_edit_routes_post_refused(client, login, world, role, route):
    if role != "anonymous":
        login(world["users"][role])
    response = client.post(route.format(**world), data={"title": "x", "name": "x"})
    assert response.status_code == EXPECTED[role]
    from matchmaker.directory.models import Profile, Solution

    db.session.expire_all()
    assert db.session.get(Profile, world["profile"]).name != "x"
    assert db.session.get(Solution, world["solution"]).title == "Lösung"


@pytest.mark.parametrize("role", ["owner", "organiser"])
def test_delete_allowed(client, login, world, role):
    login(world["users"][role])
    assert client.post(f"/profiles/{world['profile']}/delete").status_code == 302


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 302), ("other", 403), ("organiser", 200)]
)
def test_csv_export_only_for_organisers(client, login, world, role, status):
    if role != "anonymous":
        login(world["users"][role])
    assert client.get("/directory/export.csv").status_code == status


@pytest.mark.parametrize("url", ["/profiles/999999", "/profiles/999999/edit", "/solutions/0/edit"])
def test_unknown_ids_are_404(client, login, world, url):
    login(world["users"]["organiser"])
    response = client.get(url)
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.get_data(as_text=True)
