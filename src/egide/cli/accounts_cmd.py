"""`egide org | user | client | admin`: organisations, their people and API clients.

Every command acts as the local operator, or with ``--as EMAIL`` (or ``EGIDE_AS``) as that user;
managing accounts needs the admin role. Lists print ``{items: [...], next_cursor}`` with
``--json``; ``--cursor`` gives the next page. Passwords are read from standard input
(``--password-stdin``), never from an option, so they stay out of shell history and process lists.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from egide.cli.common import (
    AsOpt,
    CursorOpt,
    JsonOpt,
    LimitOpt,
    acting,
    console,
    fail,
    guarded,
    open_uow,
    print_json,
    print_page,
    styled,
    text_option,
)

if TYPE_CHECKING:
    pass

PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]

org_app = typer.Typer(help="Organisations: brokerages and establishments.", no_args_is_help=True)
user_app = typer.Typer(help="Users of an organisation and their roles.", no_args_is_help=True)
client_app = typer.Typer(help="API clients of an organisation.", no_args_is_help=True)
admin_app = typer.Typer(help="The installation's first administrator.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if not from_stdin:
        fail("--password-stdin: give the password on standard input (it is never an option)")
    text = sys.stdin.readline()
    return text.removesuffix("\n").removesuffix("\r")


@org_app.command("create")
@guarded
def org_create(
    kind: Annotated[str, typer.Option("--kind", help="brokerage | establishment.")],
    name: Annotated[str, typer.Option("--name", help="The organisation's name.")],
    siren: Annotated[str | None, typer.Option("--siren", help="A brokerage's SIREN.")] = None,
    siret: Annotated[str | None, typer.Option("--siret", help="An establishment's SIRET.")] = None,
    orias: Annotated[
        str | None, typer.Option("--orias", help="A brokerage's ORIAS number.")
    ] = None,
    broker: Annotated[
        int | None, typer.Option("--broker", help="An establishment's broker of record (ORG_ID).")
    ] = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a brokerage or an establishment (admin)."""
    from egide.services import accounts

    org = accounts.create_organisation(
        *acting(as_email),
        kind,
        name,
        siren=siren,
        siret=siret,
        orias=orias,
        broker_id=broker,
    )
    if json_out:
        print_json(org.public())
    else:
        console.print(styled("Organisation [bold]{}[/] ({}): {}", org.id, org.kind.value, org.name))


