"""Webhooks in the services (in-memory fakes): the outbox written with each change, registration
and its secrets, the URL rules, the fan-out to the tenants that may read the object, retries,
leases, the disabling of a failing endpoint, and the time-based events that fire once."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egide.db.tables_webhooks import (
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
    WebhookEventRow,
)
from egide.domain.access import Kind as AccessKind
from egide.domain.access import OrgKind, Principal, Resource, Scope, visible
from egide.domain.errors import InvalidInput, NotAllowed, NotFound
from egide.domain.product import Product
from egide.domain.webhooks import (
    DISABLE_AFTER,
    MAX_ATTEMPTS,
    EventType,
    backoff,
    public_address,
    receives,
)
from egide.services import claims, policies, quotes, webhooks
from egide.services.webhooks import Claimed, Outcome
from tests.fakes import FakeUnitOfWork
from tests.test_claims_domain import claim
from tests.test_tenancy import (
    QUOTED_AT,
    SIRET_OTHER,
    START,
    World,
    build_world,
    practice,
    referred,
)

ALL = [e.value for e in EventType]
DECLARED_AT = "2027-02-22T12:00:00+01:00"  # the day after the brief's incident was discovered


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    from argon2 import PasswordHasher

    from egide.services import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    monkeypatch.delenv("EGIDE_ENV", raising=False)
    return build_world()


def events(uow: FakeUnitOfWork) -> list[WebhookEventRow]:
    return uow.stored(WebhookEventRow)


def types(uow: FakeUnitOfWork) -> list[str]:
    return [e.type for e in events(uow)]


def business(world: World, product: Product, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A referred quote of the manager's establishment (brokered by A), approved, bound,
    endorsed, a claim declared and settled, the policy cancelled."""
    q = quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    quotes.review_quote(world.uow, world.underwriter, q.quote_number, True, "plan reçu")
    bound = policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START)
    number = bound.policy_number
    monkeypatch.setenv("EGIDE_NOW", DECLARED_AT)
    policies.endorse_policy(
        world.uow, world.broker_a, number, "2027-02-23", {"cover.limit": 250_000}
    )
    c = claims.declare_claim(
        world.uow, world.manager, number, claim(incident__patients_affected=12)
    )
    claims.settle_claim(world.uow, world.handler, c.claim_id)
    policies.cancel_policy(world.uow, world.broker_a, number, "2027-06-01")
    return {"quote": q.quote_number, "policy": number, "claim": c.claim_id}


# --------------------------------------------------------------------------- the outbox


