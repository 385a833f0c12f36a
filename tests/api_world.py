"""A small installation for the policy and claim API tests: two brokerages, the demo practice
(brokered by the first), the insurer's staff, each as an API client holding every scope, and a
way to call the API as any of them (OAuth2 client credentials through the token endpoint).

Tokens are issued at the clock's now (``EGIDE_NOW``) and expire an hour later, so the tokens are
cached per clock value: a test that moves the clock gets fresh ones."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from httpx import Response

from egide.db.uow import SqlUnitOfWork
from egide.domain.access import Scope
from egide.services import accounts

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"
CLAIM = REPO / "examples" / "claims" / "fuite-donnees-cabinet.yaml"
DEMO_SIRET = "73282932000074"
ALL_SCOPES = [s.value for s in Scope]

# The README's dates: bind on 10 January 2027, the claim the day after the leak was found.
BIND_NOW = "2027-01-10T09:00:00+01:00"
CLAIM_NOW = "2027-03-16T18:00:00+01:00"
RENEW_NOW = "2027-12-01T09:00:00+01:00"


def problem(r: Response, status: int) -> dict[str, Any]:
    """The body of a problem response, checked: its status and its media type."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def demo_application() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    return data


def claim_declaration() -> dict[str, Any]:
    """The product sheet's claim as JSON (YAML's datetimes as ISO text, as a JSON body has)."""
    data = yaml.safe_load(CLAIM.read_text(encoding="utf-8"))
    return _jsonable(data)  # type: ignore[no-any-return]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass
class ApiWorld:
    http: Any  # a TestClient or an httpx.Client on a running server
    credentials: dict[str, tuple[str, str]]  # role name -> (client id, secret)
    organisations: dict[str, int]
    tokens: dict[tuple[str, str | None], str] = field(default_factory=dict)

    def token(self, who: str) -> str:
        clock = os.environ.get("EGIDE_NOW")
        if (who, clock) not in self.tokens:
            client_id, secret = self.credentials[who]
            r = self.http.post(
                "/api/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert r.status_code == 200, r.text
            self.tokens[(who, clock)] = r.json()["access_token"]
        return self.tokens[(who, clock)]

    def headers(
        self, who: str, key: str | None = None, if_match: str | None = None
    ) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token(who)}"}
        if key is not None:
            h["Idempotency-Key"] = key
        if if_match is not None:
            h["If-Match"] = if_match
        return h

    def post(
        self,
        who: str,
        path: str,
        body: Any,
        key: str | None = None,
        if_match: str | None = None,
    ) -> Response:
        r: Response = self.http.post(
            f"/api/v1{path}", json=body, headers=self.headers(who, key, if_match)
        )
        return r

    def get(self, who: str, path: str, **params: Any) -> Response:
        r: Response = self.http.get(f"/api/v1{path}", params=params, headers=self.headers(who))
        return r

    # ------------------------------------------------------------------ the usual steps

    def save_quote(self, who: str = "broker_a", data: dict[str, Any] | None = None) -> str:
        r = self.post(who, "/quotes", data or demo_application())
        assert r.status_code == 201, r.text
        return str(r.json()["quote_number"])

    def bind(self, quote: str, start: str, who: str = "broker_a", key: str = "bind-1") -> Response:
        return self.post(who, f"/quotes/{quote}/bind", {"start": start}, key=key)

    def bound_policy(self, start: str = "2027-01-10") -> str:
        r = self.bind(self.save_quote(), start, key=f"bind-{uuid.uuid4().hex}")
        assert r.status_code == 201, r.text
        return str(r.json()["policy_number"])


def make_world(url: str, http_for: Any) -> ApiWorld:
    """The accounts on the database at `url`; `http_for` builds the HTTP client (called once)."""
    uow = SqlUnitOfWork.from_url(url)
    operator = accounts.acting_principal(uow, None)
    a = accounts.create_organisation(
        uow, operator, "brokerage", "Courtage A", siren="732829320", orias="07012345"
    )
    b = accounts.create_organisation(
        uow, operator, "brokerage", "Courtage B", siren="552100554", orias="07054321"
    )
    # the demo practice, brokered by A (its quotes and policies are A's)
    practice = accounts.create_organisation(
        uow, operator, "establishment", "Cabinet du Dr Martin", siret=DEMO_SIRET, broker_id=a.id
    )
    insurer = operator.organisation_id
    made: dict[str, tuple[str, str]] = {}
    for name, org, role in (
        ("broker_a", a.id, "broker"),
        ("broker_b", b.id, "broker"),
        ("manager", practice.id, "establishment_manager"),
        ("underwriter", insurer, "underwriter"),
        ("handler", insurer, "claims_handler"),
        ("actuary", insurer, "actuary"),
        ("admin", insurer, "admin"),
    ):
        client, secret = accounts.create_client(uow, operator, org, [role], ALL_SCOPES)
        made[name] = (client.client_id, secret)
    orgs = {"brokerage_a": a.id, "brokerage_b": b.id, "practice": practice.id}
    return ApiWorld(http_for(), made, orgs)


def app_client(url: str) -> TestClient:
    from egide.api.app import create_app
    from egide.settings import Settings

    return TestClient(create_app(Settings.with_environ(database_url=url)))