@org_app.command("transfer")
@guarded
def org_transfer(
    establishment: Annotated[int, typer.Argument(help="The establishment organisation's id.")],
    broker: Annotated[
        int | None, typer.Option("--broker", help="The new broker of record (ORG_ID).")
    ] = None,
    direct: Annotated[
        bool, typer.Option("--direct", help="No broker of record: direct business.")
    ] = False,
    note: Annotated[str, text_option("--note", "Why (required; kept in history).")] = "",
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Transfer an establishment, its quotes, policies and claims to another broker (admin)."""
    from egide.services import tenancy

    if (broker is None) == (not direct):
        fail("give either --broker ORG_ID or --direct")
    org = tenancy.transfer_broker(*acting(as_email), establishment, broker, note)
    if json_out:
        print_json(org.public())
    else:
        console.print(
            styled(
                "Organisation [bold]{}[/] ({}): broker of record {}",
                org.id,
                org.name,
                org.broker_id if org.broker_id is not None else "none (direct)",
            )
        )


@org_app.command("list")
@guarded
def org_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 50,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List organisations (admin)."""
    from egide.services import accounts

    page = accounts.list_organisations(*acting(as_email), kind=kind, cursor=cursor, limit=limit)
    print_page(
        page,
        json_out,
        ["Id", "Kind", "Name", "SIREN / SIRET", "ORIAS", "Broker"],
        lambda o: [
            str(o.id),
            o.kind.value,
            o.name,
            o.siret or o.siren or "",
            o.orias or "",
            str(o.broker_id or ""),
        ],
    )


@user_app.command("create")
@guarded
def user_create(
    org: Annotated[int, typer.Option("--org", help="The user's organisation (ORG_ID).")],
    email: Annotated[str, typer.Option("--email", help="The user's email (unique).")],
    roles: Annotated[list[str], typer.Option("--role", help="A role; repeat for several.")],
    password_stdin: PasswordStdinOpt = False,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a user of an organisation with one or more roles (admin)."""
    from egide.services import accounts

    password = _password(password_stdin)
    user = accounts.create_user(*acting(as_email), org, email, password, roles)
    if json_out:
        print_json(user.public())
    else:
        console.print(
            styled(
                "User [bold]{}[/] of organisation {}: {}", user.email, org, ", ".join(sorted(roles))
            )
        )


@user_app.command("list")
@guarded
def user_list(
    org: Annotated[int | None, typer.Option("--org", help="Only this organisation's.")] = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 50,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List users (admin)."""
    from egide.services import accounts

    page = accounts.list_users(*acting(as_email), organisation_id=org, cursor=cursor, limit=limit)
    print_page(
        page,
        json_out,
        ["Email", "Organisation", "Roles", "Disabled", "Last login"],
        lambda u: [
            u.email,
            str(u.organisation_id),
            ", ".join(u.public()["roles"]),
            "yes" if u.disabled else "",
            (u.public()["last_login_at"] or "")[:16],
        ],
    )


def _set_disabled(email: str, disabled: bool, as_email: str | None, json_out: bool) -> None:
    from egide.services import accounts

    user = accounts.set_user_disabled(*acting(as_email), email, disabled)
    if json_out:
        print_json(user.public())
    else:
        console.print(styled("User {} {}.", user.email, "disabled" if disabled else "enabled"))


@user_app.command("disable")
@guarded
def user_disable(email: str, as_email: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Disable a user: no login, no --as (admin)."""
    _set_disabled(email, True, as_email, json_out)


@user_app.command("enable")
@guarded
def user_enable(email: str, as_email: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Enable a disabled user again (admin)."""
    _set_disabled(email, False, as_email, json_out)


@client_app.command("create")
@guarded
def client_create(
    org: Annotated[int, typer.Option("--org", help="The client's organisation (ORG_ID).")],
    roles: Annotated[list[str], typer.Option("--role", help="A role; repeat for several.")],
    scopes: Annotated[list[str], typer.Option("--scope", help="A scope; repeat for several.")],
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an API client: its client_id and client_secret (shown once) (admin)."""
    from egide.services import accounts

    client, secret = accounts.create_client(*acting(as_email), org, roles, scopes)
    if json_out:
        print_json({**client.public(), "client_secret": secret})
        return
    console.print(styled("API client [bold]{}[/] of organisation {}", client.client_id, org))
    console.print(styled("client_secret: {}  (shown once: store it now)", secret))


@client_app.command("list")
@guarded
def client_list(
    org: Annotated[int | None, typer.Option("--org", help="Only this organisation's.")] = None,
    cursor: CursorOpt = None,
    limit: LimitOpt = 50,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List API clients, without their secrets (admin)."""
    from egide.services import accounts

    page = accounts.list_clients(*acting(as_email), organisation_id=org, cursor=cursor, limit=limit)
    print_page(
        page,
        json_out,
        ["Client id", "Organisation", "Roles", "Scopes", "Revoked"],
        lambda c: [
            c.client_id,
            str(c.organisation_id),
            ", ".join(c.public()["roles"]),
            ", ".join(c.public()["scopes"]),
            "yes" if c.revoked else "",
        ],
    )


@client_app.command("revoke")
@guarded
def client_revoke(client_id: str, as_email: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Revoke an API client: its secret no longer works (admin)."""
    from egide.services import accounts

    client = accounts.revoke_client(*acting(as_email), client_id)
    if json_out:
        print_json(client.public())
    else:
        console.print(styled("API client {} revoked.", client.client_id))


@admin_app.command("bootstrap")
@guarded
def admin_bootstrap(
    email: Annotated[str, typer.Option("--email", help="The first administrator's email.")],
    password_stdin: PasswordStdinOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Create the insurer's first administrator (only while there is none)."""
    from egide.services import accounts

    user = accounts.bootstrap_admin(open_uow(), email, _password(password_stdin))
    if json_out:
        print_json(user.public())
    else:
        console.print(styled("Administrator [bold]{}[/] created.", user.email))


@admin_app.callback()
def _admin() -> None:
    """The installation's first administrator."""
