"""OAuth 2.0 client credentials, bearer tokens and the token endpoint's rate limit."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from egide.api.ratelimit import TokenRateLimiter
from egide.domain.access import local_operator
from egide.domain.errors import NotAuthenticated
from egide.services import accounts, tokens
from egide.settings import Settings
from tests.api_support import ALL_SCOPES, ApiWorld, api_world, application, make_world

__all__ = ["api_world"]
TOKEN_URL = "/api/v1/oauth/token"


def test_a_client_gets_a_bearer_token_carrying_all_its_scopes(api_world: ApiWorld) -> None:
    cid, secret = api_world.clients["broker_a"]
    answer = api_world.token(cid, secret)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"].split() == sorted(ALL_SCOPES)
    assert body["access_token"].startswith("egt_") and len(body["access_token"]) > 40
    assert answer.headers["cache-control"] == "no-store"
    products = api_world.http.get(
        "/api/v1/product", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert products.status_code == 200 and products.json()["product"]


def test_http_basic_authenticates_the_client_as_the_body_does(api_world: ApiWorld) -> None:
    cid, secret = api_world.clients["broker_a"]
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    answer = api_world.http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text
    wrong = base64.b64encode(f"{cid}:nope".encode()).decode()
    refused = api_world.http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")


def test_a_wrong_secret_or_an_unknown_client_is_invalid_client_alike(api_world: ApiWorld) -> None:
    cid, _ = api_world.clients["broker_a"]
    wrong = api_world.token(cid, "egs_wrong")
    unknown = api_world.token("egc_unknown", "egs_wrong")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert answer.json() == {
            "error": "invalid_client",
            "error_description": "invalid client credentials",
        }


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"client_id": "a", "client_secret": "b"}, "invalid_request"),
        (
            {"grant_type": "password", "client_id": "a", "client_secret": "b"},
            "unsupported_grant_type",
        ),
        ({"grant_type": "client_credentials", "client_id": "a"}, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_id": "a" * 300, "client_secret": "b"},
            "invalid_request",
        ),
    ],
)
def test_malformed_token_requests_get_rfc_6749_errors(
    api_world: ApiWorld, data: dict[str, str], error: str
) -> None:
    answer = api_world.http.post(TOKEN_URL, data=data)
    assert answer.status_code == 400
    assert answer.json()["error"] == error


def test_a_token_carries_only_the_scopes_asked_for(api_world: ApiWorld) -> None:
    cid, secret = api_world.clients["broker_a"]
    answer = api_world.token(cid, secret, scope="quotes:read")
    assert answer.status_code == 200 and answer.json()["scope"] == "quotes:read"
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert api_world.http.get("/api/v1/quotes", headers=headers).status_code == 200
    refused = api_world.http.post("/api/v1/quotes", json=application(), headers=headers)
    assert refused.status_code == 403
    assert "quotes:write" in refused.json()["detail"]


def test_a_scope_the_client_does_not_hold_or_that_does_not_exist_is_invalid_scope(
    api_world: ApiWorld,
) -> None:
    narrow = api_world.new_client(api_world.orgs["brokerage_a"], ["broker"], ["quotes:read"])
    for scope in ("quotes:read quotes:write", "everything"):
        answer = api_world.token(*narrow, scope=scope)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"
    assert api_world.token(*narrow, scope="quotes:read").status_code == 200


def test_without_a_valid_token_every_route_answers_401_with_a_bearer_challenge(
    api_world: ApiWorld,
) -> None:
    for headers in ({}, {"Authorization": "Bearer egt_forged"}, {"Authorization": "Basic eDp5"}):
        answer = api_world.http.get("/api/v1/quotes", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["type"] == "urn:egide:problem:unauthenticated"


def test_a_revoked_clients_token_is_refused_at_the_next_request(api_world: ApiWorld) -> None:
    headers = api_world.auth("broker_a")
    assert api_world.http.get("/api/v1/quotes", headers=headers).status_code == 200
    accounts.revoke_client(api_world.uow(), local_operator(1), api_world.clients["broker_a"][0])
    assert api_world.http.get("/api/v1/quotes", headers=headers).status_code == 401
    assert api_world.token(*api_world.clients["broker_a"]).status_code == 401


def test_a_token_expires_after_its_lifetime(
    api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T10:00:00+01:00")
    token = api_world.token(*api_world.clients["broker_a"]).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T10:59:59+01:00")
    assert api_world.http.get("/api/v1/quotes", headers=headers).status_code == 200
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T11:00:00+01:00")
    assert api_world.http.get("/api/v1/quotes", headers=headers).status_code == 401
    assert tokens.purge_expired(api_world.uow()) >= 1


def test_a_disabled_users_token_stops_working_at_once(api_world: ApiWorld) -> None:
    operator = local_operator(1)
    uow = api_world.uow()
    accounts.create_user(
        uow, operator, 1, "uw@egide.example", "un mot de passe long", ["underwriter"]
    )
    user = accounts.authenticate_user(uow, "uw@egide.example", "un mot de passe long")
    token = tokens.issue_user_token(uow, user, 600)
    assert tokens.principal_of(uow, token).label == "uw@egide.example"
    assert (
        api_world.http.get(
            "/api/v1/quotes", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    accounts.set_user_disabled(uow, operator, "uw@egide.example", True)
    with pytest.raises(NotAuthenticated):
        tokens.principal_of(uow, token)
    assert (
        api_world.http.get(
            "/api/v1/quotes", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_the_database_holds_only_hashes_of_tokens(api_world: ApiWorld) -> None:
    engine = sa.create_engine(api_world.url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM api_tokens")).mappings().all()
        dump = "\n".join(str(dict(r)) for r in rows)
    engine.dispose()
    assert len(rows) == len(api_world.tokens)
    for token in api_world.tokens.values():
        assert token not in dump
        assert hashlib.sha256(token.encode()).hexdigest() in dump


def test_issuing_a_token_records_the_clients_use(api_world: ApiWorld) -> None:
    with api_world.uow() as uow:
        client = uow.accounts.client(api_world.clients["broker_a"][0])
    assert client is not None and client.last_used_at is not None


# ------------------------------------------------------------------ the rate limit


def test_ten_failed_attempts_for_a_client_id_then_429_with_retry_after(
    api_world: ApiWorld,
) -> None:
    cid, secret = api_world.clients["broker_b"]
    for _ in range(10):
        assert api_world.token(cid, "egs_wrong").status_code == 401
    limited = api_world.token(cid, secret)  # even the right secret: the client id is locked
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "slow_down"
    other_cid, other_secret = api_world.clients["manager"]
    assert api_world.token(other_cid, other_secret).status_code == 200


def test_thirty_failed_attempts_from_one_address_then_429_whatever_x_forwarded_for_says(
    api_world: ApiWorld,
) -> None:
    for i in range(30):
        answer = api_world.http.post(
            TOKEN_URL,
            data={
                "grant_type": "client_credentials",
                "client_id": f"egc_{i}",
                "client_secret": "x",
            },
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert answer.status_code == 401
    limited = api_world.token(*api_world.clients["manager"])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_x_forwarded_for_is_believed_only_from_a_configured_proxy() -> None:
    closed = TokenRateLimiter(Settings(database_url="sqlite://"))
    assert closed.address(_request("10.0.0.5", "198.51.100.7")) == "10.0.0.5"
    behind = TokenRateLimiter(Settings(database_url="sqlite://", trusted_proxies="10.0.0.0/8"))
    assert behind.address(_request("10.0.0.5", "198.51.100.7")) == "198.51.100.7"
    # a client cannot pass itself off by prepending addresses: the rightmost untrusted hop wins
    assert behind.address(_request("10.0.0.5", "1.2.3.4, 198.51.100.7, 10.0.0.9")) == (
        "198.51.100.7"
    )
    assert behind.address(_request("192.0.2.1", "198.51.100.7")) == "192.0.2.1"


@pytest.fixture
def tight_world(tmp_path: Path) -> Iterator[ApiWorld]:
    url = f"sqlite:///{tmp_path / 'tight.db'}"
    yield from make_world(url, Settings(database_url=url, token_rate_per_client="2/minute"))


def test_the_rate_limits_come_from_the_settings(tight_world: ApiWorld) -> None:
    cid, _ = tight_world.clients["broker_a"]
    assert [tight_world.token(cid, "egs_x").status_code for _ in range(3)] == [401, 401, 429]


def test_with_a_redis_url_the_counts_go_to_redis_shared_by_every_worker() -> None:
    from limits.storage import MemoryStorage, RedisStorage

    shared = TokenRateLimiter(Settings(database_url="sqlite://", redis_url="redis://cache:6379/0"))
    assert isinstance(shared.limiter.storage, RedisStorage)
    alone = TokenRateLimiter(Settings(database_url="sqlite://"))
    assert isinstance(alone.limiter.storage, MemoryStorage)


@pytest.fixture
def pg_world(pg_url: str) -> Iterator[ApiWorld]:
    worlds = make_world(pg_url)
    world = next(worlds)
    try:
        yield world
    finally:
        world.app.state.engine.dispose()
        worlds.close()


@pytest.mark.postgres
def test_on_postgresql_a_token_works_until_its_client_is_revoked(pg_world: ApiWorld) -> None:
    headers = pg_world.auth("manager")
    assert pg_world.http.get("/api/v1/product", headers=headers).status_code == 200
    accounts.revoke_client(pg_world.uow(), local_operator(1), pg_world.clients["manager"][0])
    assert pg_world.http.get("/api/v1/product", headers=headers).status_code == 401


def test_the_server_forgets_expired_tokens_when_it_starts(
    api_world: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from egide.api.app import create_app

    def count() -> int:
        engine = sa.create_engine(api_world.url)
        with engine.connect() as conn:
            found = int(conn.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar_one())
        engine.dispose()
        return found

    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T10:00:00+01:00")  # before the world's tokens
    api_world.token(*api_world.clients["broker_a"])  # expires at 11:00
    before = count()
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T11:00:00+01:00")
    with TestClient(create_app(Settings(database_url=api_world.url))):
        assert count() == before - 1  # that one only: the world's tokens live on
