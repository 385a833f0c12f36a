"""Webhooks: registration, the fan-out of the outbox, delivery with retries, and the time scan.

**Registration** (`create_webhook`, `list_webhooks`, `delete_webhook`): an admin of the insurer,
a broker or an establishment manager registers a URL and event types for their own
organisation, which then receives the events of every object its people may read
(`egide.domain.webhooks.receives`). The signing secret (``whsec_`` + base64 of 32 bytes, as
Standard Webhooks) is shown once: it is HMAC-SHA256(server key, the endpoint's random salt), the
server key from ``EGIDE_SECRET_KEY`` (`egide.settings.server_key`), so the database holds only
the salt and a dump of it alone yields no secret. Outside production any http(s) URL is
accepted, loopback included; in production only https URLs whose every resolved address is
public, and each delivery resolves again, checks again and connects to the address it checked
(so a DNS answer changed after registration cannot aim a delivery at the internal network).

**Delivery** (`Worker`): each tick (about a second) the worker fans new events out to the
endpoints that receive them (`dispatch`: one delivery per event and endpoint), claims the due
deliveries with a lease (`claim`: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional update
elsewhere, so two workers never hold the same delivery), posts them with the Standard Webhooks
headers (``webhook-id``: the event's id, the same for every attempt; ``webhook-timestamp``;
``webhook-signature``: ``v1,`` HMAC-SHA256, signed by the `standardwebhooks` library) and short
timeouts, and records every attempt (`record`). A 2xx answer delivers; anything else is retried
with exponential backoff and jitter up to `MAX_ATTEMPTS` (`egide.domain.webhooks`); an endpoint
whose last `DISABLE_AFTER` attempts all failed is disabled and its pending deliveries given up.

**The contract: at least once, with a stable id.** A worker killed after posting but before
recording the answer leaves its lease to expire (`LEASE`), and another worker posts again: the
receiver may see the same ``webhook-id`` twice and must dedupe by it, as Standard Webhooks
recommends. Two different events never share an id. Order between events is not guaranteed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.domain.access import Action, Kind, Principal, Resource, history_actor
from egide.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from egide.domain.webhooks import (
    DEADLINE_HORIZON,
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    MAX_ENDPOINTS_PER_ORGANISATION,
    RENEWAL_HORIZON,
    EventType,
    backoff,
    check_addresses,
    parse_event_types,
    parse_url,
    receives,
)

if TYPE_CHECKING:
    import httpx

    from egide.db.tables_webhooks import WebhookEndpointRow
    from egide.services.ports import UnitOfWork

log = logging.getLogger("egide.webhooks")

WEBHOOKS = Resource(Kind.WEBHOOKS)
SEND_THREADS = 4
# A tick claims BATCH deliveries and posts them on SEND_THREADS threads: at worst two rounds of
# posts that each take connect + write + read timeouts (3 + 5 + 5 s), 26 s, well inside the lease
# (a lease that expired mid-batch would let another worker post again).
BATCH = 2 * SEND_THREADS
LEASE = timedelta(seconds=60)
POLL_SECONDS = 1.0  # the first attempt within about a second of the commit
SCAN_SECONDS = 300.0  # the time-based events: renewals and deadlines


def _timeout() -> httpx.Timeout:
    import httpx

    return httpx.Timeout(5.0, connect=3.0)  # a receiver answers quickly or is retried


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def signing_secret(salt: str, key: bytes) -> str:
    """The endpoint's secret: ``whsec_`` + base64 of HMAC-SHA256(server key, salt)."""
    raw = hmac.new(key, b"egide webhook secret\x00" + bytes.fromhex(salt), hashlib.sha256)
    return "whsec_" + base64.b64encode(raw.digest()).decode("ascii")


def _production() -> bool:
    from egide.settings import is_production

    return is_production()


def _server_key() -> bytes:
    from egide.settings import server_key

    return server_key()


# --------------------------------------------------------------------------- registration


def _endpoint_data(row: WebhookEndpointRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "events": list(row.event_types),
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": iso_paris(row.created_at),
    }


