"""Render the French documents to PDF with Typst.

Each ``render_*`` function turns a view into a plain dict of French strings (amounts, dates and
labels formatted here, in Python, where they are tested), serialises it to JSON and hands it to a
Typst template (`templates/*.typ`) through ``sys.inputs``. The template parses the JSON and inserts
the strings as text, so a name such as ``Clinique #1 *Saint_Jean* <x> @y $z$`` prints literally:
nothing the user typed is ever read as Typst markup. Before serialising, every string of the data
passes `egide.documents.text.neutralise_data` (no control or bidirectional formatting character
reaches Typst); reason codes are turned into French by `egide.documents.labels_fr`, never
printed themselves.

Why Typst: the ``typst`` wheel compiles a page in milliseconds with its embedded fonts and needs no
system library (WeasyPrint needs Pango); templates are readable text files with real layout
(tables that break across pages with a repeated header, page counters). Only the embedded fonts
are used (Libertinus Serif), so a document renders the same on every machine, and the PDF's
creation date is the document's issue date, so rendering the same view twice gives the same bytes.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from importlib import resources
from typing import Any

import typst

from egide.documents import labels_fr
from egide.documents.text import neutralise_data
from egide.documents.views import (
    AdviceView,
    AttestationView,
    AvenantView,
    ChangeValue,
    ConditionsParticulieresView,
    CoverageLine,
    DecompteView,
    InsuredView,
    IpidView,
    PremiumView,
    PropositionView,
    ReasonView,
    UnderwritingOutcome,
)
from egide.domain.money import fmt_eur
from egide.domain.policy import PARIS

NNBSP = "\u202f"  # narrow no-break space: thousands separator, before « % »
NBSP = "\u00a0"  # no-break space, before « : » (French typography)
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
DECISION_LABELS: Mapping[UnderwritingOutcome, str] = labels_fr.OUTCOME_LABELS

# --------------------------------------------------------------------------- French formatting


def format_eur(value: Decimal) -> str:
    """``24 570,00 €``: `egide.domain.money.fmt_eur`, the one French format of an amount (narrow
    no-break spaces between thousands and before « € », so an amount never breaks across lines;
    a comma; cents rounded half up).

    >>> format_eur(Decimal("24570"))
    '24\u202f570,00\u202f€'
    >>> format_eur(Decimal("-1234.565"))
    '-1\u202f234,57\u202f€'
    """
    return fmt_eur(value)


def format_date(value: date) -> str:
    """``28/11/2026``."""
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def format_date_long(value: date) -> str:
    """``28 novembre 2026``, ``1er janvier 2027``."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {_MONTHS[value.month - 1]} {value.year}"


def format_instant(value: datetime) -> str:
    """An aware instant at Paris time: ``12/03/2026 à 8 h 05``."""
    local = value.astimezone(PARIS)
    return f"{format_date(local.date())} à {local.hour} h {local.minute:02d}"


def format_rate(rate: Decimal) -> str:
    """A fraction as a French percentage: 0.09 → ``9 %``, 0.0925 → ``9,25 %``."""
    pct = (rate * 100).normalize()
    text = f"{pct:f}".replace(".", ",")
    return f"{text}{NNBSP}%"


def format_hours(hours: int) -> str:
    return f"{hours} heure" if hours == 1 else f"{hours} heures"


def format_days(days: int) -> str:
    return f"{days} jour" if days == 1 else f"{days} jours"


def _format_change_value(value: ChangeValue) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return format_eur(value)
    if isinstance(value, date):  # datetime is a date too
        return format_instant(value) if isinstance(value, datetime) else format_date(value)
    return str(value)


# --------------------------------------------------------------------------- pieces


def _insured(ins: InsuredView) -> dict[str, Any]:
    lines = [line.strip() for line in (ins.address or "").splitlines() if line.strip()]
    return {
        "name": ins.name,
        "kind": ins.kind_label,
        "siret": ins.siret,
        "finess": ins.finess,
        "address": lines,
    }


def _reasons(
    reasons: Iterable[ReasonView], label: Callable[[str, str], str], field: str
) -> list[dict[str, str]]:
    """The French text of each reason, from the catalogue (`labels_fr`): neither the code nor
    the domain's message is printed, and an unknown code raises `labels_fr.UnknownCode`."""
    return [{"label": label(r.code, f"{field}[{i}].code")} for i, r in enumerate(reasons)]


