"""The incident clock: from the discovery, each deadline that applies, its due time and status.

Legal bases (docs/claims.md § The incident clock):

- ``cnil_notification`` — GDPR art. 33: a personal-data breach is notified to the CNIL within
  72 hours of becoming aware of it. Applies when personal data are breached.
- ``patient_notification`` — GDPR art. 34: the persons concerned are told "without undue delay"
  when the breach is likely to result in a high risk to them (health data: presumed high unless
  the handler says otherwise). No fixed hour: due from the discovery, never "overdue".
- ``ars_declaration`` — art. L1111-8-2 and D1111-16-2 to D1111-16-3 Code de la santé publique:
  serious IT security incidents are reported "sans délai" (to the ARS and, since decree
  n° 2022-715 of 27 April 2022, through the CERT Santé of the ANS). Concerned: health
  establishments (hôpitaux, cliniques), medical laboratories (LBM), radiotherapy centres and,
  since the 2022 decree, medico-social establishments such as EHPAD. Private practices,
  pharmacies, health centres and imaging centres are not listed (reporting is recommended, not
  required): `incident.ars_declaration_required` overrides the default.
- ``complaint`` — art. L12-10-1 Code des assurances: a complaint within 72 h of learning of an
  attack on IT systems, or the attack's losses are not indemnified.
- ``insurer_notice`` — art. L113-2 4° Code des assurances: the claim is declared to the insurer
  within the contract's delay, never less than 5 working days ("jours ouvrés": Monday to Friday,
  French public holidays excepted), counted from the day after the discovery; due at the end of
  the last day (23:59:59, Paris). A late notice forfeits cover only if the insurer shows a
  prejudice, so it is shown, not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from egide.domain.claims import Declaration, complaint_deadline
from egide.domain.policy import PARIS
from egide.domain.product import Product

# Kinds of establishment that must report serious IT incidents (art. D1111-16-2 CSP; EHPAD since
# decree n° 2022-715). See the module docstring.
ARS_CONCERNED: frozenset[str] = frozenset({"hopital", "clinique", "laboratoire", "ehpad"})


class Timing(StrEnum):
    FIXED = "fixed"  # a due hour
    WITHOUT_DELAY = "without_delay"  # "sans délai": due from the discovery, no fixed hour


class Status(StrEnum):
    DONE = "done"
    DONE_LATE = "done_late"
    DUE = "due"
    DUE_NOW = "due_now"  # a "without delay" obligation not yet met
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DeadlineRule:
    code: str
    label_fr: str
    basis: str
    timing: Timing


RULES: dict[str, DeadlineRule] = {
    r.code: r
    for r in (
        DeadlineRule(
            "cnil_notification",
            "Notification de la violation de données à la CNIL (72 heures)",
            "RGPD art. 33",
            Timing.FIXED,
        ),
        DeadlineRule(
            "patient_notification",
            "Information des patients concernés, sans délai injustifié (risque élevé)",
            "RGPD art. 34",
            Timing.WITHOUT_DELAY,
        ),
        DeadlineRule(
            "ars_declaration",
            "Signalement de l'incident grave à l'ARS / CERT Santé, sans délai",
            "art. L1111-8-2 et D1111-16-2 du Code de la santé publique",
            Timing.WITHOUT_DELAY,
        ),
        DeadlineRule(
            "complaint",
            "Dépôt de plainte dans les 72 heures (condition de l'indemnisation)",
            "art. L12-10-1 du Code des assurances",
            Timing.FIXED,
        ),
        DeadlineRule(
            "insurer_notice",
            "Déclaration du sinistre à l'assureur (jours ouvrés)",
            "art. L113-2 4° du Code des assurances",
            Timing.FIXED,
        ),
    )
}


@dataclass(frozen=True)
class Deadline:
    rule: DeadlineRule
    due_at: datetime  # Paris time; for WITHOUT_DELAY, the moment the obligation arose
    done_at: datetime | None
    status: Status
    status_text: str  # "done", "due in 1 d 4 h", "overdue by 3 h"…

    @property
    def code(self) -> str:
        return self.rule.code


# --------------------------------------------------------------------------- working days


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int) -> frozenset[date]:
    """The eleven public holidays of metropolitan France (art. L3133-1 Code du travail). The two
    extra days of Alsace-Moselle are not counted."""
    e = easter(year)
    return frozenset(
        {
            date(year, 1, 1),
            e + timedelta(days=1),  # lundi de Pâques
            date(year, 5, 1),
            date(year, 5, 8),
            e + timedelta(days=39),  # Ascension
            e + timedelta(days=50),  # lundi de Pentecôte
            date(year, 7, 14),
            date(year, 8, 15),
            date(year, 11, 1),
            date(year, 11, 11),
            date(year, 12, 25),
        }
    )


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself not counted)."""
    day = start
    left = n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


# --------------------------------------------------------------------------- the clock


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def _status(rule: DeadlineRule, due: datetime, done: datetime | None, now: datetime) -> Deadline:
    if done is not None:
        if rule.timing == Timing.FIXED and done > due:
            late = _duration((done - due).total_seconds())
            return Deadline(rule, due, done, Status.DONE_LATE, f"done late (by {late})")
        return Deadline(rule, due, done, Status.DONE, "done")
    if rule.timing == Timing.WITHOUT_DELAY:
        since = _duration((now - due).total_seconds())
        return Deadline(rule, due, None, Status.DUE_NOW, f"due now, without delay (for {since})")
    if now < due:
        return Deadline(
            rule, due, None, Status.DUE, f"due in {_duration((due - now).total_seconds())}"
        )
    return Deadline(
        rule, due, None, Status.OVERDUE, f"overdue by {_duration((now - due).total_seconds())}"
    )


def hours_after(moment: datetime, hours: int) -> datetime:
    """`hours` real hours later, in Paris time (computed in UTC: right across a DST change)."""
    return (moment.astimezone(UTC) + timedelta(hours=hours)).astimezone(PARIS)


def insurer_notice_due(discovered_at: datetime, working_days: int) -> datetime:
    """End of the last working day of the notice period, Paris time."""
    day = add_working_days(discovered_at.astimezone(PARIS).date(), working_days)
    return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS)


def ars_declaration_applies(decl: Declaration, establishment_kind: str) -> bool:
    override = decl.incident.ars_declaration_required
    if override is not None:
        return override
    return establishment_kind in ARS_CONCERNED


def incident_clock(
    decl: Declaration,
    establishment_kind: str,
    product: Product,
    declared_at: datetime | None,
    now: datetime,
) -> list[Deadline]:
    """Each deadline that applies to this incident, with its due time (Paris) and status."""
    discovered = decl.incident.discovered_at.astimezone(PARIS)
    notes = decl.notifications
    out: list[Deadline] = []
    breach = decl.data_breach
    if breach.personal_data:
        out.append(
            _status(RULES["cnil_notification"], hours_after(discovered, 72), notes.cnil_at, now)
        )
        if breach.is_high_risk:
            out.append(_status(RULES["patient_notification"], discovered, notes.patients_at, now))
    if ars_declaration_applies(decl, establishment_kind):
        out.append(_status(RULES["ars_declaration"], discovered, notes.ars_at, now))
    complaint_due = complaint_deadline(decl, product)
    if complaint_due is not None:
        out.append(
            _status(
                RULES["complaint"],
                complaint_due.astimezone(PARIS),
                decl.incident.complaint_filed_at,
                now,
            )
        )
    out.append(
        _status(
            RULES["insurer_notice"],
            insurer_notice_due(discovered, product.notice_to_insurer_days),
            declared_at,
            now,
        )
    )
    return out
