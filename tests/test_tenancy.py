"""Tenancy in the services (in-memory fakes): every quote, policy and claim belongs to an
establishment and names its broker of record; another tenant's object is reported exactly like
one that does not exist; roles limit what the visible may be done with; lists never return a
foreign row; idempotency keys are per organisation; the broker of record is cleared for 60 days
and can be transferred by an administrator; the accounts are in the keyed audit trail."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egide.db.tables import QuoteRow
from egide.db.tables_accounts import UserRow
from egide.db.tables_audit import AuditEntryRow
from egide.domain.access import Kind, Principal, visible
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.domain.product import Product
from egide.services import accounts, claims, policies, quotes, tenancy
from egide.services.audit import verify_chain
from egide.services.results import contract
from tests.appdata import base_application, mutate, with_luhn
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR, FakeUnitOfWork
from tests.test_claims_domain import claim

QUOTED_AT = "2026-12-01T10:00:00+01:00"
START = "2027-01-01"
AFTER_INCIDENT = "2027-03-01T10:00:00+01:00"  # the brief's claim was discovered on 21 February
PASSWORD = "correct horse battery staple"
SIRET_MARTIN = "73282932000074"
SIRET_OTHER = with_luhn("4420117620001")  # another valid SIRET (Luhn)
SIRET_THIRD = with_luhn("5521005540002")


@dataclass
class World:
    uow: FakeUnitOfWork
    broker_a: Principal
    broker_b: Principal
    manager: Principal  # of the establishment SIRET_OTHER, brokered by A
    underwriter: Principal
    handler: Principal
    actuary: Principal
    admin: Principal
    brokerage_a: int
    brokerage_b: int
    clinic_of_manager: int


def _user(uow: FakeUnitOfWork, org: int, email: str, roles: list[str]) -> Principal:
    accounts.create_user(uow, OPERATOR, org, email, PASSWORD, roles)
    return accounts.authenticate_user(uow, email, PASSWORD)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    from argon2 import PasswordHasher

    # cheap hashing: these tests are about tenancy (tests/test_accounts.py checks the parameters)
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    monkeypatch.setenv("EGIDE_NOW", QUOTED_AT)
    return build_world()


def build_world() -> World:
    uow = FakeUnitOfWork()
    a = accounts.create_organisation(
        uow, OPERATOR, "brokerage", "Courtage A", siren="732829320", orias="07012345"
    )
    b = accounts.create_organisation(
        uow, OPERATOR, "brokerage", "Courtage B", siren="552100554", orias="07054321"
    )
    est = accounts.create_organisation(
        uow, OPERATOR, "establishment", "Cabinet Durand", siret=SIRET_OTHER, broker_id=a.id
    )
    insurer = OPERATOR.organisation_id
    return World(
        uow=uow,
        broker_a=_user(uow, a.id, "claire@a.example", ["broker"]),
        broker_b=_user(uow, b.id, "paul@b.example", ["broker"]),
        manager=_user(uow, est.id, "dr.durand@cabinet.example", ["establishment_manager"]),
        underwriter=_user(uow, insurer, "uw@egide.example", ["underwriter"]),
        handler=_user(uow, insurer, "claims@egide.example", ["claims_handler"]),
        actuary=_user(uow, insurer, "actuary@egide.example", ["actuary"]),
        admin=_user(uow, insurer, "admin@egide.example", ["admin"]),
        brokerage_a=a.id,
        brokerage_b=b.id,
        clinic_of_manager=est.id,
    )


def practice(siret: str = SIRET_MARTIN, name: str = "Cabinet du Dr Martin") -> dict[str, Any]:
    data = mutate(base_application(limit=100_000), "establishment.siret", siret)
    return mutate(data, "establishment.name", name)


def referred(siret: str = SIRET_MARTIN) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))
    return mutate(data, "establishment.siret", siret)


def test_a_brokers_quote_belongs_to_a_new_establishment_whose_broker_of_record_it_is(
    world: World, product: Product
) -> None:
    q = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    with world.uow:
        org = world.uow.accounts.organisation_by_siret(SIRET_MARTIN)
    assert org is not None and org.kind.value == "establishment"
    assert (org.name, org.broker_id) == ("Cabinet du Dr Martin", world.brokerage_a)
    assert (q["establishment_id"], q["broker_id"]) == (org.id, world.brokerage_a)
    # a later application under another name neither renames nor refuses it
    again = quotes.save_quote(world.uow, world.broker_a, practice(name="SELARL Martin"), product)
    assert again["establishment_id"] == org.id
    assert again["establishment"]["name"] == "SELARL Martin"  # the quote keeps its own name
    with world.uow:
        kept = world.uow.accounts.organisation(org.id)
    assert kept is not None and kept.name == "Cabinet du Dr Martin"


def test_the_insurers_staff_create_an_establishment_without_broker(
    world: World, product: Product
) -> None:
    q = quotes.save_quote(world.uow, world.underwriter, practice(), product)
    assert q["broker_id"] is None
    # and the broker who later places it becomes its broker of record (no other brokerage)
    q2 = quotes.save_quote(world.uow, world.broker_b, practice(), product)
    assert q2["broker_id"] == world.brokerage_b


def test_another_tenants_quote_is_reported_exactly_like_a_missing_one(
    world: World, product: Product
) -> None:
    number = quotes.save_quote(world.uow, world.broker_a, practice(), product)["quote_number"]
    missing = "DEV-20261201-000000"
    for who in (world.broker_b, world.manager):
        with pytest.raises(NotFound) as foreign:
            quotes.get_quote(world.uow, who, number)
        with pytest.raises(NotFound) as unknown:
            quotes.get_quote(world.uow, who, missing)
        assert str(foreign.value) == str(unknown.value).replace(missing, number)
        with pytest.raises(NotFound):
            policies.bind_quote(world.uow, who, number, start=START)
        with pytest.raises(NotFound):
            policies.quote_document(world.uow, who, number)
    # the broker of record and the insurer's staff see it, whatever their role
    for who in (world.broker_a, world.underwriter, world.handler, world.actuary):
        assert quotes.get_quote(world.uow, who, number)["quote_number"] == number


def test_roles_limit_what_a_visible_object_may_be_done_with(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)[
        "quote_number"
    ]
    # an establishment manager cannot approve its own referred quote, nor a claims handler
    for who in (world.manager, world.handler, world.broker_a, world.actuary):
        with pytest.raises(NotAllowed, match=r"quote\.review needs the role underwriter"):
            quotes.review_quote(world.uow, who, number, True, "ok")
    approved = quotes.review_quote(world.uow, world.underwriter, number, True, "plan reçu")
    assert approved["review"]["by"] == "uw@egide.example"
    bound = policies.bind_quote(world.uow, world.broker_a, number, start=START)
    monkeypatch.setenv("EGIDE_NOW", AFTER_INCIDENT)
    # an actuary reads the book but cannot endorse
    with pytest.raises(NotAllowed, match=r"policy\.change"):
        policies.endorse_policy(
            world.uow, world.actuary, bound["policy_number"], START, {"cover.limit": 1_000_000}
        )
    c = contract(claims.declare_claim(world.uow, world.manager, bound["policy_number"], claim()))
    # an underwriter cannot settle; a claims handler can
    with pytest.raises(NotAllowed, match=r"claim\.settle needs the role claims_handler"):
        claims.settle_claim(world.uow, world.underwriter, c["claim_id"])
    assert claims.settle_claim(world.uow, world.handler, c["claim_id"]).status == "open"


def test_an_establishment_manager_quotes_only_for_its_own_siret(
    world: World, product: Product
) -> None:
    with pytest.raises(InvalidInput) as exc:
        quotes.save_quote(world.uow, world.manager, practice(SIRET_MARTIN), product)
    assert [(e.field, e.rule) for e in exc.value.errors] == [
        ("establishment.siret", "own_establishment")
    ]
    with world.uow:
        assert world.uow.quotes.find() == []
        assert world.uow.accounts.organisation_by_siret(SIRET_MARTIN) is None
    own = quotes.save_quote(world.uow, world.manager, practice(SIRET_OTHER), product)
    # the establishment's broker of record keeps it
    assert (own["establishment_id"], own["broker_id"]) == (
        world.clinic_of_manager,
        world.brokerage_a,
    )


def test_a_second_brokerage_is_refused_while_the_first_has_recent_business(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    quotes.save_quote(world.uow, world.broker_a, practice(), product)
    with pytest.raises(Conflict) as exc:
        quotes.save_quote(world.uow, world.broker_b, practice(), product)
    assert isinstance(exc.value, tenancy.BrokerOfRecordConflict)
    assert exc.value.code == "broker_of_record_conflict"
    assert "Courtage A" not in str(exc.value) and "claire" not in str(exc.value)
    with world.uow:
        assert len(world.uow.quotes.find()) == 1
    # 61 days on, A's quote long expired and nothing in force: B may take the establishment
    monkeypatch.setenv("EGIDE_NOW", "2027-01-31T10:00:00+01:00")
    q = quotes.save_quote(world.uow, world.broker_b, practice(), product)
    assert q["broker_id"] == world.brokerage_b
    # the establishment's objects follow its broker of record: A sees none of them now
    assert quotes.list_quotes(world.uow, world.broker_a).items == []
    assert len(quotes.list_quotes(world.uow, world.broker_b).items) == 2
    assert verify_chain(world.uow).clean


def test_a_policy_in_force_through_a_brokerage_keeps_it_broker_of_record(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    q = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    policies.bind_quote(world.uow, world.broker_a, q["quote_number"], start=START)
    monkeypatch.setenv("EGIDE_NOW", "2027-09-01T10:00:00+02:00")  # months later, in force
    with pytest.raises(tenancy.BrokerOfRecordConflict):
        quotes.save_quote(world.uow, world.broker_b, practice(), product)


def test_an_admin_transfers_the_broker_of_record_with_a_note(
    world: World, product: Product
) -> None:
    q = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    bound = policies.bind_quote(world.uow, world.broker_a, q["quote_number"], start=START)
    org = q["establishment_id"]
    with pytest.raises(NotAllowed):
        tenancy.transfer_broker(world.uow, world.broker_b, org, world.brokerage_b, "mine now")
    with pytest.raises(InvalidInput):
        tenancy.transfer_broker(world.uow, world.admin, org, world.brokerage_b, "  ")
    with pytest.raises(InvalidInput):  # an establishment is not a brokerage
        tenancy.transfer_broker(world.uow, world.admin, org, world.clinic_of_manager, "x")
    moved = tenancy.transfer_broker(
        world.uow, world.admin, org, world.brokerage_b, "Lettre de l'assuré du 28/11"
    )
    assert moved.broker_id == world.brokerage_b
    number = bound["policy_number"]
    assert policies.get_policy(world.uow, world.broker_b, number)["policy_number"] == number
    with pytest.raises(NotFound):
        policies.get_policy(world.uow, world.broker_a, number)
    with world.uow:
        (event,) = world.uow.accounts.events(org)
    assert event.note == "Lettre de l'assuré du 28/11" and event.actor == "admin@egide.example"
    assert event.data == {"from_broker_id": world.brokerage_a, "to_broker_id": world.brokerage_b}
    assert verify_chain(world.uow).clean


def test_lists_never_return_a_foreign_row_and_page_without_gaps(
    world: World, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = [
        quotes.save_quote(world.uow, world.broker_a, practice(), product)["quote_number"]
        for _ in range(5)
    ]
    theirs = quotes.save_quote(world.uow, world.manager, referred(SIRET_OTHER), product)
    b_org = world.brokerage_b
    # B has nothing; A pages through its five, newest first, without gap or repeat
    assert quotes.list_quotes(world.uow, world.broker_b).items == []
    seen: list[str] = []
    cursor = None
    while True:
        page = quotes.list_quotes(world.uow, world.broker_a, limit=2, cursor=cursor)
        seen += [q["quote_number"] for q in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    # the manager's establishment is brokered by A: A sees that quote too
    assert seen == [theirs["quote_number"], *reversed(mine)]
    own = quotes.list_quotes(world.uow, world.manager).items
    assert [q["quote_number"] for q in own] == [theirs["quote_number"]]
    referred_only = quotes.list_quotes(world.uow, world.underwriter, status="referred").items
    assert [q["quote_number"] for q in referred_only] == [theirs["quote_number"]]
    # a filter on another establishment than one's own is an empty list, not an error
    other = quotes.list_quotes(world.uow, world.manager, establishment_id=b_org + 100)
    assert other.items == []
    with pytest.raises(InvalidInput):
        quotes.list_quotes(world.uow, world.broker_a, status="lost")
    with pytest.raises(InvalidInput):
        quotes.list_quotes(world.uow, world.broker_a, cursor="not-a-cursor")
    # policies and claims likewise
    bound = policies.bind_quote(world.uow, world.broker_a, mine[0], start=START)
    assert policies.list_policies(world.uow, world.broker_b).items == []
    listed = policies.list_policies(world.uow, world.broker_a).items
    assert [p["policy_number"] for p in listed] == [bound["policy_number"]]
    monkeypatch.setenv("EGIDE_NOW", AFTER_INCIDENT)
    c = contract(claims.declare_claim(world.uow, world.broker_a, bound["policy_number"], claim()))
    assert claims.list_claims(world.uow, world.broker_b).items == []
    (item,) = contract(claims.list_claims(world.uow, world.handler, status="open"))["items"]
    clock = contract(claims.claim_clock(world.uow, world.handler, c["claim_id"]))["deadlines"]
    pending = sorted((d for d in clock if d["done_at"] is None), key=lambda d: d["due_at"])
    assert item["claim_id"] == c["claim_id"]
    assert item["next_deadline"] == (pending[0] if pending else None)
    assert claims.list_claims(world.uow, world.handler, status="closed").items == []


def test_a_foreign_idempotency_key_neither_replays_nor_blocks(
    world: World, product: Product
) -> None:
    qa = quotes.save_quote(world.uow, world.broker_a, practice(), product)
    qb = quotes.save_quote(world.uow, world.manager, practice(SIRET_OTHER), product)
    a = policies.bind_quote(world.uow, world.broker_a, qa["quote_number"], None, "key-1", START)
    # the same key from another organisation: its own bind, not A's response
    b = policies.bind_quote(world.uow, world.manager, qb["quote_number"], None, "key-1", START)
    assert b["policy_number"] != a["policy_number"] and not b.already_bound
    assert b["quote_number"] == qb["quote_number"]
    # and within one organisation the key still replays
    again = policies.bind_quote(world.uow, world.broker_a, qa["quote_number"], None, "key-1", START)
    assert again["policy_number"] == a["policy_number"] and again.already_bound


def test_accounts_logins_and_transfers_are_in_the_keyed_trail(world: World) -> None:
    report = verify_chain(world.uow)
    assert report.clean, report.problems
    tables = {e.record_table for e in world.uow.stored(AuditEntryRow)}
    assert {"organisations", "users"} <= tables
    actions = [(e.record_table, e.action) for e in world.uow.stored(AuditEntryRow)]
    assert ("users", "login") in actions and ("users", "created") in actions
    # a password hash replaced through SQL (an account takeover) is caught
    (row,) = [r for r in world.uow.stored(UserRow) if r.email == "claire@a.example"]
    row.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$forged"
    problems = verify_chain(world.uow).problems
    assert [(p.table, p.number) for p in problems] == [("users", str(row.id))]


def test_a_quote_moved_to_another_tenant_through_sql_is_caught(
    world: World, product: Product
) -> None:
    quotes.save_quote(world.uow, world.broker_a, practice(), product)
    (row,) = world.uow.stored(QuoteRow)
    row.broker_id = world.brokerage_b
    (problem,) = verify_chain(world.uow).problems
    assert problem.table == "quotes" and "differs" in problem.problem


@given(
    saves=st.lists(
        st.tuples(
            st.sampled_from(["broker_a", "broker_b", "manager", "underwriter"]),
            st.sampled_from([SIRET_MARTIN, SIRET_OTHER, SIRET_THIRD]),
        ),
        min_size=1,
        max_size=8,
    )
)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_whatever_was_saved_a_principal_lists_and_reads_exactly_what_it_may_see(
    world: World, product: Product, saves: list[tuple[str, str]]
) -> None:
    """Random saves by random tenants (refusals included): every principal's list is exactly the
    quotes `visible` lets it see, and reading any other one is "does not exist"."""
    world = build_world()  # a fresh installation per example (the fixture set the clock)
    for who, siret in saves:
        # refused: a manager's foreign SIRET, a broker of record's clearance (nothing stored)
        with contextlib.suppress(InvalidInput, Conflict):
            quotes.save_quote(world.uow, getattr(world, who), practice(siret), product)
    with world.uow:
        rows = world.uow.quotes.find()
    for who in ("broker_a", "broker_b", "manager", "underwriter", "actuary"):
        principal = getattr(world, who)
        listed = {
            q["quote_number"] for q in quotes.list_quotes(world.uow, principal, limit=100).items
        }
        may = {r.number for r in rows if visible(principal, tenancy.resource(Kind.QUOTE, r))}
        assert listed == may, who
        for r in rows:
            if r.number in may:
                assert quotes.get_quote(world.uow, principal, r.number)["quote_number"] == r.number
            else:
                with pytest.raises(NotFound):
                    quotes.get_quote(world.uow, principal, r.number)
