"""A second factor for people (TOTP, RFC 6238, through pyotp): enrolment, confirmation, and
the check of a code at login.

The secret of a user is derived, never stored: HMAC-SHA256(server key, salt) with a random
salt kept in the database (`EGIDE_SECRET_KEY`, `egide.settings.server_key`), so a dump of the
database alone yields no secret; changing the server key means enrolling again. A code is
accepted once: the last time step used is kept, and a code of that step or an earlier one is
refused (RFC 6238 §5.2), with one step of clock drift allowed each way.

Required for the insurer's staff when ``EGIDE_STAFF_MFA=required`` (the default under
``EGIDE_ENV=production``), available to everyone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import replace

from egide.clock import now, wall_now
from egide.domain.access import Principal
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.mfa import UserMfa
from egide.services.ports import UnitOfWork

ISSUER = "Égide"
STEP_SECONDS = 30  # RFC 6238's default, what every authenticator app uses
DRIFT_STEPS = 1


def staff_mfa_required() -> bool:
    """``EGIDE_STAFF_MFA=required|optional``; by default required in production only."""
    from egide.settings import get_settings

    settings = get_settings()
    value = settings.staff_mfa.strip().lower()
    if value in ("required", "optional"):
        return value == "required"
    return settings.production


def _secret(salt: str) -> str:
    from egide.settings import server_key

    digest = hmac.new(server_key(), b"egide totp v1:" + salt.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode("ascii")  # 160 bits, RFC 4226's recommendation


def _user_id(principal: Principal) -> int:
    if principal.kind != "user":
        raise ValueError("a second factor belongs to a person")
    return int(principal.id)


def is_enabled(uow: UnitOfWork, user_id: int) -> bool:
    with uow:
        mfa = uow.mfa.get(user_id)
        return mfa is not None and mfa.enabled_at is not None


def start_enrolment(uow: UnitOfWork, principal: Principal) -> tuple[str, str]:
    """The user's secret to type into an authenticator app, and its ``otpauth://`` URI: a new
    one at the first call, the same one afterwards (shown again until a code confirms it)."""
    import pyotp

    user_id = _user_id(principal)
    salt = secrets.token_hex(16)
    with uow:
        current = uow.mfa.get(user_id, lock=True)
        if current is not None and current.enabled_at is not None:
            raise Conflict("the second factor is enabled already: its secret is not shown again")
        if current is not None:
            salt = current.salt
        else:
            uow.mfa.put(UserMfa(user_id, salt, None, 0))
            uow.commit()
    secret = _secret(salt)
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=principal.label, issuer_name=ISSUER
    )
    return secret, uri


def _accepted_step(mfa: UserMfa, code: str) -> int | None:
    """The time step the code belongs to, if it is valid and newer than the last one used."""
    import pyotp

    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(_secret(mfa.salt), interval=STEP_SECONDS)
    moment = wall_now()  # the authenticator app's clock: real time, never EGIDE_NOW
    current = int(moment.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > mfa.last_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def confirm_enrolment(uow: UnitOfWork, principal: Principal, code: str) -> None:
    """The first code from the app confirms the secret; from then on every login asks for one."""
    from egide.services.accounts import record_user_event

    user_id = _user_id(principal)
    with uow:
        mfa = uow.mfa.get(user_id, lock=True)
        step = _accepted_step(mfa, code) if mfa is not None else None
        if mfa is None or step is None:
            raise InvalidInput([FieldError("code", "totp", "is not the current code of the app")])
        uow.mfa.put(replace(mfa, enabled_at=mfa.enabled_at or now(), last_step=step))
        record_user_event(uow, user_id, "second factor enabled", principal)
        uow.commit()


def check_code(uow: UnitOfWork, user_id: int, code: str) -> bool:
    """At login: is this the user's current code, not used before? (It is then used up.)"""
    with uow:
        mfa = uow.mfa.get(user_id, lock=True)
        if mfa is None or mfa.enabled_at is None:
            return False
        step = _accepted_step(mfa, code)
        if step is None:
            return False
        uow.mfa.put(replace(mfa, last_step=step))
        uow.commit()
        return True