def _check_url(url: object, production: bool, resolver: Resolver) -> str:
    checked = parse_url(url, production)
    if production:
        parts = urlsplit(checked)
        host = parts.hostname or ""
        check_addresses(host, resolver(host, parts.port or 443))
    return checked


def create_webhook(
    uow: UnitOfWork,
    principal: Principal,
    url: object,
    events: object,
    *,
    resolver: Resolver = resolve,
) -> dict[str, Any]:
    """Register `url` for `events` for the principal's organisation; the result holds the
    signing ``secret``, shown this once."""
    from egide.db.tables_webhooks import WebhookEndpointRow
    from egide.services.accounts import require

    require(principal, Action.WEBHOOKS_MANAGE, WEBHOOKS, "webhooks")
    errors: list[FieldError] = []
    checked_url = ""
    types: tuple[EventType, ...] = ()
    try:
        checked_url = _check_url(url, _production(), resolver)
    except InvalidInput as exc:
        errors += exc.errors
    try:
        types = parse_event_types(events)
    except InvalidInput as exc:
        errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    key = _server_key()
    salt = secrets.token_hex(32)
    with uow:
        if len(uow.webhooks.endpoints(principal.organisation_id)) >= MAX_ENDPOINTS_PER_ORGANISATION:
            raise Conflict(
                f"at most {MAX_ENDPOINTS_PER_ORGANISATION} webhooks per organisation: delete one"
            )
        row = WebhookEndpointRow(
            organisation_id=principal.organisation_id,
            url=checked_url,
            event_types=[t.value for t in types],
            secret_salt=salt,
            enabled=True,
            deleted=False,
            failures=0,
            disabled_reason=None,
            created_by=history_actor(principal),
            created_at=clock_now(),
        )
        uow.webhooks.add_endpoint(row)
        uow.commit()
        return {**_endpoint_data(row), "secret": signing_secret(salt, key)}


