"""The API's skeleton: a token, a quote saved and read back through HTTP."""

from __future__ import annotations

from tests.api_support import ApiWorld, api_world, application

__all__ = ["api_world"]


def test_a_broker_saves_a_quote_and_reads_it_back(api_world: ApiWorld) -> None:
    http = api_world.http
    saved = http.post("/api/v1/quotes", json=application(), headers=api_world.auth("broker_a"))
    assert saved.status_code == 201, saved.text
    number = saved.json()["quote_number"]
    assert saved.headers["location"] == f"/api/v1/quotes/{number}"
    shown = http.get(f"/api/v1/quotes/{number}", headers=api_world.auth("broker_a"))
    assert shown.status_code == 200 and shown.json()["quote_number"] == number
    foreign = http.get(f"/api/v1/quotes/{number}", headers=api_world.auth("broker_b"))
    assert foreign.status_code == 404