def _premium(p: PremiumView) -> dict[str, str]:
    return {
        "ht": format_eur(p.ht),
        "tax": format_eur(p.tax),
        "ttc": format_eur(p.ttc),
        "tax_label": f"{p.tax_name} ({format_rate(p.tax_rate)})",
    }


def _coverage_details(c: CoverageLine) -> list[str]:
    details = []
    if c.waiting_period_hours is not None:
        details.append(f"Franchise temporelle{NBSP}: {format_hours(c.waiting_period_hours)}")
    if c.indemnity_period_days is not None:
        details.append(f"Période d'indemnisation{NBSP}: {format_days(c.indemnity_period_days)}")
    return details


def _coverage(c: CoverageLine) -> dict[str, Any]:
    return {
        "label": c.label,
        "limit": format_eur(c.limit),
        "deductible": format_eur(c.deductible),
        "premium": format_eur(c.premium) if c.premium is not None else "—",
        "details": _coverage_details(c),
        "note": c.note,
    }


def _period(start: date, end: date) -> str:
    return f"du {format_date(start)} à 0 h au {format_date(end)} à 0 h (heure de Paris)"


def _footer(product_name: str | None, product_version: str | None, reference: str) -> str:
    product = " ".join(x for x in (product_name, product_version) if x)
    return f"{product} · {reference}" if product else reference


# --------------------------------------------------------------------------- compilation


def _compile(template: str, data: dict[str, Any], issued_on: date) -> bytes:
    """Compile `template` with `data` as ``sys.inputs.data``. Every string of `data` is first
    neutralised (`egide.documents.text`: no control or bidirectional formatting character
    reaches Typst). The PDF's creation date is the document's issue date (midnight UTC), which
    keeps the output reproducible."""
    payload = json.dumps(neutralise_data(data), ensure_ascii=False)
    timestamp = calendar.timegm(datetime.combine(issued_on, time()).timetuple())
    folder = resources.files("egide.documents") / "templates"
    with resources.as_file(folder) as root:
        return typst.compile(
            root / template,
            root=root,
            sys_inputs={"data": payload},
            ignore_system_fonts=True,
            timestamp=timestamp,
        )


# --------------------------------------------------------------------------- documents


def _letterhead(
    title: str,
    reference: str,
    product_name: str | None,
    product_version: str | None,
    issued_on: date,
) -> dict[str, Any]:
    """The keys every contract document (proposition, conditions, avenant, attestation) shares."""
    return {
        "title": title,
        "reference": reference,
        "footer": _footer(product_name, product_version, reference),
        "issued_on": format_date(issued_on),
        "issued_on_long": format_date_long(issued_on),
        "product": product_name,
        "version": product_version,
    }


def proposition_data(view: PropositionView) -> dict[str, Any]:
    """The JSON handed to ``proposition.typ`` (exposed for inspection and tests)."""
    terms: list[tuple[str, str]] = [
        ("Plafond annuel (tous sinistres)", format_eur(view.aggregate_limit)),
        ("Franchise par sinistre", format_eur(view.deductible)),
    ]
    timed = [
        c
        for c in view.coverages
        if c.waiting_period_hours is not None or c.indemnity_period_days is not None
    ]
    for c in timed:
        which = f" ({c.label})" if len(timed) > 1 else ""
        if c.waiting_period_hours is not None:
            terms.append((f"Franchise temporelle{which}", format_hours(c.waiting_period_hours)))
        if c.indemnity_period_days is not None:
            terms.append((f"Période d'indemnisation{which}", format_days(c.indemnity_period_days)))
    return {
        **_letterhead(
            "Proposition d'assurance",
            view.quote_number,
            view.product_name,
            view.product_version,
            view.issued_on,
        ),
        "valid_until": format_date(view.valid_until),
        "broker": view.broker_name,
        "insured": _insured(view.insured),
        "decision": {
            "code": view.decision.value,
            "label": DECISION_LABELS[view.decision],
            "reasons": _reasons(
                view.decision_reasons, labels_fr.underwriting_reason, "decision_reasons"
            ),
        },
        "score": view.security_score,
        "coverages": [_coverage(c) for c in view.coverages],
        "aggregate_limit": format_eur(view.aggregate_limit),
        "deductible": format_eur(view.deductible),
        "terms": terms,
        "premium": _premium(view.premium),
        "recommendations": [
            {
                "label": r.label,
                "saving": format_eur(r.premium_saving),
                "score_gain": f"+{r.score_gain} pts" if r.score_gain is not None else "—",
            }
            for r in view.recommendations
        ],
    }


