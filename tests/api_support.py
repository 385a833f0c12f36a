"""What the API tests share: an app on a fresh database, and a world of tenants with an API client
and a bearer token for each role.

    from tests.api_support import ApiWorld, api_world  # noqa: F401 (the fixture)

    def test_x(api_world: ApiWorld) -> None:
        r = api_world.http.get("/api/v1/quotes", headers=api_world.auth("broker_a"))

`api_world` runs on SQLite in a temporary folder; `make_world(url)` builds one on any database
URL (PostgreSQL through `pg_url`). Roles (`ApiWorld.tokens` keys): ``underwriter``,
``claims_handler``, ``actuary`` (insurer staff, every scope), ``broker_a``, ``broker_b`` (two
brokerages), ``manager`` (an establishment whose broker of record is brokerage A).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from egide.api.app import create_app
from egide.db.uow import SqlUnitOfWork
from egide.domain.access import Scope, local_operator
from egide.services import accounts
from egide.settings import Settings
from tests.appdata import base_application, mutate, with_luhn

ALL_SCOPES = [s.value for s in Scope]
SIRET_CLINIC = "73282932000074"  # the base application's establishment
SIRET_OTHER = "55210055400013"
SIRET_THIRD = with_luhn("4420117620001")


@dataclass
class ApiWorld:
    app: FastAPI
    http: TestClient
    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (id, secret)
    orgs: dict[str, int] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def uow(self) -> SqlUnitOfWork:
        factory = self.app.state.uow_factory
        uow: SqlUnitOfWork = factory()
        return uow

    def token(self, client_id: str, secret: str, scope: str | None = None) -> Any:
        data = {"grant_type": "client_credentials", "client_id": client_id}
        data["client_secret"] = secret
        if scope is not None:
            data["scope"] = scope
        return self.http.post("/api/v1/oauth/token", data=data)

    def new_client(self, org: int, roles: list[str], scopes: list[str]) -> tuple[str, str]:
        operator = local_operator(1)
        client, secret = accounts.create_client(self.uow(), operator, org, roles, scopes)
        return client.client_id, secret


def application(siret: str = SIRET_CLINIC, limit: int = 100_000) -> dict[str, Any]:
    """A small practice's application (accepted: priced), as a JSON body."""
    return mutate(base_application(limit=limit), "establishment.siret", siret)


def make_world(url: str, settings: Settings | None = None) -> Iterator[ApiWorld]:
    app = create_app(settings or Settings(database_url=url))
    with TestClient(app, raise_server_exceptions=False) as http:
        world = ApiWorld(app=app, http=http, url=url)
        operator = local_operator(1)
        a = accounts.create_organisation(
            world.uow(), operator, "brokerage", "Courtage A", siren="732829320", orias="07012345"
        )
        b = accounts.create_organisation(
            world.uow(), operator, "brokerage", "Courtage B", siren="552100554", orias="07054321"
        )
        est = accounts.create_organisation(
            world.uow(),
            operator,
            "establishment",
            "Cabinet Durand",
            siret=SIRET_OTHER,
            broker_id=a.id,
        )
        world.orgs = {"insurer": 1, "brokerage_a": a.id, "brokerage_b": b.id, "clinic": est.id}
        for role, org, roles in (
            ("underwriter", 1, ["underwriter"]),
            ("claims_handler", 1, ["claims_handler"]),
            ("actuary", 1, ["actuary"]),
            ("broker_a", a.id, ["broker"]),
            ("broker_b", b.id, ["broker"]),
            ("manager", est.id, ["establishment_manager"]),
        ):
            cid, secret = world.new_client(org, roles, ALL_SCOPES)
            world.clients[role] = (cid, secret)
            answer = world.token(cid, secret)
            assert answer.status_code == 200, answer.text
            world.tokens[role] = answer.json()["access_token"]
        yield world


@pytest.fixture
def api_world(tmp_path: Path) -> Iterator[ApiWorld]:
    yield from make_world(f"sqlite:///{tmp_path / 'api.db'}")
