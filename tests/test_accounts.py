"""Accounts on both backends and through the CLI: the insurer after the migrations, the first
administrator, organisations with checked identifiers, users with Argon2id hashes, API clients
whose secret is shown once, admin-only management, pagination, and no secret in any output."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from egide.cli.main import app
from egide.domain.access import OrgKind, Role, Scope
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.services import accounts
from tests.conftest import make_uow

runner = CliRunner()
ADMIN_PASSWORD = "correct horse battery staple"
PASSWORD = "un mot de passe assez long"


def counts(url: str) -> tuple[int, int, int]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        found = tuple(
            int(conn.execute(sa.text(f"select count(*) from {t}")).scalar_one())
            for t in ("organisations", "users", "api_clients")
        )
    engine.dispose()
    return found  # type: ignore[return-value]


@pytest.fixture
def admin(any_url: str) -> Any:
    accounts.bootstrap_admin(make_uow(any_url), "Admin@Egide.example", ADMIN_PASSWORD)
    return accounts.acting_principal(make_uow(any_url), "admin@egide.example")


def test_the_insurer_exists_after_the_migrations_and_the_operator_acts_for_it(
    any_url: str,
) -> None:
    operator = accounts.acting_principal(make_uow(any_url), None)
    assert operator.organisation_kind is OrgKind.INSURER
    assert operator.roles == frozenset(Role)
    assert operator.history_label() == "local operator"
    assert counts(any_url) == (1, 0, 0)


def test_the_first_administrator_is_created_once(any_url: str, admin: Any) -> None:
    assert admin.roles == frozenset({Role.ADMIN})
    assert admin.history_label() == "local operator as admin@egide.example"
    with pytest.raises(Conflict, match="administrator exists"):
        accounts.bootstrap_admin(make_uow(any_url), "other@egide.example", ADMIN_PASSWORD)


def test_a_brokerage_its_client_and_their_people(any_url: str, admin: Any) -> None:
    uow = lambda: make_uow(any_url)  # noqa: E731
    brokerage = accounts.create_organisation(
        uow(), admin, "brokerage", "Courtage Santé Conseil", siren="732829320", orias="07012345"
    )
    practice = accounts.create_organisation(
        uow(),
        admin,
        "establishment",
        "Cabinet du Dr Martin",
        siret="73282932000074",
        broker_id=brokerage.id,
    )
    assert practice.broker_id == brokerage.id
    claire = accounts.create_user(
        uow(), admin, brokerage.id, "Claire@Courtage.example", PASSWORD, ["broker"]
    )
    assert claire.email == "claire@courtage.example"
    assert claire.password_hash.startswith("$argon2id$") and PASSWORD not in claire.password_hash
    principal = accounts.authenticate_user(uow(), "CLAIRE@courtage.example", PASSWORD)
    assert (principal.organisation_id, principal.roles) == (brokerage.id, frozenset({Role.BROKER}))
    with pytest.raises(NotAllowed, match="invalid email or password"):
        accounts.authenticate_user(uow(), "claire@courtage.example", PASSWORD + "!")
    with pytest.raises(NotAllowed, match="invalid email or password"):
        accounts.authenticate_user(uow(), "nobody@courtage.example", PASSWORD)
    # a broker manages no accounts: not allowed (exit 4), nothing written
    broker = accounts.acting_principal(uow(), "claire@courtage.example")
    before = counts(any_url)
    with pytest.raises(NotAllowed, match=r"accounts\.manage needs the role admin"):
        accounts.create_organisation(uow(), broker, "brokerage", "X", siren="732829320", orias="1")
    with pytest.raises(NotAllowed):
        accounts.list_users(uow(), broker)
    assert counts(any_url) == before


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"kind": "brokerage", "siren": "732829321", "orias": "07012345"}, "siren", "format"),
        ({"kind": "brokerage", "siren": "732829320", "orias": "0701234"}, "orias", "format"),
        ({"kind": "brokerage", "siren": "732829320"}, "orias", "required"),
        ({"kind": "establishment", "siret": "73282932000075"}, "siret", "format"),
        ({"kind": "establishment"}, "siret", "required"),
        ({"kind": "insurer"}, "kind", "one_insurer"),
        ({"kind": "hospital"}, "kind", "enum"),
        ({"kind": "establishment", "siret": "73282932000074", "broker_id": 1}, "broker", "kind"),
    ],
)
def test_bad_organisations_are_refused_naming_the_field_and_storing_nothing(
    any_url: str, admin: Any, kwargs: dict[str, Any], field: str, rule: str
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    kind = kwargs.pop("kind")
    before = counts(any_url)
    with pytest.raises(InvalidInput) as caught:
        accounts.create_organisation(make_uow(any_url), admin, kind, "Nom", **kwargs)
    assert (field, rule) in {(e.field, e.rule) for e in caught.value.errors}
    assert counts(any_url) == before


@pytest.mark.parametrize(
    ("email", "password", "roles", "field", "rule"),
    [
        ("pas-une-adresse", PASSWORD, ["underwriter"], "email", "format"),
        ("a@b.example", "court", ["underwriter"], "password", "min_length"),
        ("a@b.example", PASSWORD, ["pilot"], "role", "enum"),
        ("a@b.example", PASSWORD, ["broker"], "role", "kind"),  # the insurer has no brokers
        ("a@b.example", PASSWORD, [], "role", "required"),
        ("a\x1b@b.example", PASSWORD, ["actuary"], "email", "control_character"),
    ],
)
def test_bad_users_are_refused_naming_the_field_and_storing_nothing(
    any_url: str, admin: Any, email: str, password: str, roles: list[str], field: str, rule: str
) -> None:
    before = counts(any_url)
    with pytest.raises(InvalidInput) as caught:
        accounts.create_user(
            make_uow(any_url), admin, admin.organisation_id, email, password, roles
        )
    assert (field, rule) in {(e.field, e.rule) for e in caught.value.errors}
    assert counts(any_url) == before


def test_emails_are_unique_whatever_their_case(any_url: str, admin: Any) -> None:
    with pytest.raises(Conflict, match="exists already"):
        accounts.create_user(
            make_uow(any_url),
            admin,
            admin.organisation_id,
            "ADMIN@egide.example",
            PASSWORD,
            ["actuary"],
        )


def test_a_disabled_user_can_neither_log_in_nor_be_acted_as(any_url: str, admin: Any) -> None:
    uow = lambda: make_uow(any_url)  # noqa: E731
    accounts.create_user(
        uow(), admin, admin.organisation_id, "u@egide.example", PASSWORD, ["actuary"]
    )
    accounts.set_user_disabled(uow(), admin, "u@egide.example", True)
    with pytest.raises(NotAllowed):
        accounts.authenticate_user(uow(), "u@egide.example", PASSWORD)
    with pytest.raises(NotAllowed, match="disabled"):
        accounts.acting_principal(uow(), "u@egide.example")
    with pytest.raises(NotFound):
        accounts.acting_principal(uow(), "ghost@egide.example")


def test_an_api_client_secret_is_shown_once_stored_as_a_hash_and_revocable(
    any_url: str, admin: Any
) -> None:
    uow = lambda: make_uow(any_url)  # noqa: E731
    brokerage = accounts.create_organisation(
        uow(), admin, "brokerage", "Courtage", siren="732829320", orias="07012345"
    )
    client, secret = accounts.create_client(
        uow(), admin, brokerage.id, ["broker"], ["quotes:write", "policies:read"]
    )
    assert secret not in json.dumps(client.public()) and secret not in client.secret_hash
    principal = accounts.authenticate_client(uow(), client.client_id, secret)
    assert principal.scopes == frozenset({Scope.QUOTES_WRITE, Scope.POLICIES_READ})
    with pytest.raises(NotAllowed):
        accounts.authenticate_client(uow(), client.client_id, secret[:-1] + "x")
    accounts.revoke_client(uow(), admin, client.client_id)
    with pytest.raises(NotAllowed):
        accounts.authenticate_client(uow(), client.client_id, secret)
    with pytest.raises(InvalidInput) as caught:
        accounts.create_client(uow(), admin, brokerage.id, ["broker"], ["everything"])
    assert caught.value.errors[0].field == "scope"


def test_lists_are_paginated_by_cursor_without_gaps_or_repeats(any_url: str, admin: Any) -> None:
    uow = lambda: make_uow(any_url)  # noqa: E731
    for i in range(5):
        accounts.create_user(
            uow(), admin, admin.organisation_id, f"u{i}@egide.example", PASSWORD, ["actuary"]
        )
    seen, cursor = [], None
    while True:
        page = accounts.list_users(uow(), admin, cursor=cursor, limit=2)
        assert len(page.items) <= 2
        seen += [u.email for u in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["admin@egide.example"] + [f"u{i}@egide.example" for i in range(5)]
    with pytest.raises(InvalidInput, match="cursor"):
        accounts.list_users(uow(), admin, cursor="not-a-cursor")
    with pytest.raises(InvalidInput, match="limit"):
        accounts.list_users(uow(), admin, limit=1000)


# ------------------------------------------------------------------ the CLI


def cli(*args: str, stdin: str | None = None, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout) if "--json" in args and code == 0 else result


def test_the_issue_s_walk_through_through_the_cli(cli_env: str) -> None:
    admin = cli(
        "admin",
        "bootstrap",
        "--email",
        "admin@egide.example",
        "--password-stdin",
        "--json",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert ADMIN_PASSWORD not in json.dumps(admin) and "password_hash" not in admin
    brokerage = cli(
        "org",
        "create",
        "--kind",
        "brokerage",
        "--name",
        "Courtage Santé Conseil",
        "--siren",
        "732829320",
        "--orias",
        "07012345",
        "--json",
        "--as",
        "admin@egide.example",
    )
    practice = cli(
        "org",
        "create",
        "--kind",
        "establishment",
        "--name",
        "Cabinet du Dr Martin",
        "--siret",
        "73282932000074",
        "--broker",
        str(brokerage["id"]),
        "--json",
    )
    assert practice["broker_id"] == brokerage["id"]
    claire = cli(
        "user",
        "create",
        "--org",
        str(brokerage["id"]),
        "--role",
        "broker",
        "--email",
        "claire@courtage.example",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert claire["roles"] == ["broker"]
    created = cli(
        "client",
        "create",
        "--org",
        str(brokerage["id"]),
        "--role",
        "broker",
        "--scope",
        "quotes:write",
        "--scope",
        "policies:read",
        "--json",
    )
    secret = created["client_secret"]
    listed = cli("client", "list", "--json")
    assert (
        secret not in json.dumps(listed) and listed["items"][0]["client_id"] == created["client_id"]
    )
    orgs = cli("org", "list", "--json", "--limit", "2")
    assert [o["kind"] for o in orgs["items"]] == ["insurer", "brokerage"]
    rest = cli("org", "list", "--json", "--cursor", orgs["next_cursor"])
    assert [o["name"] for o in rest["items"]] == ["Cabinet du Dr Martin"] and rest[
        "next_cursor"
    ] is None
    # a broker is not allowed to manage accounts: exit 4 with the reason
    refused = cli("user", "list", "--as", "claire@courtage.example", code=4)
    assert "accounts.manage needs the role admin" in refused.stderr
    # unknown user for --as: does not exist, exit 2
    assert "does not exist" in cli("org", "list", "--as", "ghost@x.example", code=2).stderr
    # a password is never an option, and a bad SIRET is refused naming the field
    cli("user", "create", "--org", "1", "--role", "actuary", "--email", "a@b.example", code=2)
    bad = cli("org", "create", "--kind", "establishment", "--name", "X", "--siret", "1", code=2)
    assert "siret: must be 14 digits" in bad.stderr


def test_the_acting_user_comes_from_egide_as(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli(
        "admin",
        "bootstrap",
        "--email",
        "admin@egide.example",
        "--password-stdin",
        stdin=ADMIN_PASSWORD,
    )
    monkeypatch.setenv("EGIDE_AS", "admin@egide.example")
    cli("user", "disable", "admin@egide.example")
    # now the admin is disabled: acting as it is refused
    assert "disabled" in cli("user", "list", code=4).stderr


def test_the_account_use_cases_run_on_the_in_memory_fakes_too() -> None:
    from egide.db.tables_accounts import OrganisationRow, UserRow
    from tests.fakes import FakeUnitOfWork

    uow = FakeUnitOfWork()
    accounts.bootstrap_admin(uow, "admin@egide.example", ADMIN_PASSWORD)
    admin = accounts.acting_principal(uow, "admin@egide.example")
    brokerage = accounts.create_organisation(
        uow, admin, "brokerage", "Courtage", siren="732829320", orias="07012345"
    )
    accounts.create_user(uow, admin, brokerage.id, "claire@courtage.example", PASSWORD, ["broker"])
    with pytest.raises(Conflict):  # refused inside the transaction: rolled back
        accounts.create_user(
            uow, admin, brokerage.id, "CLAIRE@courtage.example", PASSWORD, ["broker"]
        )
    assert [u.email for u in uow.stored(UserRow)] == [
        "admin@egide.example",
        "claire@courtage.example",
    ]
    first = accounts.list_organisations(uow, admin, limit=1)
    second = accounts.list_organisations(uow, admin, cursor=first.next_cursor, limit=1)
    assert [o.kind for o in first.items + list(second.items)] == [
        OrgKind.INSURER,
        OrgKind.BROKERAGE,
    ]
    assert second.next_cursor is None and len(uow.stored(OrganisationRow)) == 2
    broker = accounts.authenticate_user(uow, "claire@courtage.example", PASSWORD)
    with pytest.raises(NotAllowed):
        accounts.list_organisations(uow, broker)
