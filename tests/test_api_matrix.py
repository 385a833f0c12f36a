"""The authorisation matrix, built from the app's route table: every route × every role × own and
foreign object gives the expected status, and a route the matrix does not name fails the test.

To add a route: add one entry to `MATRIX`, keyed by ``(METHOD, path as in app.routes)``:

    ("POST", "/api/v1/policies/{number}/renewal"): Case(
        expected=every(403, underwriter=(200, 200), broker_a=(200, 404), manager=(200, 404)),
        request=lambda w, own: (f"/api/v1/policies/{policy(w, own)}/renewal", {"json": {...}}),
    ),

- `expected` gives each role of `ROLES` a status, or for a route on one object a pair
  ``(own, foreign)``: the status on an object of the role's tenant, and on another tenant's.
  ``every(default, **role=status)`` fills the roles not named with `default`.
- `request(world, own)` returns the path and the keyword arguments of ``TestClient.request``
  (json, params, headers); it builds a fresh object when the route needs one: "own" objects
  belong to establishment ``clinic`` (SIRET_OTHER) whose broker of record is brokerage A (so
  ``broker_a`` and ``manager`` see them), "foreign" ones to another establishment placed by
  brokerage B. The insurer's staff see both.
- Every non-public route is also requested without a token and must answer 401.
- ``public=True`` for routes open to anyone (docs, the token endpoint): only ``anonymous``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from tests.api_matrix_policies import ROWS
from tests.api_support import SIRET_OTHER, SIRET_THIRD, ApiWorld, api_world, application
from tests.conftest import EXAMPLES

__all__ = ["api_world"]

ROLES = ("underwriter", "claims_handler", "actuary", "broker_a", "manager")
Expected = int | tuple[int, int]
Request = Callable[[ApiWorld, bool], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Case:
    expected: Mapping[str, Expected]
    request: Request
    public: bool = False


def every(default: Expected, **roles: Expected) -> dict[str, Expected]:
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return {role: roles.get(role, default) for role in ROLES}


# ------------------------------------------------------------------ objects to act on


def quote(world: ApiWorld, own: bool, referred: bool = False) -> str:
    """A new quote of the own tenant (placed by brokerage A for the clinic) or a foreign one."""
    if referred:
        body: dict[str, Any] = yaml.safe_load(
            (EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8")
        )
        body["establishment"]["siret"] = SIRET_OTHER if own else SIRET_THIRD
    else:
        body = application(siret=SIRET_OTHER if own else SIRET_THIRD)
    who = "broker_a" if own else "broker_b"
    answer = world.http.post("/api/v1/quotes", json=body, headers=world.auth(who))
    assert answer.status_code == 201, answer.text
    number: str = answer.json()["quote_number"]
    return number


def portfolio_run(world: ApiWorld) -> str:
    """A new portfolio run, queued by the actuary (the insurer's: no tenant owns a run)."""
    body = {"years": 100, "seed": 1}
    answer = world.http.post("/api/v1/portfolio/runs", json=body, headers=world.auth("actuary"))
    assert answer.status_code == 202, answer.text
    run_id: str = answer.json()["id"]
    return run_id


def webhook(world: ApiWorld, own: bool) -> int:
    """A new webhook of brokerage A (own) or of brokerage B (foreign)."""
    body = {"url": "http://127.0.0.1:9/hook", "events": ["policy.bound"]}
    who = "broker_a" if own else "broker_b"
    answer = world.http.post("/api/v1/webhooks", json=body, headers=world.auth(who))
    assert answer.status_code == 201, answer.text
    endpoint_id: int = answer.json()["id"]
    return endpoint_id


def _get(path: str) -> Request:
    return lambda world, own: (path, {})


INSURER_SEES_ALL = (200, 200)
TENANT_SEES_OWN = (200, 404)

MATRIX: dict[tuple[str, str], Case] = {
    # ---- public
    ("GET", "/api/v1/openapi.json"): Case({"anonymous": 200}, _get("/api/v1/openapi.json"), True),
    ("GET", "/api/docs"): Case({"anonymous": 200}, _get("/api/docs"), True),
    ("GET", "/api/docs/init.js"): Case({"anonymous": 200}, _get("/api/docs/init.js"), True),
    ("GET", "/api/docs/static"): Case(
        {"anonymous": 200}, _get("/api/docs/static/swagger-ui.css"), True
    ),
    ("POST", "/api/v1/oauth/token"): Case(
        {"anonymous": 400}, lambda w, own: ("/api/v1/oauth/token", {"data": {}}), True
    ),
    # ---- product
    ("GET", "/api/v1/product"): Case(every(200), _get("/api/v1/product")),
    # ---- quotes
    ("POST", "/api/v1/quotes"): Case(
        every(201, claims_handler=403, actuary=403),
        lambda w, own: ("/api/v1/quotes", {"json": application(siret=SIRET_OTHER)}),
    ),
    ("GET", "/api/v1/quotes"): Case(every(200), _get("/api/v1/quotes")),
    ("GET", "/api/v1/quotes/{number}"): Case(
        every(INSURER_SEES_ALL, broker_a=TENANT_SEES_OWN, manager=TENANT_SEES_OWN),
        lambda w, own: (f"/api/v1/quotes/{quote(w, own)}", {}),
    ),
    ("POST", "/api/v1/quotes/{number}/approve"): Case(
        every((403, 403), underwriter=INSURER_SEES_ALL, broker_a=(403, 404), manager=(403, 404)),
        lambda w, own: (
            f"/api/v1/quotes/{quote(w, own, referred=True)}/approve",
            {"json": {"note": "vu"}},
        ),
    ),
    ("POST", "/api/v1/quotes/{number}/decline"): Case(
        every((403, 403), underwriter=INSURER_SEES_ALL, broker_a=(403, 404), manager=(403, 404)),
        lambda w, own: (
            f"/api/v1/quotes/{quote(w, own, referred=True)}/decline",
            {"json": {"note": "non"}},
        ),
    ),
    # ---- portfolio runs (the book: the insurer's underwriters and actuaries read, actuaries run;
    # a queued run has no EP curves nor ORD tables yet: 409 for those who may read it)
    ("POST", "/api/v1/portfolio/runs"): Case(
        every(403, actuary=202),
        lambda w, own: ("/api/v1/portfolio/runs", {"json": {"years": 100, "seed": 1}}),
    ),
    ("GET", "/api/v1/portfolio/runs/{run_id}"): Case(
        every(403, underwriter=200, actuary=200),
        lambda w, own: (f"/api/v1/portfolio/runs/{portfolio_run(w)}", {}),
    ),
    ("GET", "/api/v1/portfolio/runs/{run_id}/ep.png"): Case(
        every(403, underwriter=409, actuary=409),
        lambda w, own: (f"/api/v1/portfolio/runs/{portfolio_run(w)}/ep.png", {}),
    ),
    ("GET", "/api/v1/portfolio/runs/{run_id}/ord.zip"): Case(
        every(403, underwriter=409, actuary=409),
        lambda w, own: (f"/api/v1/portfolio/runs/{portfolio_run(w)}/ord.zip", {}),
    ),
    # ---- webhooks (an organisation's own: brokers and managers here, the insurer's admins too)
    ("POST", "/api/v1/webhooks"): Case(
        every(403, broker_a=201, manager=201),
        lambda w, own: (
            "/api/v1/webhooks",
            {"json": {"url": "http://127.0.0.1:9/hook", "events": ["policy.bound"]}},
        ),
    ),
    ("GET", "/api/v1/webhooks"): Case(
        every(403, broker_a=200, manager=200), _get("/api/v1/webhooks")
    ),
    ("DELETE", "/api/v1/webhooks/{endpoint_id}"): Case(
        # own: brokerage A's webhook; the clinic's manager is another organisation: 404
        every((403, 403), broker_a=(204, 404), manager=(404, 404)),
        lambda w, own: (f"/api/v1/webhooks/{webhook(w, own)}", {}),
    ),
}

MATRIX.update({route: Case(expected, request) for route, (expected, request) in ROWS.items()})


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            found.add(("GET", prefix + route.path))
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, prefix + route.path))
        else:  # an included router (FastAPI wraps them: its routes under its prefix)
            inner, context = (
                getattr(route, "original_router", None),
                getattr(route, "include_context", None),
            )
            assert inner is not None and context is not None, f"unknown kind of route {route!r}"
            found |= _walk(inner.routes, prefix + context.prefix)
    return found


