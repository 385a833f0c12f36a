"""Organisations, users and API clients as domain values, and the rules their input follows.

Hashes live in these values because the services compare them, but nothing prints them: every
edge serialises through `public()`, which leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from egide.domain.access import ROLES_OF_KIND, OrgKind, Role, Scope
from egide.domain.errors import FieldError
from egide.domain.identifiers import orias_problem, siren_problem, siret_problem
from egide.domain.policy import PARIS
from egide.domain.text import NAME_MAX, check_text

EMAIL_MAX = 254  # RFC 5321's limit on a path, the practical bound of an address
PASSWORD_MIN = 12  # ANSSI's recommendation for a password protecting sensitive data
PASSWORD_MAX = 1024  # bounds the hashing work an attacker can ask for


def _paris(moment: datetime | None) -> str | None:
    """Times as every output shows them: ISO 8601 in Europe/Paris."""
    return moment.astimezone(PARIS).isoformat() if moment is not None else None


@dataclass(frozen=True)
class Organisation:
    id: int
    kind: OrgKind
    name: str
    siren: str | None
    siret: str | None
    orias: str | None
    broker_id: int | None  # an establishment's broker of record
    created_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "siren": self.siren,
            "siret": self.siret,
            "orias": self.orias,
            "broker_id": self.broker_id,
            "created_at": _paris(self.created_at),
        }


@dataclass(frozen=True)
class OrganisationEvent:
    """What happened to an organisation that its row does not tell: a broker of record
    transferred by an administrator, with the note they gave."""

    id: int
    organisation_id: int
    kind: str  # broker_transfer
    at: datetime
    actor: str
    note: str
    data: dict[str, Any]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation_id": self.organisation_id,
            "kind": self.kind,
            "at": _paris(self.at),
            "actor": self.actor,
            "note": self.note,
            **self.data,
        }


@dataclass(frozen=True)
class User:
    id: int
    organisation_id: int
    email: str  # lower case: unique without regard to case
    password_hash: str
    roles: frozenset[Role]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation_id": self.organisation_id,
            "email": self.email,
            "roles": sorted(r.value for r in self.roles),
            "disabled": self.disabled,
            "created_at": _paris(self.created_at),
            "last_login_at": _paris(self.last_login_at),
        }


@dataclass(frozen=True)
class ApiClient:
    id: int
    client_id: str  # public
    organisation_id: int
    roles: frozenset[Role]
    scopes: frozenset[Scope]
    secret_hash: str
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "organisation_id": self.organisation_id,
            "roles": sorted(r.value for r in self.roles),
            "scopes": sorted(s.value for s in self.scopes),
            "revoked": self.revoked,
            "created_at": _paris(self.created_at),
            "last_used_at": _paris(self.last_used_at),
        }


def organisation_problems(
    kind: str,
    name: str,
    siren: str | None,
    siret: str | None,
    orias: str | None,
) -> list[FieldError]:
    """Every rule a new organisation's fields break: a known kind, a name, and the identifiers
    its kind needs (a brokerage: SIREN and ORIAS; an establishment: SIRET), each well formed."""
    errors = check_text("name", name, max_length=NAME_MAX, required=True)
    try:
        org_kind = OrgKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in OrgKind if k is not OrgKind.INSURER)
        return [*errors, FieldError("kind", "enum", f"{kind!r} is not one of {known}")]
    if org_kind is OrgKind.INSURER:
        errors.append(FieldError("kind", "one_insurer", "an installation has one insurer"))
    checks = [("siren", siren, siren_problem), ("siret", siret, siret_problem)]
    checks.append(("orias", orias, orias_problem))
    for field, value, problem in checks:
        if value is not None and (rule := problem(value)) is not None:
            errors.append(FieldError(field, "format", rule))
    if org_kind is OrgKind.BROKERAGE:
        for field, value in (("siren", siren), ("orias", orias)):
            if value is None:
                errors.append(FieldError(field, "required", "a brokerage needs it"))
    if org_kind is OrgKind.ESTABLISHMENT and siret is None:
        errors.append(FieldError("siret", "required", "an establishment needs it"))
    return errors


def role_problems(kind: OrgKind, roles: list[str]) -> tuple[frozenset[Role], list[FieldError]]:
    """The roles, known and open to an organisation of this kind, at least one."""
    errors: list[FieldError] = []
    chosen: set[Role] = set()
    for name in roles:
        try:
            role = Role(name)
        except ValueError:
            known = ", ".join(r.value for r in Role)
            errors.append(FieldError("role", "enum", f"{name!r} is not one of {known}"))
            continue
        if role not in ROLES_OF_KIND[kind]:
            open_to = ", ".join(sorted(r.value for r in ROLES_OF_KIND[kind]))
            errors.append(
                FieldError(
                    "role", "kind", f"{role.value} is not a role of a {kind.value} ({open_to})"
                )
            )
        chosen.add(role)
    if not roles:
        errors.append(FieldError("role", "required", "give at least one role"))
    return frozenset(chosen), errors


def scope_problems(scopes: list[str]) -> tuple[frozenset[Scope], list[FieldError]]:
    errors: list[FieldError] = []
    chosen: set[Scope] = set()
    for name in scopes:
        try:
            chosen.add(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            errors.append(FieldError("scope", "enum", f"{name!r} is not one of {known}"))
    if not scopes:
        errors.append(FieldError("scope", "required", "give at least one scope"))
    return frozenset(chosen), errors


def password_problems(password: str) -> list[FieldError]:
    """Length only (ANSSI: length matters more than composition rules); the text rule too."""
    errors = check_text("password", password, max_length=PASSWORD_MAX, required=True)
    if len(password) < PASSWORD_MIN:
        errors.append(
            FieldError("password", "min_length", f"must be at least {PASSWORD_MIN} characters")
        )
    return errors
