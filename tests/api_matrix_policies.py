"""The policy and claim rows of the authorisation matrix (`tests/test_api_matrix.py`): for each
route, the status each role gets on an object of its own tenant and on another tenant's, and the
request that makes (fresh, when the route changes it) the object to act on.

"Own" objects belong to the clinic (SIRET_OTHER) whose broker of record is brokerage A, "foreign"
ones to an establishment placed by brokerage B. Policies start today (the real clock: the
matrix's world does not freeze it) and claims are discovered a minute ago, inside that period.
Who may do what: `egide.domain.access.RULES` (bind and changes: establishment manager, broker,
underwriter; declare: manager, broker, claims handler; pay: claims handler; reads: everyone);
a role refusal comes before the lookup, so it is 403 on any object.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from egide.clock import now
from tests.api_support import SIRET_OTHER, SIRET_THIRD, ApiWorld, application

Expected = int | tuple[int, int]
Request = Callable[[ApiWorld, bool], tuple[str, dict[str, Any]]]

READ = {
    "underwriter": (200, 200),
    "claims_handler": (200, 200),
    "actuary": (200, 200),
    "broker_a": (200, 404),
    "manager": (200, 404),
}
LIST = {role: 200 for role in READ}
# bind, endorse, cancel, reinstate, renew (POLICY_BIND, POLICY_CHANGE)
CHANGE = {
    "underwriter": (201, 201),
    "claims_handler": (403, 403),
    "actuary": (403, 403),
    "broker_a": (201, 404),
    "manager": (201, 404),
}
DECLARE = {**CHANGE, "underwriter": (403, 403), "claims_handler": (201, 201)}
PAY = {role: (403, 403) for role in READ} | {"claims_handler": (201, 201)}


def _owner(own: bool) -> str:
    return "broker_a" if own else "broker_b"


def _post(world: ApiWorld, who: str, path: str, body: Any) -> dict[str, Any]:
    headers = {**world.auth(who), "Idempotency-Key": uuid.uuid4().hex}
    answer = world.http.post(f"/api/v1{path}", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _today() -> str:
    return now().date().isoformat()


def quote(world: ApiWorld, own: bool) -> str:
    body = application(siret=SIRET_OTHER if own else SIRET_THIRD)
    return str(_post(world, _owner(own), "/quotes", body)["quote_number"])


def policy(world: ApiWorld, own: bool, cancelled: bool = False) -> str:
    """A new policy starting today, cancelled from today if asked."""
    path = f"/quotes/{quote(world, own)}/bind"
    number = str(_post(world, _owner(own), path, {"start": _today()})["policy_number"])
    if cancelled:
        _post(world, _owner(own), f"/policies/{number}/cancellation", {"effective": _today()})
    return number


def declaration() -> dict[str, Any]:
    discovered = now() - timedelta(minutes=1)
    return {
        "incident": {
            "type": "data_leak",
            "started_at": (discovered - timedelta(hours=1)).isoformat(),
            "discovered_at": discovered.isoformat(),
        },
        "costs": [{"category": "it_forensics", "amount": 8400, "supplier": "Expert"}],
    }


def claim(world: ApiWorld, own: bool) -> str:
    body = {"policy_number": policy(world, own), "declaration": declaration()}
    return str(_post(world, _owner(own), "/claims", body)["claim_id"])


def _keyed(body: Any) -> dict[str, Any]:
    return {"json": body, "headers": {"Idempotency-Key": uuid.uuid4().hex}}


def _on_policy(suffix: str, body: Callable[[], Any], cancelled: bool = False) -> Request:
    return lambda w, own: (f"/api/v1/policies/{policy(w, own, cancelled)}{suffix}", _keyed(body()))


ROWS: dict[tuple[str, str], tuple[dict[str, Expected], Request]] = {
    ("POST", "/api/v1/quotes/{number}/bind"): (
        CHANGE,
        lambda w, own: (f"/api/v1/quotes/{quote(w, own)}/bind", _keyed({"start": _today()})),
    ),
    ("GET", "/api/v1/policies"): (LIST, lambda w, own: ("/api/v1/policies", {})),
    ("GET", "/api/v1/policies/{number}"): (
        READ,
        lambda w, own: (f"/api/v1/policies/{policy(w, own)}", {}),
    ),
    ("POST", "/api/v1/policies/{number}/endorsements"): (
        CHANGE,
        _on_policy("/endorsements", lambda: {"effective": _today(), "set": {"security.edr": True}}),
    ),
    ("POST", "/api/v1/policies/{number}/cancellation"): (
        CHANGE,
        _on_policy("/cancellation", lambda: {"effective": _today()}),
    ),
    ("POST", "/api/v1/policies/{number}/reinstatement"): (
        CHANGE,
        _on_policy("/reinstatement", lambda: {"effective": _today()}, cancelled=True),
    ),
    ("POST", "/api/v1/policies/{number}/renewal"): (CHANGE, _on_policy("/renewal", dict)),
    ("GET", "/api/v1/policies/{number}/documents"): (
        READ,
        lambda w, own: (f"/api/v1/policies/{policy(w, own)}/documents", {}),
    ),
    ("GET", "/api/v1/policies/{number}/documents/{kind}"): (
        READ,
        lambda w, own: (
            f"/api/v1/policies/{policy(w, own)}/documents/conditions-particulieres-T1",
            {},
        ),
    ),
    ("POST", "/api/v1/claims"): (
        DECLARE,
        lambda w, own: (
            "/api/v1/claims",
            _keyed({"policy_number": policy(w, own), "declaration": declaration()}),
        ),
    ),
    ("GET", "/api/v1/claims"): (LIST, lambda w, own: ("/api/v1/claims", {})),
    ("GET", "/api/v1/claims/{number}"): (
        READ,
        lambda w, own: (f"/api/v1/claims/{claim(w, own)}", {}),
    ),
    ("GET", "/api/v1/claims/{number}/clock"): (
        READ,
        lambda w, own: (f"/api/v1/claims/{claim(w, own)}/clock", {}),
    ),
    ("GET", "/api/v1/claims/{number}/statement"): (
        READ,
        lambda w, own: (f"/api/v1/claims/{claim(w, own)}/statement", {}),
    ),
    ("POST", "/api/v1/claims/{number}/payments"): (
        PAY,
        lambda w, own: (f"/api/v1/claims/{claim(w, own)}/payments", _keyed({})),
    ),
}
