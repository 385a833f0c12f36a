"""Accounts: the principal acting, organisations, users and API clients.

Passwords are hashed with Argon2id (argon2-cffi's `PasswordHasher`, whose defaults are RFC 9106's
second recommended option: t=3 passes, m=64 MiB, p=4 lanes, 16-byte salt, 32-byte tag); a hash
made with older parameters is rehashed at the next login. API client secrets are 256-bit random
tokens: they cannot be guessed, so a fast SHA-256 of the secret is enough at rest (the reason
passwords need a slow hash is that people choose them); it is compared in constant time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from egide.clock import now
from egide.domain.access import (
    Action,
    Kind,
    OrgKind,
    Principal,
    Resource,
    Role,
    Scope,
    allowed,
    history_actor,
    local_operator,
)
from egide.domain.accounts import (
    EMAIL_MAX,
    ApiClient,
    Organisation,
    User,
    organisation_problems,
    password_problems,
    role_problems,
    scope_problems,
)
from egide.domain.errors import Conflict, FieldError, InvalidInput, NotAllowed, NotFound
from egide.domain.text import check_text
from egide.services.pages import PAGE_DEFAULT, Page, after_cursor, page_limit, page_of
from egide.services.ports import UnitOfWork

ACCOUNTS = Resource(Kind.ACCOUNTS)


def _admin_page(
    uow: UnitOfWork,
    principal: Principal,
    what: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[int, int], list[Any]],
) -> Page:
    """One page of an account list (admin only): `fetch(after_id, how_many)` reads the rows."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, what)
    after, size = after_cursor(cursor) or 0, page_limit(limit)
    with uow:
        return page_of([(i.id, i) for i in fetch(after, size + 1)], size)


def require(principal: Principal, action: Action, resource: Resource, what: str) -> None:
    """Raise NotFound (`what` does not exist) when the principal may not see the object, and
    NotAllowed with the reason when its roles or scopes do not allow the action."""
    decision = allowed(principal, action, resource)
    if decision.code == "not_visible":
        raise NotFound(f"{what} does not exist")
    if not decision:
        raise NotAllowed(decision.reason)


def _audit(
    uow: UnitOfWork, value: Organisation | User | ApiClient, action: str, by: Principal
) -> None:
    from egide.services import audit  # the ORM: only when something is stored

    audit.record_account(uow, value, action, history_actor(by))


# ------------------------------------------------------------------ who is acting


def acting_principal(uow: UnitOfWork, as_email: str | None) -> Principal:
    """The local operator (the CLI on the server's own machine), or, with ``--as EMAIL``, the
    local operator acting as that user: the user's organisation and roles, history recording
    both. A disabled user cannot be acted as."""
    with uow:
        insurer = uow.accounts.insurer()
        if as_email is None:
            return local_operator(insurer.id)
        user = uow.accounts.user_by_email(as_email.strip())
        if user is None:
            raise NotFound(f"user {as_email} does not exist")
        if user.disabled:
            raise NotAllowed(f"user {user.email} is disabled")
        return _user_principal(uow, user, acting_as=user.email)


def _user_principal(uow: UnitOfWork, user: User, acting_as: str | None = None) -> Principal:
    org = uow.accounts.organisation(user.organisation_id)
    assert org is not None  # a foreign key
    return Principal(
        kind="user",
        id=str(user.id),
        organisation_id=org.id,
        organisation_kind=org.kind,
        roles=user.roles,
        label=user.email,
        acting_as=acting_as,
    )


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


# A hash to verify against when the user does not exist, so that timing does not tell whether
# an address has an account (computed once, on first use).
_DUMMY_HASH: list[str] = []