def render_proposition(view: PropositionView) -> bytes:
    """Proposition d'assurance, PDF bytes."""
    return _compile("proposition.typ", proposition_data(view), view.issued_on)


def conditions_particulieres_data(view: ConditionsParticulieresView) -> dict[str, Any]:
    return {
        **_letterhead(
            "Conditions particulières",
            view.policy_number,
            view.product_name,
            view.product_version,
            view.issued_on,
        ),
        "broker": view.broker_name,
        "insurer": view.insurer_name,
        "place": view.place,
        "insured": _insured(view.insured),
        "period": _period(view.period_start, view.period_end),
        "trigger": view.trigger_label,
        "retroactive_date": format_date(view.retroactive_date),
        "coverages": [_coverage(c) for c in view.coverages],
        "aggregate_limit": format_eur(view.aggregate_limit),
        "deductible": format_eur(view.deductible),
        "premium": _premium(view.premium),
        "exclusions": list(view.exclusions),
    }


def render_conditions_particulieres(view: ConditionsParticulieresView) -> bytes:
    """Conditions particulières (policy schedule), PDF bytes."""
    return _compile(
        "conditions_particulieres.typ", conditions_particulieres_data(view), view.issued_on
    )


def _signed_premium(p: PremiumView) -> dict[str, str]:
    """A premium change shown as absolute amounts under a payer / refund heading."""
    if p.ttc > 0:
        direction, heading = "pay", "À payer par l'assuré"
    elif p.ttc < 0:
        direction, heading = "refund", "À rembourser à l'assuré"
    else:
        direction, heading = "none", "Sans incidence sur la prime"
    return {
        "direction": direction,
        "heading": heading,
        "ht": format_eur(abs(p.ht)),
        "tax": format_eur(abs(p.tax)),
        "ttc": format_eur(abs(p.ttc)),
        "tax_label": f"{p.tax_name} ({format_rate(p.tax_rate)})",
    }


def avenant_data(view: AvenantView) -> dict[str, Any]:
    reference = f"{view.policy_number}-A{view.endorsement_number}"
    prorata = None
    if view.term_end is not None:
        prorata = (
            f"Prorata temporis du {format_date(view.effective_date)} "
            f"au {format_date(view.term_end)} à 0 h"
        )
    return {
        **_letterhead(
            "Avenant", reference, view.product_name, view.product_version, view.issued_on
        ),
        "policy_number": view.policy_number,
        "number": str(view.endorsement_number),
        "insurer": view.insurer_name,
        "place": view.place,
        "effective_date": format_date(view.effective_date),
        "insured": _insured(view.insured),
        "reason": view.reason,
        "changes": [
            {
                "label": c.label,
                "old": _format_change_value(c.old),
                "new": _format_change_value(c.new),
            }
            for c in view.changes
        ],
        "prorata": prorata,
        "change": _signed_premium(view.premium_change),
        "annual": _premium(view.annual),
        "term": _premium(view.term_premium) if view.term_premium is not None else None,
    }


def render_avenant(view: AvenantView) -> bytes:
    """Avenant (endorsement), PDF bytes."""
    return _compile("avenant.typ", avenant_data(view), view.issued_on)


def attestation_data(view: AttestationView) -> dict[str, Any]:
    return {
        **_letterhead(
            "Attestation d'assurance",
            view.policy_number,
            view.product_name,
            view.product_version,
            view.issued_on,
        ),
        "insured": _insured(view.insured),
        "period": _period(view.period_start, view.period_end),
        "coverages": [_coverage(c) for c in view.coverages],
        "aggregate_limit": format_eur(view.aggregate_limit),
        "insurer": view.insurer_name,
        "place": view.place,
        "signatory": view.signatory_name,
        "signatory_title": view.signatory_title,
    }


def render_attestation(view: AttestationView) -> bytes:
    """Attestation d'assurance, PDF bytes."""
    return _compile("attestation.typ", attestation_data(view), view.issued_on)