def test_each_change_writes_its_event_in_the_same_unit_of_work(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = business(world, product, monkeypatch)
    assert types(world.uow) == [
        "quote.referred",
        "quote.approved",
        "policy.bound",
        "policy.endorsed",
        "claim.declared",
        "claim.settled",
        "policy.cancelled",
    ]
    by_type = {e.type: e for e in events(world.uow)}
    assert by_type["quote.approved"].payload["quote_number"] == made["quote"]
    assert by_type["policy.bound"].payload["policy_number"] == made["policy"]
    assert by_type["claim.settled"].payload["claim_number"] == made["claim"]
    for e in events(world.uow):
        # the tenant of every object: the manager's establishment, brokered by A
        assert (e.establishment_id, e.broker_id) == (world.clinic_of_manager, world.brokerage_a)
    ids = [e.event_id for e in events(world.uow)]
    assert len(set(ids)) == len(ids) and all(i.startswith("msg_") for i in ids)


def test_a_priced_quote_makes_no_event_and_a_declined_one_does(
    world: World, product: Product
) -> None:
    quotes.save_quote(world.uow, world.broker_a, practice(), product)
    assert types(world.uow) == []  # priced, nothing to tell
    q = quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    quotes.review_quote(world.uow, world.underwriter, q.quote_number, False, "pas de PRA")
    assert types(world.uow) == ["quote.referred", "quote.declined"]


def test_payloads_carry_numbers_and_statuses_never_the_declaration(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    business(world, product, monkeypatch)
    allowed_keys = {
        "quote_number", "status", "decision", "product", "valid_until", "policy_number",
        "transaction", "kind", "term", "effective_date", "period_start", "period_end",
        "claim_number", "declared_at", "amount", "payment", "paid_at",
    }  # fmt: skip
    for e in events(world.uow):
        assert set(e.payload) <= allowed_keys, e.type
        text = repr(e.payload)
        for secret_ish in ("ransomware", "it_forensics", "patients", "siret", SIRET_OTHER):
            assert secret_ish not in text


def test_a_change_that_fails_after_its_audit_entry_leaves_no_event(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    quotes.review_quote(world.uow, world.underwriter, q.quote_number, True, "ok")
    before = types(world.uow)
    real = policies._append

    def append_then_crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the transaction and its audit entry (and so its event) written
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(policies, "_append", append_then_crash)
    with pytest.raises(RuntimeError):
        policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START)
    assert types(world.uow) == before  # rolled back with the change: no invented event
    monkeypatch.setattr(policies, "_append", real)
    policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START)
    assert types(world.uow) == [*before, "policy.bound"]  # and none lost


# --------------------------------------------------------------------------- registration


def test_an_admin_a_broker_and_a_manager_register_for_their_own_organisation(
    world: World,
) -> None:
    for who in (world.admin, world.broker_a, world.manager):
        made = webhooks.create_webhook(world.uow, who, "http://127.0.0.1:9/hook", ALL)
        assert made["events"] == ALL and made["enabled"]
        with world.uow:
            row = world.uow.webhooks.endpoint(made["id"])
            assert row is not None and row.organisation_id == who.organisation_id
    for who in (world.underwriter, world.handler, world.actuary):
        with pytest.raises(NotAllowed, match=r"webhooks\.manage"):
            webhooks.create_webhook(world.uow, who, "http://127.0.0.1:9/hook", ALL)


def test_an_api_client_needs_the_webhooks_scope(world: World) -> None:
    client = replace(world.broker_a, kind="client", scopes=frozenset({Scope.QUOTES_READ}))
    with pytest.raises(NotAllowed, match=r"webhooks\.manage"):
        webhooks.create_webhook(world.uow, client, "http://127.0.0.1:9/hook", ALL)
    client = replace(client, scopes=frozenset({Scope.WEBHOOKS_MANAGE}))
    assert webhooks.create_webhook(world.uow, client, "http://127.0.0.1:9/hook", ALL)["id"]


def test_the_secret_is_shown_once_and_is_not_in_the_database(world: World) -> None:
    made = webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/h", ALL)
    secret = made["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert all("secret" not in item for item in webhooks.list_webhooks(world.uow, world.broker_a))
    row = world.uow.stored(WebhookEndpointRow)[0]
    stored = repr({c: getattr(row, c) for c in row.__table__.columns.keys()})  # type: ignore[attr-defined]  # noqa: SIM118
    assert secret not in stored and secret[6:] not in stored
    # the worker derives the same secret to sign
    assert webhooks.signing_secret(row.secret_salt, webhooks._server_key()) == secret
    other = webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/h", ALL)
    assert other["secret"] != secret


def test_another_server_key_derives_another_secret() -> None:
    salt = "ab" * 32
    assert webhooks.signing_secret(salt, b"k" * 32) != webhooks.signing_secret(salt, b"j" * 32)


def test_list_and_delete_see_only_the_organisations_own_webhooks(world: World) -> None:
    mine = webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/a", ALL)
    theirs = webhooks.create_webhook(world.uow, world.broker_b, "http://127.0.0.1:9/b", ALL)
    assert [w["id"] for w in webhooks.list_webhooks(world.uow, world.broker_a)] == [mine["id"]]
    with pytest.raises(NotFound, match=f"webhook {theirs['id']} does not exist"):
        webhooks.delete_webhook(world.uow, world.broker_a, theirs["id"])
    with pytest.raises(NotFound, match="does not exist"):
        webhooks.delete_webhook(world.uow, world.broker_a, 9999)
    webhooks.delete_webhook(world.uow, world.broker_a, mine["id"])
    assert webhooks.list_webhooks(world.uow, world.broker_a) == []
    assert [w["id"] for w in webhooks.list_webhooks(world.uow, world.broker_b)] == [theirs["id"]]


@pytest.mark.parametrize(
    ("url", "events", "fields"),
    [
        ("", ALL, {"url"}),
        ("ftp://example.org/x", ALL, {"url"}),
        ("http://user:pw@example.org/x", ALL, {"url"}),
        ("http://example.org:99999/x", ALL, {"url"}),
        ("http://127.0.0.1/x", [], {"events"}),
        ("http://127.0.0.1/x", ["quote.referred", "quote.eaten"], {"events[1]"}),
        ("nope", "quote.referred", {"url", "events"}),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(
    world: World, url: str, events: object, fields: set[str]
) -> None:
    with pytest.raises(InvalidInput) as exc:
        webhooks.create_webhook(world.uow, world.broker_a, url, events)
    assert {e.field for e in exc.value.errors} == fields
    assert world.uow.stored(WebhookEndpointRow) == []


def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGIDE_ENV", "production")
    monkeypatch.setenv("EGIDE_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.delenv("EGIDE_NOW")  # production refuses a replay clock


def fixed_resolver(*addresses: str) -> webhooks.Resolver:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.4", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "240.0.0.1"],
)  # fmt: skip
def test_production_refuses_urls_that_reach_a_non_public_address(
    world: World, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    production(monkeypatch)
    with pytest.raises(InvalidInput) as exc:
        webhooks.create_webhook(
            world.uow,
            world.broker_a,
            "https://hooks.example.org/x",
            ALL,
            resolver=fixed_resolver("93.184.216.34", address),  # one bad address is enough
        )
    assert [e.rule for e in exc.value.errors] == ["public_address"]


def test_production_accepts_https_to_a_public_address_and_refuses_http(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    production(monkeypatch)
    public = fixed_resolver("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    made = webhooks.create_webhook(
        world.uow, world.broker_a, "https://hooks.example.org/x", ALL, resolver=public
    )
    assert made["secret"].startswith("whsec_")
    with pytest.raises(InvalidInput) as exc:
        webhooks.create_webhook(
            world.uow, world.broker_a, "http://hooks.example.org/x", ALL, resolver=public
        )
    assert [e.rule for e in exc.value.errors] == ["https"]
    with pytest.raises(InvalidInput) as exc:
        webhooks.create_webhook(
            world.uow, world.broker_a, "https://nowhere.invalid/x", ALL, resolver=fixed_resolver()
        )
    assert [e.rule for e in exc.value.errors] == ["resolvable"]


def test_production_without_a_server_key_refuses_to_register(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.settings import UnsafeEnvironment

    production(monkeypatch)
    monkeypatch.delenv("EGIDE_SECRET_KEY")
    with pytest.raises(UnsafeEnvironment, match="EGIDE_SECRET_KEY"):
        webhooks.create_webhook(
            world.uow,
            world.broker_a,
            "https://h.example.org/",
            ALL,
            resolver=fixed_resolver("8.8.8.8"),
        )


def test_outside_production_loopback_and_http_are_accepted(world: World) -> None:
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "https://[::1]:9/x"):
        assert webhooks.create_webhook(world.uow, world.admin, url, ["policy.bound"])["id"]


@given(st.ip_addresses())
def test_an_address_is_public_exactly_when_ipaddress_calls_it_global_and_not_multicast(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    judged = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    assert public_address(str(ip)) == (judged.is_global and not judged.is_multicast)


# --------------------------------------------------------------------------- who receives what


def test_tenants_receive_only_the_events_of_objects_they_may_read(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = {
        who: webhooks.create_webhook(world.uow, p, f"http://127.0.0.1:9/{who}", ALL)["id"]
        for who, p in (
            ("insurer", world.admin),
            ("broker_a", world.broker_a),
            ("broker_b", world.broker_b),
            ("manager", world.manager),
        )
    }
    business(world, product, monkeypatch)
    quotes.save_quote(world.uow, world.broker_b, referred(), product)  # B's own client
    webhooks.dispatch(world.uow, datetime.now(UTC))
    got: dict[str, list[str]] = {}
    by_id = {e.id: e for e in events(world.uow)}
    for d in world.uow.stored(WebhookDeliveryRow):
        name = next(k for k, v in endpoint.items() if v == d.endpoint_id)
        got.setdefault(name, []).append(by_id[d.event_id].type)
    mine = [
        "quote.referred", "quote.approved", "policy.bound", "policy.endorsed",
        "claim.declared", "claim.settled", "policy.cancelled",
    ]  # fmt: skip
    assert got["insurer"] == [*mine, "quote.referred"]
    assert got["broker_a"] == mine
    assert got["manager"] == mine
    assert got["broker_b"] == ["quote.referred"]
    assert all(e.dispatched_at is not None for e in events(world.uow))


def test_an_endpoint_receives_only_the_types_it_asked_for(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/", ["claim.declared"])
    business(world, product, monkeypatch)
    assert webhooks.dispatch(world.uow, datetime.now(UTC)) == 1
    assert webhooks.dispatch(world.uow, datetime.now(UTC)) == 0  # dispatched once


@pytest.mark.parametrize("kind", list(OrgKind))
@given(
    org=st.integers(1, 4),
    establishment=st.one_of(st.none(), st.integers(1, 4)),
    broker=st.one_of(st.none(), st.integers(1, 4)),
)
def test_who_receives_an_event_is_who_may_see_the_object(
    kind: OrgKind, org: int, establishment: int | None, broker: int | None
) -> None:
    principal = Principal("user", "1", org, kind, frozenset())
    expected = (
        visible(principal, Resource(AccessKind.QUOTE, establishment, broker))
        if establishment is not None
        else kind is OrgKind.INSURER  # the book: the insurer only
    )
    assert receives(kind, org, establishment, broker) == expected


# --------------------------------------------------------------------------- delivery on fakes


NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def queued(world: World, product: Product) -> int:
    """One endpoint of A's, one event delivered to it, dispatched; its delivery's id."""
    webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/", ALL)
    quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    webhooks.dispatch(world.uow, NOW)
    [delivery] = world.uow.stored(WebhookDeliveryRow)
    return delivery.id


def failed(c: Claimed, at: datetime, code: int = 503) -> Outcome:
    return Outcome("http_error", code, f"HTTP {code}", 5, at)


def test_a_failed_attempt_is_recorded_and_retried_later_with_backoff_then_given_up(
    world: World, product: Product
) -> None:
    delivery_id = queued(world, product)
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [c] = webhooks.claim(world.uow, "w1", now)
        assert (c.delivery_id, c.attempt) == (delivery_id, attempt)
        assert webhooks.claim(world.uow, "w2", now) == []  # leased: nobody else takes it
        webhooks.record(world.uow, c, failed(c, now), "w1", now)
        [d] = world.uow.stored(WebhookDeliveryRow)
        if attempt < MAX_ATTEMPTS:
            wait = d.next_attempt_at - now
            plain = min(timedelta(seconds=5) * 4 ** (attempt - 1), timedelta(hours=6))
            assert plain / 2 <= wait <= plain
            assert webhooks.claim(world.uow, "w1", now) == []  # not due yet
            now = d.next_attempt_at
    [d] = world.uow.stored(WebhookDeliveryRow)
    assert (d.status, d.attempts, d.response_code) == ("failed", MAX_ATTEMPTS, 503)
    assert [a.attempt for a in world.uow.stored(WebhookAttemptRow)] == list(
        range(1, MAX_ATTEMPTS + 1)
    )


def test_a_success_delivers_and_resets_the_endpoints_failures(
    world: World, product: Product
) -> None:
    queued(world, product)
    [c] = webhooks.claim(world.uow, "w1", NOW)
    webhooks.record(world.uow, c, failed(c, NOW), "w1", NOW)
    assert world.uow.stored(WebhookEndpointRow)[0].failures == 1
    later = NOW + timedelta(hours=1)
    [c] = webhooks.claim(world.uow, "w1", later)
    webhooks.record(world.uow, c, Outcome("ok", 204, None, 3, later), "w1", later)
    [d] = world.uow.stored(WebhookDeliveryRow)
    assert (d.status, d.delivered_at, d.lease_owner) == ("delivered", later, None)
    assert world.uow.stored(WebhookEndpointRow)[0].failures == 0
    assert webhooks.claim(world.uow, "w1", later + timedelta(days=1)) == []


def test_an_expired_lease_lets_another_worker_deliver_with_the_same_id(
    world: World, product: Product
) -> None:
    queued(world, product)
    [first] = webhooks.claim(world.uow, "killed", NOW, lease=timedelta(seconds=60))
    # the worker dies: it never records; before the lease ends nobody else takes it
    assert webhooks.claim(world.uow, "w2", NOW + timedelta(seconds=59)) == []
    [second] = webhooks.claim(world.uow, "w2", NOW + timedelta(seconds=60))
    assert (second.event_id, second.body, second.attempt) == (first.event_id, first.body, 1)
    webhooks.record(world.uow, second, Outcome("ok", 200, None, 1, NOW), "w2", NOW)
    assert world.uow.stored(WebhookDeliveryRow)[0].status == "delivered"


def test_an_endpoint_that_keeps_failing_is_disabled_and_its_deliveries_given_up(
    world: World, product: Product
) -> None:
    webhooks.create_webhook(world.uow, world.broker_a, "http://127.0.0.1:9/", ALL)
    for _ in range(DISABLE_AFTER + 2):
        quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    webhooks.dispatch(world.uow, NOW)
    claimed = webhooks.claim(world.uow, "w1", NOW, limit=DISABLE_AFTER)
    for c in claimed:
        webhooks.record(world.uow, c, failed(c, NOW), "w1", NOW)
    [endpoint] = world.uow.stored(WebhookEndpointRow)
    assert not endpoint.enabled and endpoint.disabled_reason
    assert {d.status for d in world.uow.stored(WebhookDeliveryRow)} == {"failed"}
    assert webhooks.claim(world.uow, "w1", NOW + timedelta(days=1)) == []
    assert webhooks.list_webhooks(world.uow, world.broker_a)[0]["enabled"] is False
    # a later event is not fanned out to it
    quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    assert webhooks.dispatch(world.uow, NOW) == 0


def test_a_deleted_endpoints_pending_deliveries_are_given_up(
    world: World, product: Product
) -> None:
    queued(world, product)
    [endpoint] = world.uow.stored(WebhookEndpointRow)
    webhooks.delete_webhook(world.uow, world.broker_a, endpoint.id)
    assert webhooks.claim(world.uow, "w1", NOW) == []
    assert world.uow.stored(WebhookDeliveryRow)[0].status == "failed"


@given(st.integers(1, 40), st.randoms(use_true_random=False))
def test_backoff_grows_and_stays_under_its_cap(attempt: int, rng: Any) -> None:
    wait = backoff(attempt, rng)
    assert timedelta(0) < wait <= timedelta(hours=6)
    assert wait >= min(timedelta(seconds=5) * 4 ** min(attempt - 1, 20), timedelta(hours=6)) / 2


# --------------------------------------------------------------------------- time-based events


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_renewal_due_fires_once_sixty_days_before_the_term_ends(
    world: World, product: Product
) -> None:
    q = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    bound = policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START)
    assert webhooks.scan_time_events(world.uow, paris("2027-11-01T23:00:00+01:00")) == 0
    assert webhooks.scan_time_events(world.uow, paris("2027-11-02T00:00:00+01:00")) == 1
    assert webhooks.scan_time_events(world.uow, paris("2027-12-20T00:00:00+01:00")) == 0
    [e] = [e for e in events(world.uow) if e.type == "policy.renewal_due"]
    assert e.payload == {
        "policy_number": bound.policy_number,
        "period_end": "2028-01-01",
        "renewal_due_from": "2027-11-02",
    }
    assert e.dedup_key == f"policy.renewal_due:{bound.policy_number}:2028-01-01"


def test_a_deadline_approaching_fires_once_a_day_before_it_is_due(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = quotes.save_quote(world.uow, world.broker_a, practice(SIRET_OTHER), product)
    bound = policies.bind_quote(world.uow, world.broker_a, q.quote_number, start=START)
    monkeypatch.setenv("EGIDE_NOW", DECLARED_AT)
    c = claims.declare_claim(
        world.uow, world.manager, bound.policy_number, claim(incident__patients_affected=12)
    )
    # discovered 21 February 07:30: the CNIL's 72 hours end on 24 February 07:30
    assert webhooks.scan_time_events(world.uow, paris("2027-02-23T07:29:00+01:00")) == 0
    assert webhooks.scan_time_events(world.uow, paris("2027-02-23T07:30:00+01:00")) == 1
    assert webhooks.scan_time_events(world.uow, paris("2027-02-24T07:00:00+01:00")) == 0
    [e] = [e for e in events(world.uow) if e.type == "claim.deadline_approaching"]
    assert e.payload["deadline"] == "cnil_notification"
    assert e.payload["due_at"] == "2027-02-24T07:30:00+01:00"
    assert (e.object_number, e.establishment_id) == (c.claim_id, world.clinic_of_manager)


# --------------------------------------------------------------------------- the sender


def a_claim(url: str) -> Claimed:
    return Claimed(1, 1, "msg_1", url, b'{"type":"policy.bound"}', "whsec_" + "A" * 44)


def test_in_production_a_delivery_connects_to_the_address_it_checked() -> None:
    import httpx

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    sender = webhooks.Sender(
        httpx.Client(transport=httpx.MockTransport(answer)),
        production=True,
        resolver=fixed_resolver("93.184.216.34"),
    )
    outcome = sender.send(a_claim("https://hooks.example.org:8443/in?x=1"))
    assert outcome.ok
    [request] = seen
    assert str(request.url) == "https://93.184.216.34:8443/in?x=1"  # pinned: no second lookup
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"  # TLS checks the name
    assert request.headers["webhook-id"] == "msg_1"


def test_in_production_a_delivery_to_a_host_now_resolving_inside_is_refused_unsent() -> None:
    import httpx

    seen: list[httpx.Request] = []
    sender = webhooks.Sender(
        httpx.Client(
            transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))
        ),
        production=True,
        resolver=fixed_resolver("10.0.0.7"),  # the DNS answer changed after registration
    )
    outcome = sender.send(a_claim("https://hooks.example.org/in"))
    assert (outcome.status, seen) == ("refused", [])
    assert outcome.error is not None and "10.0.0.7" in outcome.error


def test_a_redirect_is_not_followed_and_counts_as_a_failure() -> None:
    import httpx

    sender = webhooks.Sender(
        httpx.Client(
            transport=httpx.MockTransport(
                lambda r: httpx.Response(307, headers={"location": "http://10.0.0.1/"})
            )
        ),
        production=False,
    )
    outcome = sender.send(a_claim("http://127.0.0.1:9/in"))
    assert (outcome.status, outcome.code) == ("http_error", 307)
