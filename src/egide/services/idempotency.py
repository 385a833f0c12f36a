"""Idempotent mutations: a key, the canonical fingerprint of the request, the stored response.

Use it inside the unit of work that does the work, so that the key and the work commit together
(or not at all)::

    with uow:
        result = with_idempotency(uow, key, "policy.endorse", request, lambda: do_the_work())
        uow.commit()

- a new key: the key is claimed (inserted) first, `work()` runs, its response (a JSON-ready dict)
  is stored with the key; the caller commits both at once;
- the same key with the same request (same `scope`, same `request` dict): the stored response is
  returned and `work` does not run;
- the same key with another request: `Conflict` (exit 3 in the CLI).

A failed `work()` (an exception) rolls back with the caller's transaction, key included: a retry
with the same key runs again. Two concurrent requests with one key serialise on the key's primary
key (PostgreSQL makes the second insert wait for the first transaction, then fail; SQLite
serialises writers with BEGIN IMMEDIATE); the loser rolls back and reads the winner's response.

`replay(uow, organisation_id, key, scope, request)` is the read-only check, in its own short
transaction, for callers that do expensive preparation before their write transaction.

Keys are scoped to the organisation of the principal that sends them: stored as
``ORGANISATION_ID:KEY``, so one tenant can neither replay another's response nor reserve its key;
messages name the key as it was sent.

A key reused for another request is `KeyReused`, a `Conflict` (exit 3 in the CLI, 422 over HTTP
as the IETF httpapi draft says).

Reservations, for edges whose use case takes no key (`reserve`, `complete`, `release`; the HTTP
API's `egide.api.idempotency`): the key is claimed in a transaction of its own, committed before
the work starts, so that a concurrent request with the same key sees it "in flight"
(`KeyInFlight`, 409) rather than waiting; the response is stored when the work succeeded, the
reservation released when it failed. The work and the key then commit apart: a crash between
them leaves a reservation without a response, taken over after `IN_FLIGHT_TIMEOUT` (and the work
runs again). Keys are kept `RETENTION` (24 hours) at least; `purge` forgets older ones.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from egide.clock import now
from egide.db.tables_policy import IdempotencyRow
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.policy import canonical_json
from egide.services.ports import UnitOfWork

MAX_KEY_LENGTH = 100
RETENTION = timedelta(hours=24)  # a key replays its response for at least this long
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)  # a reservation older than this was abandoned


class KeyReused(Conflict):
    """The key was used for another request (another body, another operation)."""


class KeyInFlight(Conflict):
    """A request with this key is still being processed."""


def new_key() -> str:
    """A fresh key, for callers that were not given one."""
    return uuid.uuid4().hex


def request_hash(scope: str, request: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"scope": scope, "request": request}).encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or key.strip() != key:
        raise InvalidInput(
            [
                FieldError(
                    "idempotency_key",
                    "format",
                    f"must be 1 to {MAX_KEY_LENGTH} printable characters without surrounding spaces",
                )
            ]
        )


def stored_key(organisation_id: int, key: str) -> str:
    return f"{organisation_id}:{key}"


def _stored(row: IdempotencyRow, key: str, scope: str, fingerprint: str) -> dict[str, Any]:
    if row.request_hash != fingerprint or row.scope != scope:
        raise KeyReused(
            f"idempotency key {key!r} was already used for a different request "
            f"({row.scope}); use a new key for a new request"
        )
    if row.response is None:  # a reservation (`reserve`) whose work has not finished
        raise KeyInFlight(f"idempotency key {key!r} is in use by a request still in progress")
    return dict(row.response)


def replay(
    uow: UnitOfWork, organisation_id: int, key: str, scope: str, request: dict[str, Any]
) -> dict[str, Any] | None:
    """The stored response for this key and request, None for a new key, Conflict for a key used
    by another request. Runs its own transaction."""
    _check_key(key)
    fingerprint = request_hash(scope, request)
    with uow:
        row = uow.idempotency.get(stored_key(organisation_id, key))
        return None if row is None else _stored(row, key, scope, fingerprint)


def with_idempotency(
    uow: UnitOfWork,
    organisation_id: int,
    key: str,
    scope: str,
    request: dict[str, Any],
    work: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run `work` once per key, inside the caller's open unit of work (see the module doc).

    The caller commits. On a lost race for the key this rolls the caller's transaction back and
    returns the winner's response (or raises Conflict), so call it before anything else is
    written in that transaction.
    """
    _check_key(key)
    fingerprint = request_hash(scope, request)
    scoped = stored_key(organisation_id, key)
    existing = uow.idempotency.get(scoped)
    if existing is not None:
        return _stored(existing, key, scope, fingerprint)
    row = IdempotencyRow(
        key=scoped, scope=scope, request_hash=fingerprint, response=None, created_at=now()
    )
    if not uow.idempotency.insert(row):  # lost the race: our transaction was rolled back
        existing = uow.idempotency.get(scoped)
        if existing is None:  # the winner rolled back after our insert failed: let the caller retry
            raise KeyInFlight(f"idempotency key {key!r} is in use by a concurrent request")
        return _stored(existing, key, scope, fingerprint)
    response = work()
    row.response = response
    uow.flush()
    return response


