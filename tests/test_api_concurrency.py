"""Concurrent requests through a real server on PostgreSQL: uvicorn in a thread of the test, on
127.0.0.1 and a free port, each request thread with its own connection, released together by a
barrier. Sync routes run in the server's thread pool, so the requests do run concurrently."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn

from egide.api.app import create_app
from egide.settings import Settings
from tests.api_world import BIND_NOW, CLAIM_NOW, ApiWorld, claim_declaration, make_world
from tests.test_api_claims import journey

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def world(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiWorld]:
    monkeypatch.setenv("EGIDE_NOW", BIND_NOW)
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings.with_environ(database_url=pg_url)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            yield make_world(pg_url, lambda: http)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def together(
    world: ApiWorld, n: int, request: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """`n` requests at once, each from its own thread and connection."""
    base = str(world.http.base_url)
    barrier = threading.Barrier(n)
    out: list[httpx.Response | BaseException] = [RuntimeError("not run")] * n

    def worker(i: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            http.get("/api/v1/openapi.json")  # open the connection before the start
            barrier.wait()
            try:
                out[i] = request(http, i)
            except BaseException as exc:  # reported below
                out[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    failed = [r for r in out if not isinstance(r, httpx.Response)]
    assert not failed, failed
    return [r for r in out if isinstance(r, httpx.Response)]


def test_twenty_concurrent_endorsements_with_one_if_match_give_one_success_and_19_412(
    world: ApiWorld,
) -> None:
    number = world.bound_policy()
    headers = world.headers("broker_a")

    def endorse(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"/api/v1/policies/{number}/endorsements",
            json={"effective": "2027-04-01", "set": {"security.edr": True}},
            headers={**headers, "If-Match": '"1"', "Idempotency-Key": f"endorse-{i}"},
        )

    responses = together(world, 20, endorse)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [412] * 19, [r.text for r in responses if r.status_code != 412]
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in responses
        if r.status_code == 412
    )
    shown = world.get("broker_a", f"/policies/{number}")
    assert shown.headers["ETag"] == '"2"'
    assert [t["kind"] for t in shown.json()["transactions"]] == ["issue", "endorse"]


def _big_declaration() -> dict[str, Any]:
    """The product sheet's leak with costs large enough that two such claims exceed the demo
    policy's annual aggregate (100 000 EUR) together."""
    data = claim_declaration()
    data["costs"] = [
        {"category": "it_forensics", "amount": 35000, "supplier": "Expert"},
        {"category": "notification", "amount": 25000, "supplier": "Routeur"},
    ]
    return data


def test_two_concurrent_payments_never_exceed_the_annual_aggregate(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    claims = []
    for _ in range(2):
        r = world.post(
            "broker_a", "/claims", {"policy_number": policy, "declaration": _big_declaration()}
        )
        assert r.status_code == 201, r.text
        claims.append(r.json())
    aggregate = Decimal(claims[0]["aggregate_limit"])
    payable = [Decimal(c["payable_now"]) for c in claims]
    assert max(payable) < aggregate < payable[0] + payable[1]  # each alone fits, both do not
    headers = world.headers("handler")

    def pay(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"/api/v1/claims/{claims[i]['claim_id']}/payments",
            json={},
            headers={**headers, "Idempotency-Key": f"pay-{i}"},
        )

    responses = together(world, 2, pay)
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    paid = sum(Decimal(r.json()["paid_now"]) for r in responses)
    assert paid == aggregate  # the second pays what the first left, never more
    after = [world.get("handler", f"/claims/{c['claim_id']}").json() for c in claims]
    assert all(Decimal(c["remaining_aggregate"]) == 0 for c in after)
    assert sum(Decimal(c["paid_total"]) for c in after) == aggregate


def test_a_retried_bind_with_the_same_key_returns_the_same_policy(world: ApiWorld) -> None:
    quote = world.save_quote()
    headers = {**world.headers("broker_a"), "Idempotency-Key": "bind-retried"}

    def bind(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"/api/v1/quotes/{quote}/bind", json={"start": "2027-01-10"}, headers=headers
        )

    responses = together(world, 5, bind)
    bound = {r.json()["policy_number"] for r in responses if r.status_code == 201}
    assert len(bound) == 1, [r.text for r in responses]
    # the others waited for the first and replayed it, or saw it in flight (409)
    assert all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    retry = world.bind(quote, "2027-01-10", key="bind-retried")
    assert retry.status_code == 201 and retry.json()["policy_number"] in bound
    listed = world.get("broker_a", "/policies").json()["items"]
    assert [p["policy_number"] for p in listed] == list(bound)


def test_the_readme_journey_runs_through_a_real_server_on_postgresql(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    journey(world, monkeypatch)