def route_table(world: ApiWorld) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers under /api (HEAD and OPTIONS aside); the
    web application's pages have their own table (tests/test_web.py, WEB_ROUTES)."""
    return {r for r in _walk(list(world.app.routes)) if r[1].startswith("/api")}


def test_the_matrix_names_every_route_of_the_app(api_world: ApiWorld) -> None:
    routes = route_table(api_world)
    assert routes - set(MATRIX) == set(), "routes missing from MATRIX in tests/test_api_matrix.py"
    assert set(MATRIX) - routes == set(), "MATRIX names routes the app does not have"


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda v: str(v))
def test_each_role_gets_the_expected_status_on_own_and_foreign_objects(
    api_world: ApiWorld, method: str, path: str
) -> None:
    case = MATRIX[(method, path)]
    got: dict[str, Expected] = {}
    if case.public:
        url, kwargs = case.request(api_world, True)
        got["anonymous"] = api_world.http.request(method, url, **kwargs).status_code
        assert got == dict(case.expected)
        return
    url, kwargs = case.request(api_world, True)
    assert api_world.http.request(method, url, **kwargs).status_code == 401
    for role in ROLES:
        expected = case.expected[role]
        sides = (True, False) if isinstance(expected, tuple) else (True,)
        statuses = []
        for own in sides:
            url, kwargs = case.request(api_world, own)
            headers = {**kwargs.pop("headers", {}), **api_world.auth(role)}
            statuses.append(
                api_world.http.request(method, url, headers=headers, **kwargs).status_code
            )
        got[role] = tuple(statuses) if isinstance(expected, tuple) else statuses[0]  # type: ignore[assignment]
    assert got == dict(case.expected)
