"""Invitations to an establishment's account: how a person joins an establishment that already
has an organisation (typing its SIRET is not enough: nobody takes over another's data that way).

The establishment's manager, its broker of record, or an administrator of the insurer invites an
address; the invitation is a random token (only its SHA-256 is stored), valid `VALID_DAYS` days,
used once. Accepting it creates the user, manager of that establishment, with the password the
invited person chooses (the creation is audited as the accounts are). An establishment the
inviting principal may not see is reported exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta

from egide.clock import wall_now  # invitations live in real time, like sessions
from egide.domain.access import Action, OrgKind, Principal, Role
from egide.domain.accounts import Organisation, User
from egide.domain.errors import NotFound
from egide.domain.invitation import Invitation
from egide.services.ports import UnitOfWork

VALID_DAYS = 7
TOKEN_MAX = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _may_invite_to(principal: Principal, org: Organisation) -> bool:
    if org.kind is not OrgKind.ESTABLISHMENT:
        return False
    if principal.is_insurer_staff:
        return Role.ADMIN in principal.roles
    if principal.organisation_kind is OrgKind.BROKERAGE:
        return org.broker_id == principal.organisation_id
    return org.id == principal.organisation_id


def invite(uow: UnitOfWork, principal: Principal, organisation_id: int, email: str) -> str:
    """An invitation to join the establishment `organisation_id` as its manager; returns the
    token (for the link, shown once)."""
    from egide.services.accounts import ACCOUNTS, EmailTaken, _email, require

    require(principal, Action.ACCOUNTS_INVITE, ACCOUNTS, "invitation")
    address = _email(email)
    token = secrets.token_urlsafe(32)
    moment = wall_now()
    with uow:
        org = uow.accounts.organisation(organisation_id)
        if org is None or not _may_invite_to(principal, org):
            raise NotFound(f"establishment {organisation_id} does not exist")
        if uow.accounts.user_by_email(address) is not None:
            raise EmailTaken(f"a user {address} exists already")
        uow.invitations.add(
            Invitation(
                _hash(token),
                org.id,
                address,
                principal.history_label(),
                moment,
                moment + timedelta(days=VALID_DAYS),
            )
        )
        uow.commit()
    return token


def pending(uow: UnitOfWork, token: str) -> tuple[Invitation, Organisation] | None:
    """The invitation of a token and its establishment, while it can be accepted."""
    if not token or len(token) > TOKEN_MAX:
        return None
    with uow:
        found = uow.invitations.get(_hash(token))
        if found is None or found.accepted_at is not None or found.expires_at <= wall_now():
            return None
        org = uow.accounts.organisation(found.organisation_id)
        return (found, org) if org is not None else None


def accept(uow: UnitOfWork, token: str, password: str) -> Principal:
    """Use the invitation: the invited person becomes the establishment's manager, with the
    password given (checked by the accounts' rules); the invitation cannot be used again."""
    from egide.services.accounts import (
        EmailTaken,
        _audit,
        _password_hash,
        _user_principal,
    )

    password_hash = _password_hash(password)  # bad input first: nothing written
    moment = wall_now()
    with uow:
        found = uow.invitations.get(_hash(token), lock=True) if len(token) <= TOKEN_MAX else None
        if found is None or found.accepted_at is not None or found.expires_at <= moment:
            raise NotFound("this invitation does not exist, was used or has expired")
        if uow.accounts.user_by_email(found.email) is not None:
            raise EmailTaken(f"a user {found.email} exists already")
        user = uow.accounts.add_user(
            User(
                0,
                found.organisation_id,
                found.email,
                password_hash,
                frozenset({Role.ESTABLISHMENT_MANAGER}),
                False,
                moment,
                moment,
            )
        )
        uow.invitations.accept(replace(found, accepted_at=moment))
        principal = _user_principal(uow, user)
        _audit(uow, user, "created", principal)  # the invitation row names who invited
        uow.commit()
        return principal
