"""Claims over HTTP (SQLite, FastAPI's TestClient): the README's whole journey (bind, endorse,
cancel, reinstate, then the product sheet's claim settled for 24 570,00 €), payments and their
keys, tenancy and roles, lists, the clock and the statement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_world import (
    BIND_NOW,
    CLAIM_NOW,
    ApiWorld,
    app_client,
    claim_declaration,
    make_world,
    problem,
)


@pytest.fixture
def world(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiWorld]:
    monkeypatch.setenv("EGIDE_NOW", BIND_NOW)
    with app_client(sqlite_url) as http:
        yield make_world(sqlite_url, lambda: http)


def declared(world: ApiWorld, policy: str, who: str = "broker_a", **changes: Any) -> str:
    declaration = {**claim_declaration(), **changes}
    r = world.post(who, "/claims", {"policy_number": policy, "declaration": declaration})
    assert r.status_code == 201, r.text
    return str(r.json()["claim_id"])


def test_the_readme_journey_over_http_settles_the_product_sheet_claim_for_24570_euros(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    journey(world, monkeypatch)


def journey(world: ApiWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's policy and claim lives over HTTP, from the clock at BIND_NOW."""
    quote = world.save_quote()
    number = world.bind(quote, "2027-01-10").json()["policy_number"]
    steps = (
        ("endorsements", {"effective": "2027-04-01", "set": {"cover.limit": 250000}}),
        ("cancellation", {"effective": "2027-09-01", "reason": "insured_request"}),
        ("reinstatement", {"effective": "2027-09-15"}),
    )
    for i, (path, body) in enumerate(steps, start=1):
        r = world.post("broker_a", f"/policies/{number}/{path}", body, f"step-{i}", f'"{i}"')
        assert r.status_code == 201, r.text

    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    r = world.post(
        "broker_a", "/claims", {"policy_number": number, "declaration": claim_declaration()}
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["covered"] is True and claim["payable_total"] == "24570.00"
    assert claim["aggregate_limit"] == "100000.00"  # the cover on the day of discovery
    number_of_claim = claim["claim_id"]

    shown = world.get("handler", f"/claims/{number_of_claim}")
    assert shown.status_code == 200 and shown.json()["payable_now"] == "24570.00"
    clock = world.get("broker_a", f"/claims/{number_of_claim}/clock")
    assert clock.status_code == 200, clock.text
    codes = {d["code"] for d in clock.json()["deadlines"]}
    assert "cnil" in " ".join(codes)

    paid = world.post("handler", f"/claims/{number_of_claim}/payments", {}, key="pay-1")
    assert paid.status_code == 201, paid.text
    assert paid.json()["paid_now"] == "24570.00"
    assert paid.json()["remaining_aggregate"] == "75430.00"
    after = world.get("broker_a", f"/claims/{number_of_claim}").json()
    assert after["paid_total"] == "24570.00" and after["payable_now"] == "0.00"

    pdf = world.http.get(
        f"/api/v1/claims/{number_of_claim}/statement", headers=world.headers("broker_a")
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_payment_needs_an_idempotency_key_and_a_retry_pays_once(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    claim = declared(world, policy)
    errors = problem(world.post("handler", f"/claims/{claim}/payments", {"amount": "100"}), 400)
    assert errors["errors"][0]["field"] == "Idempotency-Key"
    first = world.post("handler", f"/claims/{claim}/payments", {"amount": "1000.00"}, "p1")
    retry = world.post("handler", f"/claims/{claim}/payments", {"amount": "1000.00"}, "p1")
    assert first.status_code == retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert world.get("handler", f"/claims/{claim}").json()["paid_total"] == "1000.00"
    other = world.post("handler", f"/claims/{claim}/payments", {"amount": "2000.00"}, "p1")
    assert problem(other, 422)["type"] == "urn:egide:problem:idempotency-key-reused"


def test_a_payment_over_what_is_payable_names_the_amount_and_pays_nothing(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    claim = declared(world, policy)
    r = world.post("handler", f"/claims/{claim}/payments", {"amount": "30000"}, "too-much")
    assert problem(r, 422)["errors"][0]["field"] == "amount"
    for bad in ({"amount": "-5"}, {"amount": "1.234"}, {"final": "maybe"}, {"extra": 1}):
        problem(world.post("handler", f"/claims/{claim}/payments", bad, "bad"), 422)
    assert world.get("handler", f"/claims/{claim}").json()["paid_total"] == "0.00"


def test_a_final_payment_closes_the_claim_and_the_list_filters_by_status(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    open_claim, closed_claim = declared(world, policy), declared(world, policy)
    r = world.post("handler", f"/claims/{closed_claim}/payments", {"final": True}, "final")
    assert r.status_code == 201 and r.json()["status"] == "closed"
    again = world.post("handler", f"/claims/{closed_claim}/payments", {}, "after-close")
    problem(again, 409)

    def listed(**params: Any) -> list[str]:
        r = world.get("broker_a", "/claims", **params)
        assert r.status_code == 200, r.text
        return [c["claim_id"] for c in r.json()["items"]]

    assert listed(status="open") == [open_claim]
    assert listed(status="closed") == [closed_claim]
    assert sorted(listed()) == sorted([open_claim, closed_claim])
    page = world.get("broker_a", "/claims", limit=1).json()
    rest = world.get("broker_a", "/claims", limit=1, cursor=page["next_cursor"]).json()
    assert {c["claim_id"] for c in page["items"] + rest["items"]} == {open_claim, closed_claim}
    assert rest["next_cursor"] is None
    problem(world.get("broker_a", "/claims", status="lost"), 422)


def test_another_tenants_claim_is_a_404_and_only_a_claims_handler_pays(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    claim = declared(world, policy)
    for path in (f"/claims/{claim}", f"/claims/{claim}/clock", f"/claims/{claim}/statement"):
        problem(world.get("broker_b", path), 404)
    # a broker may not pay at all: the same refusal for a foreign claim as for a missing one
    foreign_pay = problem(world.post("broker_b", f"/claims/{claim}/payments", {}, "b"), 403)
    missing_pay = world.post("broker_b", "/claims/SIN-20270316-000000/payments", {}, "c")
    assert problem(missing_pay, 403) == foreign_pay
    foreign = world.post(
        "broker_b", "/claims", {"policy_number": policy, "declaration": claim_declaration()}
    )
    assert problem(foreign, 404)["detail"] == f"policy {policy} does not exist"
    assert world.get("broker_b", "/claims").json() == {"items": [], "next_cursor": None}
    refused = world.post("broker_a", f"/claims/{claim}/payments", {}, "a")
    assert "claim.settle" in str(problem(refused, 403)["detail"])
    assert world.get("manager", f"/claims/{claim}").status_code == 200


def test_a_declaration_that_breaks_the_rules_names_each_field(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = world.bound_policy()
    monkeypatch.setenv("EGIDE_NOW", CLAIM_NOW)
    declaration = claim_declaration()
    declaration["incident"] = {**declaration["incident"], "type": "meteor"}
    r = world.post("broker_a", "/claims", {"policy_number": policy, "declaration": declaration})
    fields = [e["field"] for e in problem(r, 422)["errors"]]
    assert "incident.type" in fields
    missing = world.post("broker_a", "/claims", {"declaration": claim_declaration()})
    assert problem(missing, 422)["errors"][0]["field"] == "policy_number"
    assert world.get("broker_a", "/claims").json()["items"] == []