def list_webhooks(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    """The principal's organisation's webhooks (never their secrets)."""
    from egide.services.accounts import require

    require(principal, Action.WEBHOOKS_MANAGE, WEBHOOKS, "webhooks")
    with uow:
        return [_endpoint_data(r) for r in uow.webhooks.endpoints(principal.organisation_id)]


def _own_endpoint(
    uow: UnitOfWork, principal: Principal, endpoint_id: int, lock: bool = False
) -> WebhookEndpointRow:
    row = uow.webhooks.endpoint(endpoint_id, lock=lock)
    if row is None or row.deleted or row.organisation_id != principal.organisation_id:
        raise NotFound(f"webhook {endpoint_id} does not exist")  # another tenant's: the same
    return row


def delete_webhook(uow: UnitOfWork, principal: Principal, endpoint_id: int) -> None:
    """Delete one of the organisation's webhooks: it receives nothing more (its history of
    deliveries is kept)."""
    from egide.services.accounts import require

    require(principal, Action.WEBHOOKS_MANAGE, WEBHOOKS, "webhooks")
    with uow:
        row = _own_endpoint(uow, principal, endpoint_id, lock=True)
        row.deleted = True
        row.enabled = False
        _give_up_pending(uow, row, "endpoint deleted")
        uow.commit()


def _give_up_pending(uow: UnitOfWork, endpoint: WebhookEndpointRow, why: str) -> None:
    for d in uow.webhooks.deliveries_of(endpoint.id, "pending"):
        d.status = "failed"
        d.last_error = why
        d.lease_owner = d.lease_until = None


# --------------------------------------------------------------------------- the worker's steps


def dispatch(uow: UnitOfWork, now: datetime, limit: int = 200) -> int:
    """Fan the events not yet dispatched out to the endpoints that receive them (enabled,
    subscribed to the type, and whose organisation may read the object); returns the number of
    deliveries created. One transaction: the deliveries and the mark commit together."""
    from egide.db.tables_webhooks import WebhookDeliveryRow
    from egide.domain.access import OrgKind

    created = 0
    with uow:
        events = uow.webhooks.undispatched(limit)
        if not events:
            return 0
        endpoints = [e for e in uow.webhooks.endpoints() if e.enabled]
        kinds: dict[int, OrgKind] = {}
        for e in endpoints:
            if e.organisation_id not in kinds:
                org = uow.accounts.organisation(e.organisation_id)
                if org is not None:
                    kinds[e.organisation_id] = org.kind
        for event in events:
            for e in endpoints:
                kind = kinds.get(e.organisation_id)
                if (
                    kind is not None
                    and event.type in e.event_types
                    and receives(kind, e.organisation_id, event.establishment_id, event.broker_id)
                ):
                    uow.webhooks.add_delivery(
                        WebhookDeliveryRow(
                            event_id=event.id,
                            endpoint_id=e.id,
                            status="pending",
                            attempts=0,
                            next_attempt_at=now,
                            lease_owner=None,
                            lease_until=None,
                            response_code=None,
                            last_error=None,
                            delivered_at=None,
                        )
                    )
                    created += 1
            event.dispatched_at = now
        uow.commit()
    return created


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, with what sending it needs."""

    delivery_id: int
    attempt: int  # the number of this attempt (1-based)
    event_id: str  # the webhook-id
    url: str
    body: bytes
    secret: str


def event_body(type_: str, created_at: datetime, payload: dict[str, Any]) -> bytes:
    """The body, as Standard Webhooks suggests: type, timestamp and data."""
    data = {"type": type_, "timestamp": created_at.astimezone(UTC).isoformat(), "data": payload}
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")


def claim(
    uow: UnitOfWork, owner: str, now: datetime, lease: timedelta = LEASE, limit: int = BATCH
) -> list[Claimed]:
    """Lease the due deliveries to `owner` (committed, so other workers skip them); those of an
    endpoint disabled or deleted meanwhile are given up instead."""
    key = _server_key()
    out: list[Claimed] = []
    with uow:
        for d in uow.webhooks.claim_due(now, owner, now + lease, limit):
            endpoint = uow.webhooks.endpoint(d.endpoint_id)
            event = uow.webhooks.event(d.event_id)
            if endpoint is None or event is None or not endpoint.enabled or endpoint.deleted:
                d.status, d.last_error = "failed", "endpoint disabled or deleted"
                d.lease_owner = d.lease_until = None
                continue
            out.append(
                Claimed(
                    delivery_id=d.id,
                    attempt=d.attempts + 1,
                    event_id=event.event_id,
                    url=endpoint.url,
                    body=event_body(event.type, event.created_at, event.payload),
                    secret=signing_secret(endpoint.secret_salt, key),
                )
            )
        uow.commit()
    return out


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | http_error | network_error | refused
    code: int | None
    error: str | None
    duration_ms: int
    sent_at: datetime

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Sender:
    """Posts one delivery: the Standard Webhooks headers, short timeouts, no redirects; in
    production the host is resolved, every address checked public, and the connection made to
    the checked address (TLS still verified against the host name)."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        production: bool | None = None,
        resolver: Resolver = resolve,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        import httpx

        self.client = client or httpx.Client(timeout=_timeout(), follow_redirects=False)
        self.production = _production() if production is None else production
        self.resolver = resolver
        self.clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        self.client.close()

    def headers(self, c: Claimed, moment: datetime) -> dict[str, str]:
        from standardwebhooks import Webhook

        return {
            "content-type": "application/json",
            "user-agent": "Egide-Webhooks/1",
            "webhook-id": c.event_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(c.secret).sign(c.event_id, moment, c.body),
        }

    def send(self, c: Claimed) -> Outcome:
        import httpx

        moment = self.clock()
        started = time.monotonic()

        def done(status: str, code: int | None = None, error: str | None = None) -> Outcome:
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(status, code, error[:200] if error else None, elapsed, moment)

        headers = self.headers(c, moment)
        target, extensions = c.url, {}
        if self.production:
            parts = urlsplit(c.url)
            host = parts.hostname or ""
            try:
                addresses = self.resolver(host, parts.port or 443)
                check_addresses(host, addresses)
            except InvalidInput as exc:
                return done("refused", error=exc.errors[0].message)
            ip = addresses[0]
            netloc = f"[{ip}]" if ":" in ip else ip
            if parts.port is not None:
                netloc += f":{parts.port}"
            target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
            headers["host"] = parts.netloc
            extensions = {"sni_hostname": host}
        try:
            response = self.client.post(
                target, content=c.body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError as exc:
            return done("network_error", error=type(exc).__name__)
        if 200 <= response.status_code < 300:
            return done("ok", response.status_code)
        return done("http_error", response.status_code, f"HTTP {response.status_code}")


def record(uow: UnitOfWork, c: Claimed, outcome: Outcome, owner: str, now: datetime) -> None:
    """Record one attempt and move the delivery on: delivered, retried later with backoff, or
    given up after `MAX_ATTEMPTS`; the endpoint's run of failures, and its disabling."""
    from egide.db.tables_webhooks import WebhookAttemptRow

    with uow:
        # locks in one order everywhere, the endpoint then its deliveries (deleting or disabling
        # an endpoint gives up its pending deliveries): two recorders never deadlock
        found = uow.webhooks.delivery(c.delivery_id)
        if found is None:  # pragma: no cover - deliveries are never deleted
            return
        endpoint = uow.webhooks.endpoint(found.endpoint_id, lock=True)
        d = uow.webhooks.delivery(c.delivery_id, lock=True)
        assert d is not None
        uow.webhooks.add_attempt(
            WebhookAttemptRow(
                delivery_id=d.id,
                attempt=c.attempt,
                at=outcome.sent_at,
                worker=owner,
                status=outcome.status,
                response_code=outcome.code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        ours = d.lease_owner == owner and d.status == "pending"
        if outcome.ok:
            if d.status != "delivered":
                d.status, d.delivered_at = "delivered", now
            d.response_code, d.last_error = outcome.code, None
            d.attempts = max(d.attempts, c.attempt)
            if endpoint is not None:
                endpoint.failures = 0
        elif ours:  # a lease another worker took over: its own attempt decides
            d.attempts = max(d.attempts, c.attempt)
            d.response_code, d.last_error = outcome.code, outcome.error
            if d.attempts >= MAX_ATTEMPTS:
                d.status = "failed"
            else:
                d.next_attempt_at = now + backoff(d.attempts)
        if not outcome.ok and endpoint is not None:
            endpoint.failures += 1
            if endpoint.enabled and endpoint.failures >= DISABLE_AFTER:
                endpoint.enabled = False
                endpoint.disabled_reason = f"{DISABLE_AFTER} consecutive failed attempts"
                _give_up_pending(uow, endpoint, "endpoint disabled")
        if d.lease_owner == owner:
            d.lease_owner = d.lease_until = None
        uow.commit()


# --------------------------------------------------------------------------- time-based events


SCAN_CHUNK = 50  # objects per transaction: a scan never holds the database for long


def scan_time_events(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Write the time-based events due by `now` (the business clock): policy.renewal_due once
    per term, `RENEWAL_HORIZON` before it ends (a policy in force, not yet renewed);
    claim.deadline_approaching once per legal deadline with a due hour, not met,
    `DEADLINE_HORIZON` before it is due. Each has a dedup key, so scans (and concurrent workers)
    write it once. Objects are read and their events written by chunks of `SCAN_CHUNK`, one
    short transaction each (on SQLite a transaction holds the write lock). Returns the number
    written."""
    moment = now or clock_now()
    with uow:
        policies = [p.number for p in uow.policies.all()]
        open_claims = [c.number for c in uow.claims.find(status="open")]
    written = 0
    for i in range(0, len(policies), SCAN_CHUNK):
        with uow:
            written += sum(_renewal_due(uow, n, moment) for n in policies[i : i + SCAN_CHUNK])
            uow.commit()
    for i in range(0, len(open_claims), SCAN_CHUNK):
        with uow:
            written += sum(_deadlines(uow, n, moment) for n in open_claims[i : i + SCAN_CHUNK])
            uow.commit()
    return written


def _renewal_due(uow: UnitOfWork, number: str, moment: datetime) -> int:
    from egide.services.events import emit
    from egide.services.policies import cover_in_force

    policy = uow.policies.get(number)
    if policy is None:  # pragma: no cover - policies are never deleted
        return 0
    cover = cover_in_force(uow, number, moment)
    if cover.status != "in_force" or moment < cover.period_end - RENEWAL_HORIZON:
        return 0
    end = cover.period_end.date()
    if any(t.period_start >= end for t in uow.policies.transactions(policy)):
        return 0  # renewed already
    return int(
        emit(
            uow,
            EventType.POLICY_RENEWAL_DUE,
            "policy",
            number,
            establishment_id=policy.establishment_id,
            broker_id=policy.broker_id,
            data={
                "policy_number": number,
                "period_end": end,
                "renewal_due_from": (cover.period_end - RENEWAL_HORIZON).date(),
            },
            dedup_key=f"policy.renewal_due:{number}:{end.isoformat()}",
        )
    )


def _deadlines(uow: UnitOfWork, number: str, moment: datetime) -> int:
    from egide.domain.claims import parse_declaration
    from egide.domain.incident_clock import Status, Timing, incident_clock
    from egide.services.events import emit
    from egide.services.products import stored_product

    claim = uow.claims.get(number)
    if claim is None or claim.status != "open":
        return 0
    decl = parse_declaration(claim.declaration, f"claim {number}")
    product = stored_product(uow, claim.product_ref)
    written = 0
    for d in incident_clock(decl, claim.establishment_kind, product, claim.declared_at, moment):
        if d.rule.timing != Timing.FIXED or d.status != Status.DUE:
            continue
        if d.due_at - moment > DEADLINE_HORIZON:
            continue
        due = d.due_at.astimezone(UTC).isoformat()
        written += emit(
            uow,
            EventType.CLAIM_DEADLINE_APPROACHING,
            "claim",
            number,
            establishment_id=claim.establishment_id,
            broker_id=claim.broker_id,
            data={
                "claim_number": number,
                "policy_number": claim.policy_number,
                "deadline": d.code,
                "due_at": iso_paris(d.due_at),
            },
            dedup_key=f"claim.deadline_approaching:{number}:{d.code}:{due}",
        )
    return written


# --------------------------------------------------------------------------- the worker


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """One delivery loop: `run_once` does a tick (dispatch, claim, send, record); `run` loops
    until `stop` is set; `drain` ticks until nothing is due. Its unit of work is its own (one
    thread). The time-based events are scanned apart (`TimeScanner`), so a long scan never
    delays a delivery."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        sender: Sender | None = None,
        lease: timedelta = LEASE,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], datetime] | None = None,
        name: str | None = None,
    ) -> None:
        self.uow = uow
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sender = sender or Sender(clock=self.clock)
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.name = name or worker_name()
        self._pool = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="webhook")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()

    def run_once(self) -> int:
        """One tick; returns the number of attempts made."""
        dispatch(self.uow, self.clock())
        claimed = claim(self.uow, self.name, self.clock(), self.lease)
        if not claimed:
            return 0
        outcomes = list(self._pool.map(self.sender.send, claimed))
        for c, outcome in zip(claimed, outcomes, strict=True):
            record(self.uow, c, outcome, self.name, self.clock())
            log.info(
                "webhook attempt %s #%d of %s: %s %s",
                c.delivery_id,
                c.attempt,
                c.event_id,
                outcome.status,
                outcome.code or "",
            )
        return len(claimed)

    def drain(self, max_ticks: int = 1000) -> int:
        """Tick until a tick makes no attempt (retries not yet due wait: they are not drained)."""
        total = 0
        for _ in range(max_ticks):
            made = self.run_once()
            total += made
            if not made:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                made = self.run_once()
            except Exception:  # a database hiccup must not end the loop; logged without data
                log.exception("webhook worker tick failed")
                made = 0
            if not made:
                stop.wait(self.poll_seconds)


class TimeScanner:
    """Scans for the time-based events every `every` seconds (`scan_time_events`)."""

    def __init__(self, uow: UnitOfWork, every: float = SCAN_SECONDS) -> None:
        self.uow = uow
        self.every = every

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                scan_time_events(self.uow)
            except Exception:
                log.exception("time-based events scan failed")
            stop.wait(self.every)


class Background:
    """A loop run on a daemon thread until `stop()` (the server's in-process worker)."""

    def __init__(self, name: str, loop: Callable[[threading.Event], None]) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=loop, args=(self._stop,), name=name, daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
