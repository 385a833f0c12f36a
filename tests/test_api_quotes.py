"""Quotes over HTTP: price, save, list, show, review; tenancy; Idempotency-Key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from egide.services import quotes
from tests.api_support import SIRET_OTHER, SIRET_THIRD, ApiWorld, api_world, application, make_world
from tests.conftest import EXAMPLES

__all__ = ["api_world"]
QUOTES = "/api/v1/quotes"


def referred_application() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8")
    )
    return data


def save(world: ApiWorld, role: str, body: dict[str, Any], **headers: str) -> Any:
    return world.http.post(QUOTES, json=body, headers={**world.auth(role), **headers})


def stored_quotes(world: ApiWorld) -> int:
    with world.uow() as uow:
        return len(uow.quotes.find())


def test_a_dry_run_prices_with_the_cli_contract_and_stores_nothing(api_world: ApiWorld) -> None:
    answer = api_world.http.post(
        f"{QUOTES}?dry_run=true", json=application(), headers=api_world.auth("broker_a")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "quote_number" not in body and body["decision"] == "accept"
    assert set(body["premium"]) == {"net", "tax", "total"}
    assert stored_quotes(api_world) == 0


def test_a_saved_quote_reads_back_exactly_as_priced(api_world: ApiWorld) -> None:
    priced = api_world.http.post(
        f"{QUOTES}?dry_run=true", json=application(), headers=api_world.auth("broker_a")
    ).json()
    saved = save(api_world, "broker_a", application())
    assert saved.status_code == 201
    body = saved.json()
    assert body["status"] == "priced" and body["broker_id"] == api_world.orgs["brokerage_a"]
    assert body["premium"] == priced["premium"] and body["coverages"] == priced["coverages"]
    shown = api_world.http.get(
        f"{QUOTES}/{body['quote_number']}", headers=api_world.auth("broker_a")
    )
    assert shown.json() == body


def test_the_product_lists_its_coverages_and_options(api_world: ApiWorld) -> None:
    answer = api_world.http.get("/api/v1/product", headers=api_world.auth("manager"))
    body = answer.json()
    assert body["product"] == api_world.app.state.product.ref
    assert {c["code"] for c in body["coverages"]} == set(api_world.app.state.product.coverages)
    assert "100000.00" in body["options"]["cabinet_medical"]["aggregate_limits"] or (
        "100000" in body["options"]["cabinet_medical"]["aggregate_limits"]
    )


def test_a_brokers_client_never_sees_another_brokerages_quote(api_world: ApiWorld) -> None:
    number = save(api_world, "broker_a", application()).json()["quote_number"]
    assert api_world.http.get(QUOTES, headers=api_world.auth("broker_b")).json()["items"] == []
    assert (
        api_world.http.get(f"{QUOTES}/{number}", headers=api_world.auth("broker_b")).status_code
        == 404
    )
    listed = api_world.http.get(QUOTES, headers=api_world.auth("underwriter")).json()["items"]
    assert [q["quote_number"] for q in listed] == [number]


def test_a_foreign_quote_is_reported_exactly_like_a_missing_one(api_world: ApiWorld) -> None:
    number = save(api_world, "broker_a", application()).json()["quote_number"]
    missing = "DEV-20261207-ABCDEF"
    auth = api_world.auth("broker_b")
    foreign = api_world.http.get(f"{QUOTES}/{number}", headers=auth)
    absent = api_world.http.get(f"{QUOTES}/{missing}", headers=auth)
    assert foreign.status_code == absent.status_code == 404
    assert dict(foreign.headers) == dict(absent.headers) | {
        "content-length": foreign.headers["content-length"]
    }
    assert foreign.json() == {
        **absent.json(),
        "detail": absent.json()["detail"].replace(missing, number),
    }
    # and acting on it too
    for path in ("approve", "decline"):
        acted = api_world.http.post(f"{QUOTES}/{number}/{path}", json={"note": "x"}, headers=auth)
        assert acted.status_code == 404


def test_an_establishments_client_sees_the_quotes_of_its_establishment_only(
    api_world: ApiWorld,
) -> None:
    own = save(api_world, "broker_a", application(siret=SIRET_OTHER)).json()["quote_number"]
    other = save(api_world, "broker_a", application()).json()["quote_number"]
    listed = api_world.http.get(QUOTES, headers=api_world.auth("manager")).json()["items"]
    assert [q["quote_number"] for q in listed] == [own]
    assert (
        api_world.http.get(f"{QUOTES}/{other}", headers=api_world.auth("manager")).status_code
        == 404
    )


def test_lists_filter_and_page_with_a_cursor(api_world: ApiWorld) -> None:
    numbers = [save(api_world, "broker_a", application()).json()["quote_number"] for _ in range(3)]
    referred = save(api_world, "broker_a", referred_application()).json()
    assert referred["status"] == "referred"
    auth = api_world.auth("broker_a")
    first = api_world.http.get(f"{QUOTES}?status=priced&limit=2", headers=auth).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api_world.http.get(
        f"{QUOTES}?status=priced&limit=2&cursor={first['next_cursor']}", headers=auth
    ).json()
    assert rest["next_cursor"] is None
    seen = [q["quote_number"] for q in first["items"] + rest["items"]]
    assert seen == list(reversed(numbers))  # newest first
    by_status = api_world.http.get(f"{QUOTES}?status=referred", headers=auth).json()["items"]
    assert [q["quote_number"] for q in by_status] == [referred["quote_number"]]
    clinic = referred["establishment_id"]
    by_place = api_world.http.get(f"{QUOTES}?establishment={clinic}", headers=auth).json()
    assert [q["quote_number"] for q in by_place["items"]] == [referred["quote_number"]]
    none_yet = api_world.http.get(f"{QUOTES}?created_to=2000-01-01", headers=auth).json()
    assert none_yet["items"] == []
    bad = api_world.http.get(f"{QUOTES}?status=lost", headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    bad_cursor = api_world.http.get(f"{QUOTES}?cursor=zzz", headers=auth)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["field"] == "cursor"


def test_an_underwriter_approves_a_referred_quote_and_a_broker_may_not(
    api_world: ApiWorld,
) -> None:
    number = save(api_world, "broker_a", referred_application()).json()["quote_number"]
    path = f"{QUOTES}/{number}/approve"
    refused = api_world.http.post(path, json={"note": "vu"}, headers=api_world.auth("broker_a"))
    assert refused.status_code == 403
    no_note = api_world.http.post(path, json={}, headers=api_world.auth("underwriter"))
    assert no_note.status_code == 422
    assert no_note.json()["errors"] == [
        {"field": "note", "rule": "required", "message": "Field required"}
    ]
    approved = api_world.http.post(
        path, json={"note": "sauvegardes vérifiées"}, headers=api_world.auth("underwriter")
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["review"]["note"] == "sauvegardes vérifiées"
    again = api_world.http.post(
        f"{QUOTES}/{number}/decline", json={"note": "non"}, headers=api_world.auth("underwriter")
    )
    assert again.status_code == 409 and again.json()["type"] == "urn:egide:problem:conflict"


# ------------------------------------------------------------------ Idempotency-Key


def test_a_retry_with_the_same_key_replays_the_first_response(api_world: ApiWorld) -> None:
    first = save(api_world, "broker_a", application(), **{"Idempotency-Key": '"k-1"'})
    again = save(api_world, "broker_a", application(), **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert stored_quotes(api_world) == 1


def test_the_same_key_with_another_body_is_422(api_world: ApiWorld) -> None:
    save(api_world, "broker_a", application(), **{"Idempotency-Key": "k-2"})
    other = save(api_world, "broker_a", application(limit=250_000), **{"Idempotency-Key": "k-2"})
    assert other.status_code == 422
    assert other.json()["type"] == "urn:egide:problem:idempotency-key-reused"
    assert stored_quotes(api_world) == 1


def test_a_key_still_in_flight_is_409(api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    started, finish = threading.Event(), threading.Event()
    real = quotes.save_quote

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        finish.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(quotes, "save_quote", slow)
    key = {"Idempotency-Key": "k-3"}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(save, api_world, "broker_a", application(), **key)
        assert started.wait(30)
        second = save(api_world, "broker_a", application(), **key)
        finish.set()
        assert first.result().status_code == 201
    assert second.status_code == 409, second.text
    assert second.json()["type"] == "urn:egide:problem:idempotency-key-in-flight"
    assert stored_quotes(api_world) == 1
    third = save(api_world, "broker_a", application(), **key)  # finished: replayed
    assert third.json() == first.result().json()


def test_a_failed_request_releases_its_key(api_world: ApiWorld) -> None:
    bad = save(
        api_world, "broker_a", application(siret="73282932000075"), **{"Idempotency-Key": "k-4"}
    )
    assert bad.status_code == 422
    good = save(api_world, "broker_a", application(), **{"Idempotency-Key": "k-4"})
    assert good.status_code == 201


def test_keys_are_scoped_to_the_organisation(api_world: ApiWorld) -> None:
    mine = save(api_world, "broker_a", application(), **{"Idempotency-Key": "shared"})
    elsewhere = application(siret=SIRET_THIRD)  # a brokerage quotes its own clients
    theirs = save(api_world, "broker_b", elsewhere, **{"Idempotency-Key": "shared"})
    assert theirs.status_code == 201
    assert theirs.json()["quote_number"] != mine.json()["quote_number"]


def test_a_malformed_key_is_400(api_world: ApiWorld) -> None:
    answer = save(api_world, "broker_a", application(), **{"Idempotency-Key": "k" * 101})
    assert answer.status_code in (400, 422)
    assert stored_quotes(api_world) == 0


def test_a_review_replays_with_its_key(api_world: ApiWorld) -> None:
    number = save(api_world, "broker_a", referred_application()).json()["quote_number"]
    path = f"{QUOTES}/{number}/decline"
    headers = {**api_world.auth("underwriter"), "Idempotency-Key": "review-1"}
    first = api_world.http.post(path, json={"note": "trop risqué"}, headers=headers)
    again = api_world.http.post(path, json={"note": "trop risqué"}, headers=headers)
    assert first.status_code == again.status_code == 200  # not 409: replayed
    assert again.json() == first.json()


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_world(pg_url: str) -> Iterator[ApiWorld]:
    world_iter = make_world(pg_url)
    world = next(world_iter)
    try:
        yield world
    finally:
        world.app.state.engine.dispose()
        world_iter.close()


@pytest.mark.postgres
def test_on_postgresql_quotes_keep_to_their_tenant_and_replay_by_key(pg_world: ApiWorld) -> None:
    first = save(pg_world, "broker_a", application(), **{"Idempotency-Key": "pg-1"})
    again = save(pg_world, "broker_a", application(), **{"Idempotency-Key": "pg-1"})
    assert first.status_code == 201 and again.json() == first.json()
    number = first.json()["quote_number"]
    assert (
        pg_world.http.get(f"{QUOTES}/{number}", headers=pg_world.auth("broker_b")).status_code
        == 404
    )
    assert (
        pg_world.http.get(f"{QUOTES}/{number}", headers=pg_world.auth("broker_a")).status_code
        == 200
    )
    assert stored_quotes(pg_world) == 1
