"""Smoke: the app starts on a migrated database and serves the start page."""


def test_start_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Matchmaker" in response.get_data(as_text=True)