# ------------------------------------------------------------------ reservations (see the doc)


def reserve(
    uow: UnitOfWork,
    organisation_id: int,
    key: str,
    scope: str,
    request: dict[str, Any],
    *,
    namespace: str = "",
) -> dict[str, Any] | None:
    """Claim the key for this request in a transaction of its own: None when claimed (do the
    work, then `complete` or `release`), the stored response of an earlier identical request,
    `KeyReused` for another request, `KeyInFlight` while the other request is still running.
    `namespace` keeps an edge's reservations apart from the keys its use cases store."""
    _check_key(key)
    fingerprint = request_hash(scope, request)
    scoped = stored_key(organisation_id, namespace + key)
    moment = now()
    with uow:
        existing = uow.idempotency.get(scoped)
        if existing is not None:
            stale = moment - existing.created_at > (
                RETENTION if existing.response is not None else IN_FLIGHT_TIMEOUT
            )
            if not stale:
                return _stored(existing, key, scope, fingerprint)
            existing.scope, existing.request_hash = scope, fingerprint  # taken over
            existing.response, existing.created_at = None, moment
            uow.commit()
            return None
        row = IdempotencyRow(
            key=scoped, scope=scope, request_hash=fingerprint, response=None, created_at=moment
        )
        if not uow.idempotency.insert(row):  # a concurrent request claimed it first
            existing = uow.idempotency.get(scoped)
            if existing is None:
                raise KeyInFlight(f"idempotency key {key!r} is in use by a concurrent request")
            return _stored(existing, key, scope, fingerprint)
        uow.commit()
        return None


def complete(
    uow: UnitOfWork,
    organisation_id: int,
    key: str,
    response: dict[str, Any],
    *,
    namespace: str = "",
) -> None:
    """Store the response of a reserved key's work: later requests with the key replay it."""
    with uow:
        row = uow.idempotency.get(stored_key(organisation_id, namespace + key))
        if row is not None:  # always: a reservation is only taken over once stale
            row.response = response
            uow.commit()


def release(uow: UnitOfWork, organisation_id: int, key: str, *, namespace: str = "") -> None:
    """Forget a reserved key whose work failed: a retry with it runs again."""
    with uow:
        row = uow.idempotency.get(stored_key(organisation_id, namespace + key))
        if row is not None and row.response is None:
            uow.idempotency.delete(row)
            uow.commit()


def purge(uow: UnitOfWork) -> int:
    """Forget the keys older than `RETENTION`; how many."""
    with uow:
        count = uow.idempotency.delete_older_than(now() - RETENTION)
        uow.commit()
    return count
