"""Policies over HTTP (SQLite, FastAPI's TestClient): the README's policy life, ETags and
If-Match, required idempotency keys, tenancy, lists and documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from egide.api.routers.policies import expected_version
from egide.domain.errors import InvalidInput
from tests.api_world import BIND_NOW, RENEW_NOW, REPO, ApiWorld, app_client, make_world, problem

RENEWAL = REPO / "examples" / "renewal" / "cabinet-medical-2028.yaml"


@pytest.fixture
def world(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiWorld]:
    monkeypatch.setenv("EGIDE_NOW", BIND_NOW)
    with app_client(sqlite_url) as http:
        yield make_world(sqlite_url, lambda: http)


def test_the_readme_policy_life_runs_over_http(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    quote = world.save_quote()
    bound = world.bind(quote, "2027-01-10")
    assert bound.status_code == 201, bound.text
    policy = bound.json()
    number = policy["policy_number"]
    assert policy["quote_number"] == quote and policy["status"] == "in_force"
    assert bound.headers["ETag"] == '"1"'

    endorsed = world.post(
        "broker_a",
        f"/policies/{number}/endorsements",
        {"effective": "2027-04-01", "set": {"cover.limit": 250000, "security.edr": True}},
        key="endorse-1",
        if_match='"1"',
    )
    assert endorsed.status_code == 201, endorsed.text
    assert endorsed.json()["kind"] == "endorse" and endorsed.json()["version"] == 2
    assert endorsed.headers["ETag"] == '"2"'

    cancelled = world.post(
        "broker_a",
        f"/policies/{number}/cancellation",
        {"effective": "2027-09-01", "reason": "insured_request"},
        key="cancel-1",
        if_match='"2"',
    )
    assert cancelled.status_code == 201, cancelled.text
    assert cancelled.json()["premium_change"]["net"].startswith("-")  # a refund pro rata
    reinstated = world.post(
        "broker_a",
        f"/policies/{number}/reinstatement",
        {"effective": "2027-09-15"},
        key="reinstate-1",
    )
    assert reinstated.status_code == 201, reinstated.text
    assert reinstated.headers["ETag"] == '"4"'

    monkeypatch.setenv("EGIDE_NOW", RENEW_NOW)
    answers = yaml.safe_load(RENEWAL.read_text(encoding="utf-8"))
    renewed = world.post(
        "broker_a", f"/policies/{number}/renewal", {"application": answers}, key="renew-1"
    )
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["kind"] == "renew" and renewed.json()["version"] == 5
    renewal = world.get("broker_a", f"/policies/{number}", as_of="2028-02-01").json()
    assert renewal["term"] == 2 and renewal["aggregate_limit"] == "250000.00"

    shown = world.get("broker_a", f"/policies/{number}", as_of="2027-05-01")
    assert shown.status_code == 200, shown.text
    assert shown.headers["ETag"] == '"5"'
    body = shown.json()
    assert body["status"] == "in_force" and body["aggregate_limit"] == "250000.00"
    assert [t["kind"] for t in body["transactions"]] == [
        "issue",
        "endorse",
        "cancel",
        "reinstate",
        "renew",
    ]
    before = world.get("broker_a", f"/policies/{number}", as_of="2027-03-01").json()
    assert before["aggregate_limit"] == "100000.00"  # the endorsement applies from 1 April


def test_a_change_without_an_idempotency_key_is_a_400_problem_and_writes_nothing(
    world: ApiWorld,
) -> None:
    number = world.bound_policy()
    for path, body in (
        ("endorsements", {"effective": "2027-04-01", "set": {"cover.limit": 250000}}),
        ("cancellation", {"effective": "2027-09-01"}),
        ("reinstatement", {"effective": "2027-09-15"}),
        ("renewal", {}),
    ):
        r = world.post("broker_a", f"/policies/{number}/{path}", body)
        body = problem(r, 400)
        assert body["errors"] == [
            {"field": "Idempotency-Key", "rule": "required", "message": "is required"}
        ]
    quote = world.save_quote()
    r = world.post("broker_a", f"/quotes/{quote}/bind", {"start": "2027-01-10"})
    problem(r, 400)
    assert world.get("broker_a", f"/policies/{number}").headers["ETag"] == '"1"'


def test_a_stale_if_match_is_412_and_the_current_etag_succeeds(world: ApiWorld) -> None:
    number = world.bound_policy()
    change = {"effective": "2027-04-01", "set": {"security.edr": True}}
    first = world.post("broker_a", f"/policies/{number}/endorsements", change, "k1", '"1"')
    assert first.status_code == 201, first.text
    again = {"effective": "2027-05-01", "set": {"cover.limit": 250000}}
    stale = world.post("broker_a", f"/policies/{number}/endorsements", again, "k2", '"1"')
    body = problem(stale, 412)
    assert body["type"] == "urn:egide:problem:precondition-failed"
    assert "version 2, not 1" in str(body["detail"])
    fresh = world.post("broker_a", f"/policies/{number}/endorsements", again, "k2", '"2"')
    assert fresh.status_code == 201, fresh.text
    assert fresh.headers["ETag"] == '"3"'


def test_an_if_match_that_is_not_an_etag_is_invalid_input(world: ApiWorld) -> None:
    number = world.bound_policy()
    change = {"effective": "2027-04-01", "set": {"security.edr": True}}
    for tag in ("1", '"one"', '"1", "2"'):
        r = world.post("broker_a", f"/policies/{number}/endorsements", change, "k", tag)
        assert problem(r, 422)["errors"][0]["field"] == "If-Match"


def test_a_retried_change_replays_its_response_and_another_body_with_its_key_is_422(
    world: ApiWorld,
) -> None:
    number = world.bound_policy()
    change = {"effective": "2027-04-01", "set": {"security.edr": True}}
    first = world.post("broker_a", f"/policies/{number}/endorsements", change, "same")
    retry = world.post("broker_a", f"/policies/{number}/endorsements", change, "same")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["ETag"] == first.headers["ETag"] == '"2"'
    other = {"effective": "2027-04-02", "set": {"security.edr": True}}
    body = problem(world.post("broker_a", f"/policies/{number}/endorsements", other, "same"), 422)
    assert body["type"] == "urn:egide:problem:idempotency-key-reused"
    assert world.get("broker_a", f"/policies/{number}").json()["version"] == 2


def test_a_retried_bind_with_the_same_key_returns_the_same_policy(world: ApiWorld) -> None:
    quote = world.save_quote()
    first = world.bind(quote, "2027-01-10", key="bind-once")
    retry = world.bind(quote, "2027-01-10", key="bind-once")
    assert first.status_code == retry.status_code == 201, retry.text
    assert retry.json()["policy_number"] == first.json()["policy_number"]
    other = world.post(
        "broker_a", f"/quotes/{quote}/bind", {"start": "2027-01-11"}, key="bind-once"
    )
    problem(other, 422)


def test_endorsements_take_the_cli_paths_and_name_a_path_that_cannot_change(
    world: ApiWorld,
) -> None:
    number = world.bound_policy()
    r = world.post(
        "broker_a",
        f"/policies/{number}/endorsements",
        {"effective": "2027-04-01", "set": {"establishment.siret": "44201176200017"}},
        key="siret",
    )
    errors = problem(r, 422)["errors"]
    assert errors[0]["field"] == "establishment.siret"
    assert errors[0]["rule"] == "not_endorsable"
    empty = world.post(
        "broker_a",
        f"/policies/{number}/endorsements",
        {"effective": "2027-04-01", "set": {}},
        key="empty",
    )
    assert problem(empty, 422)["errors"][0]["field"] == "set"
    unknown = world.post(
        "broker_a",
        f"/policies/{number}/endorsements",
        {"effective": "2027-04-01", "set": {"cover.limit": 250000}, "actor": "x"},
        key="extra",
    )
    assert problem(unknown, 422)["errors"][0]["rule"] == "unknown_key"


def test_a_state_that_forbids_the_change_is_a_409_conflict(world: ApiWorld) -> None:
    number = world.bound_policy()
    r = world.post(
        "broker_a", f"/policies/{number}/reinstatement", {"effective": "2027-02-01"}, key="r"
    )
    assert "not cancelled" in str(problem(r, 409)["detail"])


def test_another_tenants_policy_is_a_404_exactly_like_a_missing_one(world: ApiWorld) -> None:
    number = world.bound_policy()
    missing = "POL-2027-00000000"
    foreign = world.get("broker_b", f"/policies/{number}")
    absent = world.get("broker_b", f"/policies/{missing}")
    assert problem(foreign, 404) == {
        **problem(absent, 404),
        "detail": f"policy {number} does not exist",
    }
    change = {"effective": "2027-04-01", "set": {"security.edr": True}}
    problem(world.post("broker_b", f"/policies/{number}/endorsements", change, "x"), 404)
    problem(world.get("broker_b", f"/policies/{number}/documents"), 404)
    assert world.get("broker_b", "/policies").json() == {"items": [], "next_cursor": None}


def test_a_role_that_may_not_change_policies_gets_403(world: ApiWorld) -> None:
    number = world.bound_policy()
    change = {"effective": "2027-04-01", "set": {"security.edr": True}}
    r = world.post("handler", f"/policies/{number}/endorsements", change, "h")
    assert "policy.change" in str(problem(r, 403)["detail"])
    assert world.get("handler", f"/policies/{number}").status_code == 200


def test_the_policy_list_pages_with_a_cursor_and_filters_renewals(
    world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = {world.bound_policy() for _ in range(3)}
    first = world.get("broker_a", "/policies", limit=2)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = world.get("broker_a", "/policies", limit=2, cursor=page["next_cursor"]).json()
    assert rest["next_cursor"] is None
    assert {p["policy_number"] for p in page["items"] + rest["items"]} == numbers
    assert world.get("broker_a", "/policies", in_force_on="2026-12-01").json()["items"] == []
    assert world.get("broker_a", "/policies", renewal_within=30).json()["items"] == []
    monkeypatch.setenv("EGIDE_NOW", RENEW_NOW)
    due = world.get("broker_a", "/policies", renewal_within=60).json()["items"]
    assert {p["policy_number"] for p in due} == numbers
    bad = world.get("broker_a", "/policies", cursor="not-a-cursor")
    assert problem(bad, 422)["errors"][0]["field"] == "cursor"


def test_the_documents_are_listed_with_links_and_served_as_pdf(world: ApiWorld) -> None:
    number = world.bound_policy()
    listed = world.get("broker_a", f"/policies/{number}/documents")
    assert listed.status_code == 200, listed.text
    kinds = [d["kind"] for d in listed.json()["items"]]
    assert kinds[1:] == ["conditions-particulieres-T1", "attestation"]
    assert kinds[0].startswith("proposition-DEV-")
    link = listed.json()["items"][1]["href"]
    assert link == f"/api/v1/policies/{number}/documents/conditions-particulieres-T1"
    pdf = world.http.get(link, headers=world.headers("broker_a"))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    missing = world.get("broker_a", f"/policies/{number}/documents/avenant-1")
    problem(missing, 404)


def test_an_endorsement_takes_json_numbers_booleans_and_decimals_as_the_cli_takes_yaml(
    world: ApiWorld,
) -> None:
    number = world.bound_policy()
    change = {
        "effective": "2027-04-01",
        "set": {"security.security_budget_share": 0.08, "cover.limit": 250000},
    }
    first = world.post("broker_a", f"/policies/{number}/endorsements", change, "floats")
    assert first.status_code == 201, first.text
    retry = world.post("broker_a", f"/policies/{number}/endorsements", change, "floats")
    assert retry.json() == first.json()
    shown = world.get("broker_a", f"/policies/{number}", as_of="2027-04-01").json()
    changed = {c["field"]: c["new"] for c in shown["transactions"][1]["changes"]}
    assert changed == {"cover.limit": 250000, "security.security_budget_share": "0.08"}
    numbers = world.post(
        "broker_a",
        f"/policies/{number}/endorsements",
        {"effective": "2027-04-01", "set": {"security.edr": "yes"}},
        "text-for-a-boolean",
    )
    assert problem(numbers, 422)["errors"][0]["field"] == "security.edr"


@given(version=st.integers(min_value=0, max_value=10**9 - 1))
def test_an_etag_sent_back_as_if_match_is_the_version_it_stands_for(version: int) -> None:
    assert expected_version(f'"{version}"') == version
    assert expected_version(f' "{version}" ') == version


@given(tag=st.text(max_size=40))
def test_an_if_match_is_a_version_star_or_invalid_input_naming_the_header(tag: str) -> None:
    try:
        got = expected_version(tag)
    except InvalidInput as exc:
        assert [e.field for e in exc.errors] == ["If-Match"]
        return
    stripped = tag.strip()
    if got is None:
        assert stripped == "*"
    else:  # a quoted run of ASCII digits ("007" is version 7)
        assert stripped[0] == stripped[-1] == '"' and int(stripped[1:-1]) == got