def decompte_data(view: DecompteView) -> dict[str, Any]:
    balance = view.balance_due
    return {
        "title": "Décompte de sinistre",
        "reference": view.claim_reference,
        "footer": f"Sinistre {view.claim_reference} · contrat {view.policy_number}",
        "policy_number": view.policy_number,
        "issued_on": format_date(view.issued_on),
        "insured": _insured(view.insured),
        "incident_type": view.incident_type,
        "occurred_at": format_instant(view.occurred_at),
        "discovered_at": format_instant(view.discovered_at),
        "complaint_filed_at": (
            format_instant(view.complaint_filed_at)
            if view.complaint_filed_at is not None
            else "Aucune plainte enregistrée"
        ),
        "declared_at": (format_instant(view.declared_at) if view.declared_at is not None else None),
        "handler": view.handler_name,
        "lines": [
            {
                "category": line.category,
                "coverage": line.coverage,
                "claimed": format_eur(line.claimed),
                "covered": format_eur(line.covered),
                "deductible": format_eur(line.deductible_applied),
                "limit": format_eur(line.limit_reduction),
                "payable": format_eur(line.payable),
                "reasons": _reasons(line.reasons, labels_fr.claim_reason, f"lines[{i}].reasons"),
            }
            for i, line in enumerate(view.lines)
        ],
        "totals": {
            "claimed": format_eur(view.total_claimed),
            "covered": format_eur(view.total_covered),
            "deductible": format_eur(view.total_deductible),
            "limit": format_eur(view.total_limit_reduction),
            "payable": format_eur(view.total_payable),
        },
        "aggregate_limit": format_eur(view.aggregate_limit),
        "aggregate_remaining": format_eur(view.aggregate_remaining),
        "payments": [
            {"date": format_date(p.paid_on), "label": p.label, "amount": format_eur(p.amount)}
            for p in view.payments
        ],
        "total_paid": format_eur(view.total_paid),
        "balance_label": "Reste à régler" if balance >= 0 else "Trop-perçu à restituer",
        "balance": format_eur(abs(balance)),
    }


def render_decompte(view: DecompteView) -> bytes:
    """Décompte de sinistre (claim settlement statement), PDF bytes."""
    return _compile("decompte.typ", decompte_data(view), view.issued_on)


# --------------------------------------------------------------------------- distribution law
# The IPID and the fiche de devoir de conseil (egide.services.distribution builds their views).


def _amount_list(amounts: Iterable[Decimal]) -> str:
    """``100 000 €, 250 000 € ou 500 000 €``: whole euros when the amount has no cents."""
    shown = [
        format_eur(a).replace(",00", "") if a == a.to_integral_value() else format_eur(a)
        for a in amounts
    ]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} ou {shown[-1]}"


def _french(text: str) -> str:
    """French typography in a sentence: a no-break space before « : » and « ; »."""
    return text.replace(" :", f"{NBSP}:").replace(" ;", f"{NBSP};")


