"""The services under the API, on the in-memory fakes: bearer tokens and idempotency
reservations."""

from __future__ import annotations

import hashlib

import pytest

from egide.db.tables_policy import IdempotencyRow
from egide.db.tables_tokens import ApiTokenRow
from egide.domain.access import Scope
from egide.domain.errors import NotAllowed, NotAuthenticated
from egide.services import accounts, idempotency, tokens
from tests.fakes import OPERATOR, FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def client(uow: FakeUnitOfWork, scopes: list[str]) -> tuple[str, str]:
    made, secret = accounts.create_client(uow, OPERATOR, 1, ["underwriter"], scopes)
    return made.client_id, secret


def test_a_token_is_stored_as_its_hash_and_reads_back_as_the_clients_principal(
    uow: FakeUnitOfWork,
) -> None:
    cid, secret = client(uow, ["quotes:read", "quotes:write"])
    issued = tokens.issue_client_token(uow, cid, secret, "quotes:read", 600)
    assert "egt_" in issued.access_token and issued.access_token not in repr(issued)
    [row] = uow.stored(ApiTokenRow)
    assert row.token_hash == hashlib.sha256(issued.access_token.encode()).hexdigest()
    who = tokens.principal_of(uow, issued.access_token)
    assert (who.kind, who.id, who.scopes) == ("client", cid, frozenset({Scope.QUOTES_READ}))


def test_a_failed_issue_stores_nothing(uow: FakeUnitOfWork) -> None:
    cid, secret = client(uow, ["quotes:read"])
    with pytest.raises(NotAllowed):
        tokens.issue_client_token(uow, cid, "egs_wrong", None, 600)
    with pytest.raises(tokens.InvalidScope):
        tokens.issue_client_token(uow, cid, secret, "quotes:write", 600)
    assert uow.stored(ApiTokenRow) == []


def test_tokens_of_no_shape_of_ours_are_refused_without_a_lookup(uow: FakeUnitOfWork) -> None:
    for token in ("", "abc", "egt_" + "x" * 300):
        with pytest.raises(NotAuthenticated):
            tokens.principal_of(uow, token)


def test_a_reservation_replays_once_completed_and_is_released_on_failure(
    uow: FakeUnitOfWork,
) -> None:
    request = {"body": {"a": 1}}
    assert idempotency.reserve(uow, 2, "k", "POST /x", request, namespace="http:") is None
    with pytest.raises(idempotency.KeyInFlight):
        idempotency.reserve(uow, 2, "k", "POST /x", request, namespace="http:")
    with pytest.raises(idempotency.KeyReused):
        idempotency.reserve(uow, 2, "k", "POST /x", {"body": {"a": 2}}, namespace="http:")
    # another organisation's key of the same name is its own
    assert idempotency.reserve(uow, 3, "k", "POST /x", request, namespace="http:") is None
    idempotency.complete(uow, 2, "k", {"status": 201}, namespace="http:")
    assert idempotency.reserve(uow, 2, "k", "POST /x", request, namespace="http:") == {
        "status": 201
    }
    idempotency.release(uow, 3, "k", namespace="http:")
    assert {r.key for r in uow.stored(IdempotencyRow)} == {"2:http:k"}


def test_an_abandoned_reservation_is_taken_over_and_old_keys_are_purged(
    uow: FakeUnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T10:00:00+01:00")
    request = {"body": {}}
    assert idempotency.reserve(uow, 2, "lost", "POST /x", request) is None
    monkeypatch.setenv("EGIDE_NOW", "2026-12-07T10:06:00+01:00")  # past IN_FLIGHT_TIMEOUT
    assert idempotency.reserve(uow, 2, "lost", "POST /x", request) is None
    idempotency.complete(uow, 2, "lost", {"ok": True})
    monkeypatch.setenv("EGIDE_NOW", "2026-12-08T10:07:00+01:00")  # past RETENTION
    assert idempotency.purge(uow) == 1
    assert uow.stored(IdempotencyRow) == []