def authenticate_user(uow: UnitOfWork, email: str, password: str) -> Principal:
    """A user's principal from email and password (a login), recording the time; any failure is
    the same NotAllowed, so it does not tell which part was wrong."""
    from argon2.exceptions import InvalidHashError, VerificationError

    refused = NotAllowed("invalid email or password")
    hasher = _hasher()
    with uow:
        user = uow.accounts.user_by_email(email.strip())
        if user is None:
            if not _DUMMY_HASH:
                _DUMMY_HASH.append(hasher.hash(secrets.token_hex(16)))
            with contextlib.suppress(VerificationError):
                hasher.verify(_DUMMY_HASH[0], password)
            raise refused
        try:
            hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            raise refused from None
        if user.disabled:
            raise refused
        changed = replace(user, last_login_at=now())
        if hasher.check_needs_rehash(user.password_hash):
            changed = replace(changed, password_hash=hasher.hash(password))
        uow.accounts.update_user(changed)
        principal = _user_principal(uow, changed)
        _audit(uow, changed, "login", principal)
        uow.commit()
        return principal


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verified_client(uow: UnitOfWork, client_id: str, secret: str) -> tuple[ApiClient, Principal]:
    """Inside the caller's unit of work: the API client of this id and secret and its principal
    (its roles limited by its scopes, `egide.domain.access.allowed`). Any failure (unknown id,
    wrong secret, revoked client) is the same NotAllowed, so it does not tell which part was
    wrong."""
    refused = NotAllowed("invalid client credentials")
    client = uow.accounts.client(client_id.strip())
    if client is None or client.revoked:
        raise refused
    if not hmac.compare_digest(client.secret_hash, _secret_hash(secret)):
        raise refused
    return client, client_principal(uow, client)


def client_principal(
    uow: UnitOfWork, client: ApiClient, scopes: frozenset[Scope] | None = None
) -> Principal:
    """The principal of an API client (inside the caller's unit of work); `scopes` narrows the
    client's own (a token granted fewer)."""
    org = uow.accounts.organisation(client.organisation_id)
    assert org is not None  # a foreign key
    return Principal(
        kind="client",
        id=client.client_id,
        organisation_id=org.id,
        organisation_kind=org.kind,
        roles=client.roles,
        scopes=client.scopes if scopes is None else client.scopes & scopes,
        label=client.client_id,
    )


def user_principal(uow: UnitOfWork, user: User) -> Principal:
    """The principal of a user (inside the caller's unit of work)."""
    return _user_principal(uow, user)


def record_client_use(uow: UnitOfWork, client: ApiClient, principal: Principal) -> None:
    """Inside the caller's unit of work: the client's last use, and "token issued" in the
    audit trail."""
    uow.accounts.update_client(replace(client, last_used_at=now()))
    _audit(uow, client, "token issued", principal)


def authenticate_client(uow: UnitOfWork, client_id: str, secret: str) -> Principal:
    """An API client's principal from its id and secret, recording the use; its roles are
    limited by its scopes (`egide.domain.access.allowed`). A revoked client is refused."""
    with uow:
        client, principal = verified_client(uow, client_id, secret)
        record_client_use(uow, client, principal)
        uow.commit()
        return principal


# ------------------------------------------------------------------ input


def _email(value: str) -> str:
    """The address in canonical form (lower case), or bad input naming the rule."""
    from email_validator import EmailNotValidError, validate_email

    errors = check_text("email", value, max_length=EMAIL_MAX, required=True)
    if errors:
        raise InvalidInput(errors)
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput([FieldError("email", "format", str(exc))]) from None
    return str(checked.normalized).lower()


def _password_hash(password: str) -> str:
    if errors := password_problems(password):
        raise InvalidInput(errors)
    return str(_hasher().hash(password))


def brokerage(uow: UnitOfWork, org_id: int) -> Organisation:
    """The brokerage `org_id` names (inside a unit of work), or bad input on the broker field."""
    org = uow.accounts.organisation(org_id)
    if org is None or org.kind is not OrgKind.BROKERAGE:
        raise InvalidInput(
            [FieldError("broker", "kind", f"organisation {org_id} is not a brokerage")]
        )
    return org


