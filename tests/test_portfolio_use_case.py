"""The portfolio run as a use case (issue 10, part 7): `run_portfolio_simulation` runs for a
principal who may run the book (an actuary, or an API client of an actuary with the scope
portfolio:run) and refuses every other role before it reads anything; a saved run records who
started it, in its audit digest too; through the CLI, ``--as`` (or EGIDE_AS) chooses the principal
and a broker is refused with exit 4, nothing saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from egide.actuarial.engine import PortfolioResult, simulate_book
from egide.actuarial.systemic import SystemicModel
from egide.cli.main import app
from egide.clock import iso_paris
from egide.db.tables_audit import AuditEntryRow
from egide.db.tables_portfolio import PortfolioRunRow
from egide.domain.access import OrgKind, Principal, Role, Scope, local_operator
from egide.domain.errors import NotAllowed
from egide.domain.product import Product
from egide.services import accounts
from egide.services.audit import verify_chain
from egide.services.portfolio import (
    RUN_STAGES,
    BookFile,
    DatabaseBook,
    EmptyBook,
    PortfolioRun,
    StartedBy,
    get_run,
    run_portfolio_simulation,
)
from egide.services.results import contract
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import FakeUnitOfWork
from tests.test_services_fakes import bind

runner = CliRunner()
INSURER_ID = 1  # the fakes' insurer, as the migrations create it
NONE = SystemicModel.none()
PASSWORD = "un mot de passe assez long"


def person(
    roles: set[Role], org_kind: OrgKind = OrgKind.INSURER, org_id: int = INSURER_ID
) -> Principal:
    return Principal(
        kind="user",
        id="7",
        organisation_id=org_id,
        organisation_kind=org_kind,
        roles=frozenset(roles),
        label="anne@egide.example",
    )


def client(scopes: set[Scope]) -> Principal:
    return Principal(
        kind="client",
        id="cli_actuariat",
        organisation_id=INSURER_ID,
        organisation_kind=OrgKind.INSURER,
        roles=frozenset({Role.ACTUARY}),
        scopes=frozenset(scopes),
        label="cli_actuariat",
    )


def run_db(uow: FakeUnitOfWork, principal: Principal, product: Product, **kw: Any) -> PortfolioRun:
    return run_portfolio_simulation(
        uow, principal, DatabaseBook(), 30, 5, product=product, systemic=NONE, **kw
    )


@pytest.fixture
def booked(product: Product, monkeypatch: pytest.MonkeyPatch) -> FakeUnitOfWork:
    """A fake database holding one policy, the clock on a day it is in force."""
    uow = FakeUnitOfWork()
    bind(uow, product, monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-03-01T12:00:00+01:00")
    return uow


def test_an_actuary_runs_the_database_book_and_the_saved_run_records_who_started_it(
    booked: FakeUnitOfWork, product: Product
) -> None:
    actuary = person({Role.ACTUARY})
    run = run_db(booked, actuary, product, actor="étude trimestrielle")
    assert (run.result.policies, run.result.years, run.result.seed) == (1, 30, 5)
    assert run.book_source.startswith("database, policies in force on 2027-03-01")
    assert run.priced_with == (product.ref,)
    assert run.started_by.description == "anne@egide.example"
    assert (run.started_by.user_id, run.started_by.client_id) == (7, None)
    assert run.started_by.organisation_id == INSURER_ID
    (row,) = booked.stored(PortfolioRunRow)
    # history records the principal, the free-text label beside it
    assert (row.run_id, row.actor) == (run.run_id, "anne@egide.example (étude trimestrielle)")
    (entry,) = [e for e in booked.stored(AuditEntryRow) if e.record_table == "portfolio_runs"]
    assert entry.actor == row.actor
    assert (row.started_by, row.started_by_user_id) == ("anne@egide.example", 7)
    assert row.started_by_organisation_id == INSURER_ID
    # the JSON: the engine's keys unchanged, the run id and who started it added
    public = run.public()
    engine_keys = json.loads(run.result.to_json())
    assert {k: v for k, v in public.items() if k in engine_keys} == engine_keys
    assert set(public) - set(engine_keys) == {"run_id", "started_by"}
    shown = get_run(booked, actuary, str(run.run_id))
    assert shown.started_by == run.started_by
    assert contract(shown)["started_by"] == public["started_by"]
    assert shown.figure("aal") == public["aal"]


def test_a_saved_runs_json_is_byte_for_byte_the_dictionary_get_run_built_before(
    booked: FakeUnitOfWork, product: Product
) -> None:
    actuary = person({Role.ACTUARY})
    run_id = str(run_db(booked, actuary, product).run_id)
    (row,) = booked.stored(PortfolioRunRow)
    # get_run's dictionary as it was built before it was typed, from the same stored row
    legacy = {
        "run_id": row.run_id,
        "created_at": iso_paris(row.created_at),
        "actor": row.actor,
        "book_source": row.book_source,
        "book_sha256": row.book_sha256,
        "product": row.product_ref,
        "risk_model_sha256": row.risk_model_sha256,
        "systemic_model": row.systemic_model,
        **row.result,
        "started_by": StartedBy.of_row(row).public() if row.started_by is not None else None,
    }
    shown = get_run(booked, actuary, run_id)
    assert json.dumps(contract(shown), indent=2) == json.dumps(legacy, indent=2)
    assert shown.figure("aal") == row.result["aal"]
    with pytest.raises(TypeError):  # the saved results are read-only
        shown.results["aal"] = 0  # type: ignore[index]


def test_the_saved_runs_are_read_by_underwriters_and_actuaries_only(
    booked: FakeUnitOfWork, product: Product
) -> None:
    run_id = str(run_db(booked, person({Role.ACTUARY}), product).run_id)
    assert get_run(booked, person({Role.UNDERWRITER}), run_id).run_id == run_id
    for refused in (
        person({Role.BROKER}, OrgKind.BROKERAGE, 2),
        person({Role.CLAIMS_HANDLER, Role.ADMIN}),
        client({Scope.POLICIES_READ}),
    ):
        with pytest.raises(NotAllowed, match=r"book\.read needs the (role|scope)"):
            get_run(booked, refused, run_id)


def test_the_use_case_gives_the_engines_result_for_the_same_book_and_seed(
    booked: FakeUnitOfWork, product: Product
) -> None:
    from datetime import datetime

    from egide.domain.policy import PARIS
    from egide.services.portfolio import book_in_force

    run = run_db(booked, person({Role.ACTUARY}), product, save=False)
    assert run.run_id is None and booked.stored(PortfolioRunRow) == []
    entries, _ = book_in_force(booked, datetime(2027, 3, 1, 12, tzinfo=PARIS))
    direct = simulate_book(entries, product, 30, 5, systemic=NONE)
    assert run.result.to_json() == direct.to_json()
    assert "run_id" not in run.public()


@pytest.mark.parametrize(
    "principal",
    [
        person({Role.BROKER}, OrgKind.BROKERAGE, 2),
        person({Role.ESTABLISHMENT_MANAGER}, OrgKind.ESTABLISHMENT, 3),
        person({Role.UNDERWRITER}),  # reads the book, may not run it
        person({Role.CLAIMS_HANDLER, Role.ADMIN}),
        client({Scope.POLICIES_READ, Scope.QUOTES_READ}),  # an actuary's client without the scope
    ],
    ids=["broker", "establishment_manager", "underwriter", "claims_handler+admin", "no_scope"],
)
def test_every_other_principal_is_refused_before_anything_is_read_or_written(
    booked: FakeUnitOfWork, product: Product, principal: Principal, tmp_path: Path
) -> None:
    with pytest.raises(NotAllowed, match=r"portfolio\.run needs the (role actuary|scope)"):
        run_db(booked, principal, product)
    # refused before the book is read: a file that does not exist is not even looked at
    with pytest.raises(NotAllowed):
        run_portfolio_simulation(
            booked, principal, BookFile(tmp_path / "absent.csv"), 10, 0, product=product
        )
    assert booked.stored(PortfolioRunRow) == []


def test_an_api_client_with_the_scope_runs_and_is_recorded_by_its_client_id(
    booked: FakeUnitOfWork, product: Product
) -> None:
    run = run_db(booked, client({Scope.PORTFOLIO_RUN}), product)
    assert (run.started_by.user_id, run.started_by.client_id) == (None, "cli_actuariat")
    (row,) = booked.stored(PortfolioRunRow)
    assert row.started_by_client_id == "cli_actuariat" and row.started_by_user_id is None


def test_the_local_operator_runs_and_is_recorded_as_such(
    booked: FakeUnitOfWork, product: Product
) -> None:
    run = run_db(booked, local_operator(INSURER_ID), product)
    assert run.started_by.public() == {
        "description": "local operator",
        "user_id": None,
        "client_id": None,
        "organisation_id": INSURER_ID,
    }


def test_an_empty_book_is_refused_and_nothing_is_saved(
    product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = FakeUnitOfWork()
    monkeypatch.setenv("EGIDE_NOW", "2027-03-01T12:00:00+01:00")
    with pytest.raises(EmptyBook, match="no policy in force on 2027-03-01"):
        run_db(uow, local_operator(INSURER_ID), product)
    assert uow.stored(PortfolioRunRow) == []


def test_a_book_file_reports_every_stage_in_order_and_ends_with_the_years_done(
    product: Product,
) -> None:
    seen: list[tuple[str, int, int]] = []
    run = run_portfolio_simulation(
        FakeUnitOfWork(),
        local_operator(INSURER_ID),
        BookFile(EXAMPLES / "book-small.csv"),
        40,
        2,
        product=product,
        systemic=NONE,
        block_years=10,
        save=False,
        on_progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == list(RUN_STAGES)
    assert seen[-1] == ("simulate", 40, 40)
    simulated = [done for stage, done, _ in seen if stage == "simulate"]
    assert simulated == sorted(simulated)
    assert run.book_source == str(EXAMPLES / "book-small.csv") and run.priced_with == ()
    assert run.result.policies > 0


def test_who_started_a_run_is_in_its_audit_digest(booked: FakeUnitOfWork, product: Product) -> None:
    run_db(booked, person({Role.ACTUARY}), product)
    assert verify_chain(booked).clean
    (row,) = booked.stored(PortfolioRunRow)
    row.started_by = "local operator"  # rewritten behind the services' back
    (problem,) = verify_chain(booked).problems
    assert (problem.table, problem.number) == ("portfolio_runs", row.run_id)


# ------------------------------------------------------------------ through the CLI


def runs_stored(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("select count(*) from portfolio_runs")).scalar_one())
    engine.dispose()
    return count


def test_cli_an_actuary_may_run_a_broker_may_not_and_the_run_records_who_started_it(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    practice = EXAMPLES / "cabinet-medical.yaml"
    saved = runner.invoke(app, ["quote", "price", str(practice), "--save", "--quiet"])
    assert saved.exit_code == 0, saved.output
    bound = runner.invoke(app, ["policy", "bind", saved.stdout.strip(), "--quiet"])
    assert bound.exit_code == 0, bound.output
    uow = lambda: make_uow(cli_env)  # noqa: E731
    operator = accounts.acting_principal(uow(), None)
    actuary = accounts.create_user(
        uow(), operator, operator.organisation_id, "Anne@Egide.example", PASSWORD, ["actuary"]
    )
    brokerage = accounts.create_organisation(
        uow(), operator, "brokerage", "Courtage Santé Conseil", siren="732829320", orias="07012345"
    )
    accounts.create_user(
        uow(), operator, brokerage.id, "claire@courtage.example", PASSWORD, ["broker"]
    )
    simulate = ["portfolio", "simulate", "--from-db", "--years", "50", "--seed", "3", "--json"]

    refused = runner.invoke(app, [*simulate, "--as", "claire@courtage.example"])
    assert refused.exit_code == 4, refused.output
    assert "not allowed: portfolio.run needs the role actuary" in refused.stderr
    assert runs_stored(cli_env) == 0

    done = runner.invoke(app, [*simulate, "--as", "anne@egide.example"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["started_by"] == {
        "description": "local operator as anne@egide.example",
        "user_id": actuary.id,
        "client_id": None,
        "organisation_id": operator.organisation_id,
    }
    shown = runner.invoke(app, ["portfolio", "show", out["run_id"], "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["started_by"] == out["started_by"]
    text = runner.invoke(app, ["portfolio", "show", out["run_id"], "--as", "anne@egide.example"])
    assert "Started by local operator as anne@egide.example" in text.stdout
    hidden = runner.invoke(
        app, ["portfolio", "show", out["run_id"], "--as", "claire@courtage.example"]
    )
    assert hidden.exit_code == 4 and "book.read needs the role" in hidden.stderr

    # EGIDE_AS chooses the principal too; without either, the local operator runs it
    monkeypatch.setenv("EGIDE_AS", "claire@courtage.example")
    assert runner.invoke(app, simulate).exit_code == 4
    monkeypatch.delenv("EGIDE_AS")
    as_operator = runner.invoke(app, simulate)
    assert as_operator.exit_code == 0, as_operator.output
    assert json.loads(as_operator.stdout)["started_by"]["description"] == "local operator"
    assert runs_stored(cli_env) == 2
    unknown = runner.invoke(app, [*simulate, "--as", "nobody@egide.example"])
    assert unknown.exit_code == 2 and "does not exist" in unknown.stderr


# ------------------------------------------------------------------ migration 0008


def test_migration_0008_keeps_the_runs_saved_before_and_their_audit_clean(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from egide.db.migrate import alembic_config, upgrade
    from egide.services.portfolio import save_run

    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    result = simulate_book_file(product)
    before = save_run(
        make_uow(any_url), result, fingerprint="0" * 64, book_source="f", product=product, actor="a"
    )
    command.downgrade(alembic_config(any_url), "0007_tenancy")
    engine = sa.create_engine(any_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("portfolio_runs")}
    assert "started_by" not in columns
    upgrade(any_url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("portfolio_runs")}
    engine.dispose()
    assert columns == {c.name for c in PortfolioRunRow.__table__.columns}
    operator = accounts.acting_principal(make_uow(any_url), None)
    assert get_run(make_uow(any_url), operator, before).started_by is None  # not invented
    after = run_portfolio_simulation(
        make_uow(any_url),
        operator,
        BookFile(EXAMPLES / "book-small.csv"),
        20,
        1,
        product=product,
        systemic=NONE,
    )
    shown = get_run(make_uow(any_url), operator, str(after.run_id))
    assert shown.started_by is not None and shown.started_by.description == "local operator"
    report = verify_chain(make_uow(any_url))
    assert report.clean, report.problems


def simulate_book_file(product: Product) -> PortfolioResult:
    from egide.actuarial.engine import simulate
    from egide.services.portfolio import load_book_file

    loaded = load_book_file(EXAMPLES / "book-small.csv", product)
    return simulate(loaded.arrays, 20, 1, systemic=NONE)
