"""Organisations, users and API clients (hashes only: no password or secret is stored), and the
explicit conversions between these rows and the domain values (`egide.domain.accounts`) that the
repositories return, the audit verifier reads and the in-memory fakes share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egide.db.base import ACTOR_MAX, Base, Timestamped
from egide.domain.access import OrgKind, Role, Scope
from egide.domain.accounts import ApiClient, Organisation, OrganisationEvent, User


class OrganisationRow(Base, Timestamped):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # insurer | brokerage | establishment
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str | None] = mapped_column(String(9), default=None)
    siret: Mapped[str | None] = mapped_column(String(14), unique=True, default=None)
    orias: Mapped[str | None] = mapped_column(String(8), default=None)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), default=None)


class UserRow(Base, Timestamped):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower case
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiClientRow(Base, Timestamped):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(String(64))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class OrganisationEventRow(Base):
    """An organisation's history beyond its row (a broker of record transferred, with its
    note). Never updated, never deleted."""

    __tablename__ = "organisation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    note: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]


# ------------------------------------------------------------------ rows <-> domain values


def organisation_value(row: OrganisationRow) -> Organisation:
    return Organisation(
        id=row.id,
        kind=OrgKind(row.kind),
        name=row.name,
        siren=row.siren,
        siret=row.siret,
        orias=row.orias,
        broker_id=row.broker_id,
        created_at=row.created_at,
    )


def user_value(row: UserRow) -> User:
    return User(
        id=row.id,
        organisation_id=row.organisation_id,
        email=row.email,
        password_hash=row.password_hash,
        roles=frozenset(Role(r) for r in row.roles),
        disabled=row.disabled,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def client_value(row: ApiClientRow) -> ApiClient:
    return ApiClient(
        id=row.id,
        client_id=row.client_id,
        organisation_id=row.organisation_id,
        roles=frozenset(Role(r) for r in row.roles),
        scopes=frozenset(Scope(s) for s in row.scopes),
        secret_hash=row.secret_hash,
        revoked=row.revoked,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def organisation_row(org: Organisation) -> OrganisationRow:
    return OrganisationRow(
        kind=org.kind.value,
        name=org.name,
        siren=org.siren,
        siret=org.siret,
        orias=org.orias,
        broker_id=org.broker_id,
        created_at=org.created_at,
    )


def user_row(user: User) -> UserRow:
    return UserRow(
        organisation_id=user.organisation_id,
        email=user.email.lower(),
        password_hash=user.password_hash,
        roles=sorted(r.value for r in user.roles),
        disabled=user.disabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def client_row(client: ApiClient) -> ApiClientRow:
    return ApiClientRow(
        client_id=client.client_id,
        organisation_id=client.organisation_id,
        roles=sorted(r.value for r in client.roles),
        scopes=sorted(s.value for s in client.scopes),
        secret_hash=client.secret_hash,
        revoked=client.revoked,
        created_at=client.created_at,
        last_used_at=client.last_used_at,
    )


def event_value(row: OrganisationEventRow) -> OrganisationEvent:
    return OrganisationEvent(
        id=row.id,
        organisation_id=row.organisation_id,
        kind=row.kind,
        at=row.at,
        actor=row.actor,
        note=row.note,
        data=dict(row.data),
    )


def event_row(event: OrganisationEvent) -> OrganisationEventRow:
    return OrganisationEventRow(
        organisation_id=event.organisation_id,
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        note=event.note,
        data=dict(event.data),
    )


def update_organisation_row(row: OrganisationRow, org: Organisation) -> None:
    row.name, row.broker_id = org.name, org.broker_id


def update_user_row(row: UserRow, user: User) -> None:
    row.disabled, row.last_login_at = user.disabled, user.last_login_at
    row.password_hash, row.roles = user.password_hash, sorted(r.value for r in user.roles)


def update_client_row(row: ApiClientRow, client: ApiClient) -> None:
    row.revoked, row.last_used_at = client.revoked, client.last_used_at
