"""The one clock. ``EGIDE_NOW`` (ISO 8601 with an offset) freezes it, for tests and replays; with
``EGIDE_ENV=production`` it is refused (`egide.settings.UnsafeEnvironment`, exit 5 at the CLI)."""

from __future__ import annotations

import os
from datetime import datetime

from egide.domain.fields import year_problem
from egide.domain.policy import PARIS as PARIS  # policy periods start at midnight in Paris


class ClockError(ValueError):
    pass


def parse_now(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ClockError(f"EGIDE_NOW: {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ClockError(f"EGIDE_NOW: {value!r} must carry a UTC offset (e.g. +01:00)")
    if (problem := year_problem("EGIDE_NOW", moment)) is not None:
        raise ClockError(f"EGIDE_NOW: {value!r} {problem.message} [{problem.rule}]")
    return moment


def now() -> datetime:
    """Time-zone aware current time, in Europe/Paris."""
    override = os.environ.get("EGIDE_NOW")
    if override:
        from egide.settings import check_environment, is_production

        if is_production():
            check_environment()  # raises: no replay clock in production
        return parse_now(override).astimezone(PARIS)
    return datetime.now(PARIS)


def iso_paris(moment: datetime) -> str:
    """A time as the services show it: ISO 8601 in Europe/Paris (the database keeps UTC)."""
    return moment.astimezone(PARIS).isoformat()


def wall_now() -> datetime:
    """Real time, whatever ``EGIDE_NOW`` says: for what lives outside the business being
    replayed (web sessions, invitations, an authenticator app's codes), which a replay clock
    must neither end nor keep alive."""
    return datetime.now(PARIS)