def ipid_data(view: IpidView) -> dict[str, Any]:
    """The JSON handed to ``ipid.typ`` (exposed for inspection and tests): the headings of
    Implementing Regulation (EU) 2017/1469 in its order, each with its lines."""
    whole = [c for c in view.coverages if c.limit_share == 1]
    restrictions = [
        f"Franchise par sinistre au choix{NBSP}: {_amount_list(view.deductible_options)}, "
        "appliquée une fois par sinistre, toutes garanties confondues.",
    ]
    for c in view.coverages:
        if c.limit_share < 1:
            restrictions.append(
                f"{c.label}{NBSP}: sous-limite par sinistre de {format_rate(c.limit_share)} du "
                "plafond annuel, sauf choix d'une autre sous-limite."
            )
        if c.sub_deductible > 0:
            restrictions.append(
                f"{c.label}{NBSP}: franchise propre de {format_eur(c.sub_deductible)}."
            )
        if c.waiting_period_hours is not None:
            hours = format_hours(c.waiting_period_hours)
            period = (
                f", dans la limite d'une période d'indemnisation de "
                f"{format_days(c.indemnity_period_days)}"
                if c.indemnity_period_days is not None
                else ""
            )
            restrictions.append(
                f"{c.label}{NBSP}: franchise temporelle de {hours} (les {hours} premières "
                f"d'interruption restent à votre charge){period}."
            )
        if c.never_paid is not None:
            restrictions.append(f"{c.label}{NBSP}: {c.never_paid}.")
    deadline = format_hours(view.complaint_deadline_hours)
    restrictions.append(
        "Pertes causées par une atteinte aux systèmes d'information : indemnisées seulement si "
        f"une plainte est déposée dans les {deadline} qui suivent sa connaissance "
        "(art. L12-10-1 du Code des assurances)."
    )
    obligations = [
        "En cas d'atteinte à vos systèmes d'information : porter plainte auprès de la police ou "
        f"de la gendarmerie dans les {deadline} qui suivent sa connaissance, faute de quoi les "
        "pertes qu'elle cause ne sont pas indemnisées (art. L12-10-1 du Code des assurances).",
        "Déclarer le sinistre à l'assureur dès que vous en avez connaissance et au plus tard "
        f"dans les {format_days(view.notice_to_insurer_days)} ouvrés "
        "(art. L113-2 4° du Code des assurances).",
        *view.obligations,
    ]
    payments = [
        *view.payments,
        f"La prime TTC comprend la {view.tax_name} au taux de {format_rate(view.tax_rate)}.",
    ]
    cancellation = [
        *view.cancellation,
        (
            "Si le contrat prend fin avant l'échéance à votre demande, la part de prime de la "
            "période non courue vous est remboursée."
            if view.refund_on_request
            else "Si le contrat prend fin avant l'échéance à votre demande, la prime de la "
            "période en cours reste acquise à l'assureur."
        ),
        (
            "En cas de résiliation pour non-paiement, la part de prime de la période non courue "
            "vous est remboursée."
            if view.refund_on_non_payment
            else "En cas de résiliation pour non-paiement, la prime reste due jusqu'à la date de "
            "résiliation, sans remboursement."
        ),
    ]
    insured = [{"label": c.label, "text": _french(c.description)} for c in view.coverages]
    return {
        "title": "Document d'information sur le produit d'assurance",
        "reference": view.reference,
        "footer": _footer(view.product_name, view.product_version, view.reference),
        "issued_on": format_date(view.issued_on),
        "insurer": view.insurer_name,
        "insurer_details": _french(view.insurer_details),
        "product": view.product_name,
        "version": view.product_version,
        "type": _french(view.product_type),
        "insured": insured,
        "insured_limits": [
            f"Plafond annuel au choix pour un établissement de ce type ({view.kind_label}){NBSP}: "
            f"{_amount_list(view.aggregate_options)}, tous sinistres et garanties confondus.",
            (
                "Chaque garantie est accordée jusqu'au plafond annuel choisi"
                + (
                    ", sauf les sous-limites indiquées ci-contre."
                    if len(whole) < len(view.coverages)
                    else "."
                )
            ),
        ],
        "not_insured": [_french(e) for e in view.exclusions],
        "restrictions": [_french(r) for r in restrictions],
        "where": [_french(t) for t in view.territory],
        "obligations": [_french(t) for t in obligations],
        "payments": [_french(t) for t in payments],
        "start_and_end": [_french(t) for t in view.start_and_end],
        "cancellation": [_french(t) for t in cancellation],
    }


def render_ipid(view: IpidView) -> bytes:
    """Document d'information normalisé sur le produit d'assurance (IPID), PDF bytes."""
    return _compile("ipid.typ", ipid_data(view), view.issued_on)


def advice_data(view: AdviceView) -> dict[str, Any]:
    """The JSON handed to ``devoir_de_conseil.typ`` (exposed for inspection and tests)."""
    return {
        **_letterhead(
            "Fiche de devoir de conseil",
            view.quote_number,
            view.product_name,
            view.product_version,
            view.issued_on,
        ),
        "insured": _insured(view.insured),
        "distributor": view.distributor,
        "distributor_role": view.distributor_role,
        "adviser": view.adviser,
        "profile": [[f.label, f.value] for f in view.profile],
        "security": [[f.label, f.value] for f in view.security],
        "history": [[f.label, f.value] for f in view.history],
        "exposures": [
            {
                "text": _french(e.text),
                "coverages": ", ".join(e.coverages),
            }
            for e in view.exposures
        ],
        "demands": [[f.label, f.value] for f in view.demands],
        "decision": {
            "code": view.decision.value,
            "label": DECISION_LABELS[view.decision],
            "reasons": _reasons(
                view.decision_reasons, labels_fr.underwriting_reason, "decision_reasons"
            ),
        },
        "score": view.security_score,
        "coverages": [_coverage(c) for c in view.coverages],
        "aggregate_limit": format_eur(view.aggregate_limit),
        "deductible": format_eur(view.deductible),
        "premium": _premium(view.premium),
        "reasons": [_french(r) for r in view.reasons],
        "recommendations": [
            {
                "label": r.label,
                "saving": format_eur(r.premium_saving),
                "score_gain": f"+{r.score_gain} pts" if r.score_gain is not None else "—",
            }
            for r in view.recommendations
        ],
    }


def render_advice(view: AdviceView) -> bytes:
    """Fiche de devoir de conseil (art. L521-4 Code des assurances), PDF bytes."""
    return _compile("devoir_de_conseil.typ", advice_data(view), view.issued_on)