def _organisation_of(uow: UnitOfWork, org_id: int) -> Organisation:
    org = uow.accounts.organisation(org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist")
    return org


# ------------------------------------------------------------------ use cases


def bootstrap_admin(uow: UnitOfWork, email: str, password: str) -> User:
    """The first administrator of the insurer, on an installation that has none (afterwards an
    administrator creates the others): a conflict once one exists."""
    address, digest = _email(email), _password_hash(password)
    with uow:
        if uow.accounts.has_admin():
            raise Conflict("an administrator exists already: ask one to create your account")
        if uow.accounts.user_by_email(address) is not None:
            raise Conflict(f"a user {address} exists already")
        insurer = uow.accounts.insurer()
        user = uow.accounts.add_user(
            User(0, insurer.id, address, digest, frozenset({Role.ADMIN}), False, now(), None)
        )
        _audit(uow, user, "bootstrapped", local_operator(insurer.id))
        uow.commit()
        return user


def create_organisation(
    uow: UnitOfWork,
    principal: Principal,
    kind: str,
    name: str,
    *,
    siren: str | None = None,
    siret: str | None = None,
    orias: str | None = None,
    broker_id: int | None = None,
) -> Organisation:
    """A brokerage (SIREN, ORIAS) or an establishment (SIRET; its broker of record optional)."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "organisation")
    errors = organisation_problems(kind, name, siren, siret, orias)
    if broker_id is not None and kind != OrgKind.ESTABLISHMENT.value:
        errors.append(FieldError("broker", "kind", "only an establishment has a broker of record"))
    if errors:
        raise InvalidInput(errors)
    with uow:
        if broker_id is not None:
            brokerage(uow, broker_id)
        if siret is not None and uow.accounts.organisation_by_siret(siret) is not None:
            raise Conflict(f"an organisation holds SIRET {siret} already")
        org = uow.accounts.add_organisation(
            Organisation(0, OrgKind(kind), name.strip(), siren, siret, orias, broker_id, now())
        )
        _audit(uow, org, "created", principal)
        uow.commit()
        return org


def list_organisations(
    uow: UnitOfWork,
    principal: Principal,
    *,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_DEFAULT,
) -> Page:
    try:
        chosen = OrgKind(kind) if kind is not None else None
    except ValueError:
        known = ", ".join(k.value for k in OrgKind)
        raise InvalidInput(
            [FieldError("kind", "enum", f"{kind!r} is not one of {known}")]
        ) from None
    return _admin_page(
        uow,
        principal,
        "organisation",
        cursor,
        limit,
        lambda after, n: uow.accounts.organisations(after, n, kind=chosen),
    )


def create_user(
    uow: UnitOfWork,
    principal: Principal,
    organisation_id: int,
    email: str,
    password: str,
    roles: list[str],
) -> User:
    """A user of an organisation, with roles open to its kind; the email is unique whatever
    its case."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "user")
    address = _email(email)
    with uow:
        org = _organisation_of(uow, organisation_id)
        chosen, errors = role_problems(org.kind, roles)
        errors += password_problems(password)
        if errors:
            raise InvalidInput(errors)
        if uow.accounts.user_by_email(address) is not None:
            raise Conflict(f"a user {address} exists already")
        user = uow.accounts.add_user(
            User(0, org.id, address, _password_hash(password), chosen, False, now(), None)
        )
        _audit(uow, user, "created", principal)
        uow.commit()
        return user


def list_users(
    uow: UnitOfWork,
    principal: Principal,
    *,
    organisation_id: int | None = None,
    cursor: str | None = None,
    limit: int = PAGE_DEFAULT,
) -> Page:
    return _admin_page(
        uow,
        principal,
        "user",
        cursor,
        limit,
        lambda after, n: uow.accounts.users(after, n, organisation_id=organisation_id),
    )


def set_user_disabled(uow: UnitOfWork, principal: Principal, email: str, disabled: bool) -> User:
    """Disable (or enable again) a user: a disabled user can neither log in nor be acted as."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "user")
    with uow:
        user = uow.accounts.user_by_email(email.strip())
        if user is None:
            raise NotFound(f"user {email} does not exist")
        changed = replace(user, disabled=disabled)
        uow.accounts.update_user(changed)
        if disabled:  # its web sessions end at once (API tokens check the flag on every use)
            from egide.services.web_sessions import end_user_sessions

            end_user_sessions(uow, user.id)
        _audit(uow, changed, "disabled" if disabled else "enabled", principal)
        uow.commit()
        return changed


def create_client(
    uow: UnitOfWork,
    principal: Principal,
    organisation_id: int,
    roles: list[str],
    scopes: list[str],
) -> tuple[ApiClient, str]:
    """An API client of an organisation: its id and its secret, which is shown this once (only
    its hash is kept)."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "API client")
    with uow:
        org = _organisation_of(uow, organisation_id)
        chosen_roles, errors = role_problems(org.kind, roles)
        chosen_scopes, scope_errors = scope_problems(scopes)
        if errors + scope_errors:
            raise InvalidInput(errors + scope_errors)
        secret = "egs_" + secrets.token_urlsafe(32)
        client = uow.accounts.add_client(
            ApiClient(
                0,
                "egc_" + secrets.token_hex(10),
                org.id,
                chosen_roles,
                chosen_scopes,
                _secret_hash(secret),
                False,
                now(),
                None,
            )
        )
        _audit(uow, client, "created", principal)
        uow.commit()
        return client, secret


def list_clients(
    uow: UnitOfWork,
    principal: Principal,
    *,
    organisation_id: int | None = None,
    cursor: str | None = None,
    limit: int = PAGE_DEFAULT,
) -> Page:
    return _admin_page(
        uow,
        principal,
        "API client",
        cursor,
        limit,
        lambda after, n: uow.accounts.clients(after, n, organisation_id=organisation_id),
    )


def revoke_client(uow: UnitOfWork, principal: Principal, client_id: str) -> ApiClient:
    """Revoke an API client: its secret no longer authenticates."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "API client")
    with uow:
        client = uow.accounts.client(client_id.strip())
        if client is None:
            raise NotFound(f"API client {client_id} does not exist")
        changed = replace(client, revoked=True)
        uow.accounts.update_client(changed)
        _audit(uow, changed, "revoked", principal)
        uow.commit()
        return changed


class SiretTaken(Conflict):
    """An organisation holds this SIRET already: joining it needs an invitation."""

    code = "siret_taken"


class EmailTaken(Conflict):
    """A user holds this address already."""

    code = "email_taken"


def sign_up_establishment(
    uow: UnitOfWork, data: object, product: Any, email: str, password: str
) -> Principal:
    """A visitor who priced a quote creates its establishment and becomes its manager.

    Only for a SIRET no organisation holds: otherwise joining needs an invitation from that
    establishment's manager or its broker, so that nobody takes over another's data by typing
    its SIRET (`SiretTaken`, naming no one). Like `authenticate_user`, this makes the principal
    (a visitor is nobody yet), so it takes none; the application is validated first and nothing
    is written when anything is wrong."""
    from egide.domain.application import parse_application

    app = parse_application(data, product)
    address = _email(email)
    password_hash = _password_hash(password)
    moment = now()
    e = app.establishment
    with uow:
        if uow.accounts.user_by_email(address) is not None:
            raise EmailTaken(f"a user {address} exists already")
        org, created = uow.accounts.add_establishment_once(
            Organisation(0, OrgKind.ESTABLISHMENT, e.name, None, e.siret, None, None, moment)
        )
        if not created:
            raise SiretTaken(f"an organisation holds SIRET {e.siret} already")
        user = uow.accounts.add_user(
            User(
                0,
                org.id,
                address,
                password_hash,
                frozenset({Role.ESTABLISHMENT_MANAGER}),
                False,
                moment,
                moment,
            )
        )
        principal = _user_principal(uow, user)
        _audit(uow, org, "created", principal)
        _audit(uow, user, "created", principal)
        uow.commit()
        return principal


def reset_password(uow: UnitOfWork, principal: Principal, email: str, password: str) -> User:
    """An administrator sets a user's new password (the user forgot it): every session of the
    user ends, so whoever held the old password is out."""
    require(principal, Action.ACCOUNTS_MANAGE, ACCOUNTS, "user")
    new_hash = _password_hash(password)
    with uow:
        user = uow.accounts.user_by_email(email.strip())
        if user is None:
            raise NotFound(f"user {email} does not exist")
        changed = replace(user, password_hash=new_hash)
        uow.accounts.update_user(changed)
        from egide.services.web_sessions import end_user_sessions

        end_user_sessions(uow, user.id)
        _audit(uow, changed, "password reset", principal)
        uow.commit()
        return changed


def record_user_event(uow: UnitOfWork, user_id: int, action: str, principal: Principal) -> None:
    """Chain a change to a user's security (a second factor enabled) in the trail, inside the
    caller's unit of work."""
    user = uow.accounts.user(user_id)
    if user is not None:
        _audit(uow, user, action, principal)


def enabled_user_principal(uow: UnitOfWork, user_id: int) -> Principal | None:
    """The principal of an enabled user (None: unknown or disabled), for the second step of a
    login whose password was checked by `authenticate_user`."""
    with uow:
        user = uow.accounts.user(user_id)
        if user is None or user.disabled:
            return None
        return _user_principal(uow, user)
