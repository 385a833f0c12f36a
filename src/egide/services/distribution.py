"""Before binding, French distribution law: the IPID, the record of the duty to advise, and the
record of their hand-over.

- `ipid_pdf`: the document d'information normalisé sur le produit d'assurance (art. L112-2 Code
  des assurances, Implementing Regulation (EU) 2017/1469), made from the product version the
  quote was priced with and the options offered to its kind of establishment.
- `advice_pdf`: the fiche de devoir de conseil (art. L521-4 Code des assurances): the needs and
  demands taken from the quote's questionnaire, the cover proposed and why it fits.
- `record_handover`: the hand-over of those exact PDF bytes (time, principal, channel, SHA-256),
  append-only and sealed in the quote's audit chain; `handover_status` says whether both current
  documents were handed over; `ensure_handover_for_bind` is what a bind calls: through the web it
  refuses a bind until the hand-over is recorded, through the CLI or the API it records the
  hand-over as made by the acting principal (the broker's or the insurer's system attests it).

Both documents are reproducible: their views depend only on the stored quote and the stored
product, and the PDF's date is the quote's, so the same quote renders the same bytes. "Current"
documents are those the quote renders now; a hand-over whose hash differs (the template or the
product's texts changed since) no longer counts.

Every function acts for a principal: a quote the principal may not see does not exist
(`NotFound`); reading the documents needs ``quote.read``, recording a hand-over ``policy.bind``
(only those who may bind attest a hand-over).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.documents.views import (
    AdviceView,
    CoverageLine,
    Exposure,
    Fact,
    InsuredView,
    IpidCoverage,
    IpidView,
    PremiumView,
    ReasonView,
    RecommendationView,
)
from egide.domain.access import Action, Principal, history_actor
from egide.domain.application import KIND_LABELS_FR, Application, parse_application
from egide.domain.errors import Conflict, FieldError, InvalidInput
from egide.domain.handover import (
    ADVICE,
    CHANNELS,
    DOCUMENT_LABELS_FR,
    DOCUMENTS,
    IPID,
    Handover,
)
from egide.domain.money import cents
from egide.domain.policy import paris_date
from egide.domain.product import Distribution, Product, load_distribution
from egide.domain.quote_record import StoredQuote
from egide.domain.text import require_parameters
from egide.services.ports import UnitOfWork
from egide.services.products import stored_product


class HandoverMissing(Conflict):
    """A bind through the web before the IPID and the fiche de conseil were handed over (exit 3,
    HTTP 409). `missing` names the documents (`egide.domain.handover.DOCUMENTS`)."""

    code = "handover_missing"

    def __init__(self, quote_number: str, missing: tuple[str, ...]) -> None:
        self.quote_number = quote_number
        self.missing = missing
        names = " and ".join(f"{d} ({DOCUMENT_LABELS_FR[d]})" for d in missing)
        super().__init__(
            f"quote {quote_number}: the hand-over of {names} is not recorded: show the "
            f"document{'s' if len(missing) > 1 else ''} and record the hand-over before binding "
            "[handover_missing]"
        )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RenderedDocument:
    """A pre-contractual document as handed over: its kind, a file name, the PDF bytes."""

    document: str  # ipid | devoir_de_conseil
    filename: str
    pdf: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


@dataclass(frozen=True)
class DocumentStatus:
    """One document: the hash of its current bytes and, when they were handed over, when, by
    whom and through which channel (the latest hand-over of those bytes)."""

    document: str
    sha256: str
    handed_over_at: datetime | None = None
    channel: str | None = None
    by: str | None = None

    @property
    def handed_over(self) -> bool:
        return self.handed_over_at is not None

    def public(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "sha256": self.sha256,
            "handed_over": self.handed_over,
            "handed_over_at": iso_paris(self.handed_over_at) if self.handed_over_at else None,
            "channel": self.channel,
            "by": self.by,
        }


@dataclass(frozen=True)
class HandoverStatus:
    quote_number: str
    documents: tuple[DocumentStatus, ...]

    @property
    def complete(self) -> bool:
        """Both current documents were handed over."""
        return all(d.handed_over for d in self.documents)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(d.document for d in self.documents if not d.handed_over)

    def public(self) -> dict[str, Any]:
        return {
            "quote_number": self.quote_number,
            "complete": self.complete,
            "documents": [d.public() for d in self.documents],
        }


# --------------------------------------------------------------------------- the IPID


@functools.lru_cache(maxsize=1)
def _packaged_distribution() -> Distribution:
    """The packaged statements (`load_distribution`), read once per process."""
    return load_distribution()


def _distribution(product: Product) -> Distribution:
    """The product's own [distribution] table when its file has one, else the packaged
    statements (`products/distribution-fr.toml`: the law's and the insurer's, not a price)."""
    return product.distribution if product.distribution is not None else _packaged_distribution()


def ipid_view(product: Product, kind: str, reference: str, issued_on: Any) -> IpidView:
    """The IPID of `product` for a kind of establishment (pure: no storage)."""
    dist = _distribution(product)
    coverages = []
    for cov in product.coverages.values():
        never_paid = None
        if cov.code == "cyber_extortion" and not cov.ransom_payment_covered:
            never_paid = "la rançon elle-même n'est pas prise en charge"
        if cov.code == "regulatory_investigation" and not cov.fines_insurable:
            never_paid = "les amendes administratives (CNIL) ne sont pas assurables"
        wait = cov.waiting_period_hours
        coverages.append(
            IpidCoverage(
                label=cov.label,
                description=cov.description,
                limit_share=cov.default_limit_share,
                sub_deductible=cov.sub_deductible,
                waiting_period_hours=int(wait) if wait is not None else None,
                indemnity_period_days=(
                    int(cov.indemnity_period_days) if cov.indemnity_period_days else None
                ),
                never_paid=never_paid,
            )
        )
    return IpidView(
        reference=reference,
        issued_on=issued_on,
        insurer_name=dist.insurer,
        insurer_details=dist.insurer_details,
        product_name=product.name,
        product_version=product.version,
        product_type=dist.product_type,
        kind_label=KIND_LABELS_FR[kind],
        coverages=coverages,
        aggregate_options=product.aggregate_amounts(kind),
        deductible_options=product.deductible_amounts(kind),
        exclusions=[e.label for e in product.exclusions],
        territory=dist.territory,
        obligations=dist.obligations,
        payments=dist.payments,
        start_and_end=dist.start_and_end,
        cancellation=dist.cancellation,
        complaint_deadline_hours=product.complaint_deadline_hours,
        notice_to_insurer_days=product.notice_to_insurer_days,
        tax_name=product.tax_name,
        tax_rate=product.tax_rate,
        refund_on_request=product.cancellation["insured_request"] == "pro_rata",
        refund_on_non_payment=product.cancellation["non_payment"] == "pro_rata",
    )


# --------------------------------------------------------------------------- the advice record


def _yes(value: bool | None, none: str = "Sans objet") -> str:
    return none if value is None else ("Oui" if value else "Non")


def _int(n: int | Decimal) -> str:
    """``6 000``: a count with a narrow no-break space between thousands."""
    return f"{int(n):,}".replace(",", "\u202f")


def _eur(amount: Decimal) -> str:
    from egide.documents.render import format_eur

    return format_eur(amount)


_NIS2_FR = {
    "essential": "Entité essentielle",
    "important": "Entité importante",
    "not_subject": "Non concerné",
}


def _profile(app: Application) -> list[Fact]:
    e = app.establishment
    facts = [
        Fact("Raison sociale", e.name),
        Fact("Type d'établissement", KIND_LABELS_FR[e.type]),
        Fact("SIRET", e.siret),
        Fact("Chiffre d'affaires annuel", _eur(e.annual_revenue)),
        Fact("Effectif", _int(e.employees)),
        Fact("Dossiers de patients conservés", _int(e.patient_records)),
    ]
    if e.beds:
        facts.append(Fact("Lits", _int(e.beds)))
    place = " ".join(x for x in (e.postcode, e.city) if x)
    if place:
        facts.append(Fact("Localisation", place))
    if e.nis2_category is not None:
        facts.append(Fact("Directive NIS2", _NIS2_FR[e.nis2_category]))
    return facts


def _security(app: Application, product: Product) -> list[Fact]:
    from egide.documents.render import format_rate

    s, model = app.security, product.risk_model
    facts = [
        Fact(control.label, _yes(getattr(s, code), "Sans objet (aucun dispositif connecté)"))
        for code, control in model.controls.items()
    ]
    if "critical_patch_days" in model.graded:
        facts.append(
            Fact(
                "Délai d'application des correctifs critiques",
                f"{s.critical_patch_days} jours",
            )
        )
    if "security_budget_share" in model.graded:
        facts.append(
            Fact(model.graded["security_budget_share"].label, format_rate(s.security_budget_share))
        )
    if s.crisis_exercise is not None:
        facts.append(Fact("Exercice de crise annuel", _yes(s.crisis_exercise)))
    return facts


def _history(app: Application) -> list[Fact]:
    h = app.history
    facts = [
        Fact("Incidents de sécurité", _int(h.incidents_last_5_years)),
        Fact("Dont rançongiciels", _int(h.ransomware_last_5_years)),
    ]
    if h.known_circumstances:
        facts.append(Fact("Faits connus pouvant donner lieu à un sinistre", "Oui"))
    return facts


def _exposures(app: Application, product: Product) -> list[Exposure]:
    """What the answers reveal, each with the coverages that answer it (French, from the
    answers only: no threshold of its own)."""
    from egide.domain.incident_clock import ARS_CONCERNED

    e, s, h = app.establishment, app.security, app.history
    label = {code: cov.label for code, cov in product.coverages.items()}
    out: list[Exposure] = []
    if e.patient_records > 0:
        out.append(
            Exposure(
                f"Vous conservez les données de santé de {_int(e.patient_records)} patients : "
                "leur fuite oblige à notifier la CNIL et les patients, expose aux réclamations "
                "des patients (préjudice moral compris) et à une enquête de la CNIL.",
                [
                    label["data_liability"],
                    label["crisis_management"],
                    label["regulatory_investigation"],
                ],
            )
        )
    care = "la continuité des soins, jour et nuit" if e.beds else "les consultations et les soins"
    out.append(
        Exposure(
            "Votre activité dépend de votre système d'information (dossier patient, agenda, "
            f"facturation) : un rançongiciel ou une panne arrête {care} et fait perdre une part "
            f"d'un chiffre d'affaires annuel de {_eur(e.annual_revenue)}.",
            [label["business_interruption"], label["data_restoration"], label["cyber_extortion"]],
        )
    )
    if not s.offline_backups:
        out.append(
            Exposure(
                "Sans sauvegardes hors ligne ou immuables, un rançongiciel peut chiffrer aussi les "
                "sauvegardes : la restauration devient longue, voire impossible.",
                [label["data_restoration"], label["cyber_extortion"]],
            )
        )
    elif not s.backup_restore_tested:
        out.append(
            Exposure(
                "La restauration des sauvegardes n'a pas été testée depuis un an : la durée d'un "
                "arrêt est incertaine.",
                [label["business_interruption"], label["data_restoration"]],
            )
        )
    if not s.mfa_remote_access and app.technology.remote_access_vendor != "none":
        out.append(
            Exposure(
                "Accès à distance sans authentification multifacteur : la première porte d'entrée "
                "des rançongiciels.",
                [label["cyber_extortion"], label["business_interruption"]],
            )
        )
    if not s.mfa_email:
        out.append(
            Exposure(
                "Messagerie sans authentification multifacteur : comptes exposés à l'hameçonnage "
                "et à l'usurpation.",
                [label["crisis_management"], label["data_liability"]],
            )
        )
    if s.medical_devices_segmented is False:
        out.append(
            Exposure(
                "Dispositifs médicaux connectés sur le même réseau que les postes : une attaque "
                "peut les atteindre.",
                [label["business_interruption"]],
            )
        )
    if not s.hds_hosting:
        out.append(
            Exposure(
                "Données de santé hors d'un hébergeur certifié HDS (art. L1111-8 du Code de la "
                "santé publique) : un manquement que relèverait une enquête.",
                [label["regulatory_investigation"]],
            )
        )
    if not s.incident_response_plan:
        out.append(
            Exposure(
                "Pas de plan de réponse aux incidents : la gestion d'une crise reposera sur des "
                "intervenants extérieurs.",
                [label["crisis_management"]],
            )
        )
    if e.type in ARS_CONCERNED:
        out.append(
            Exposure(
                "Établissement tenu de signaler sans délai ses incidents graves à l'ARS (CERT "
                "Santé, art. L1111-8-2 du Code de la santé publique).",
                [label["crisis_management"], label["regulatory_investigation"]],
            )
        )
    if h.incidents_last_5_years or h.ransomware_last_5_years:
        out.append(
            Exposure(
                f"{_int(h.incidents_last_5_years)} incident(s) de sécurité dont "
                f"{_int(h.ransomware_last_5_years)} rançongiciel(s) déclarés sur les 5 dernières "
                "années : le risque s'est déjà réalisé.",
            )
        )
    if h.known_circumstances:
        out.append(
            Exposure(
                "Vous avez déclaré des faits connus pouvant donner lieu à un sinistre : ils sont "
                "exclus du contrat (faits connus avant la date d'effet)."
            )
        )
    return out


def _reasons(app: Application, product: Product, quote: StoredQuote) -> list[str]:
    """Why the proposal fits, from the answers, the options and the underwriting decision."""
    from egide.documents.render import format_rate

    e, cover = app.establishment, app.cover
    kind = KIND_LABELS_FR[e.type]
    limits = product.aggregate_amounts(e.type)
    deductibles = product.deductible_amounts(e.type)
    r = quote.result
    reasons = [
        "Les six garanties du produit répondent chacune à un des risques relevés ci-dessus : "
        "vos propres pertes (interruption, restauration, extorsion), les frais de crise et votre "
        "responsabilité envers les patients et les autorités.",
        f"Plafond annuel de {_eur(cover.limit)}, celui que vous avez demandé, parmi les plafonds "
        f"proposés pour un établissement de ce type ({kind}) : de {_eur(min(limits))} à "
        f"{_eur(max(limits))} ; il représente {format_rate(_share(cover.limit, e.annual_revenue))} "
        "de votre chiffre d'affaires annuel.",
        f"Franchise de {_eur(cover.deductible)} par sinistre, celle que vous avez choisie (de "
        f"{_eur(min(deductibles))} à {_eur(max(deductibles))} pour ce type d'établissement) : "
        "elle reste à votre charge une fois par sinistre, toutes garanties confondues.",
    ]
    if cover.sublimits:
        labels = ", ".join(product.coverages[c].label for c in sorted(cover.sublimits))
        reasons.append(f"Sous-limites choisies par vous pour : {labels}.")
    score = int(r["security_score"])
    reasons.append(
        f"Score de sécurité de {score}/100 d'après vos mesures déclarées : la prime de "
        f"{_eur(Decimal(r['premium']['total']))} TTC par an en tient compte, garantie par "
        "garantie."
    )
    reasons.append(
        {
            "accept": "Les règles de souscription sont satisfaites : la proposition peut être "
            "acceptée telle quelle.",
            "refer": "Vos réponses demandent l'examen d'un souscripteur (motifs ci-dessous) : la "
            "proposition ne pourra être acceptée qu'après son accord.",
            "decline": "En l'état de vos réponses, l'assureur ne peut pas proposer ce contrat "
            "(motifs ci-dessous) : nous vous conseillons de mettre en œuvre les mesures "
            "recommandées avant une nouvelle demande.",
        }[quote.decision]
    )
    if app.history.known_circumstances:
        reasons.append(
            "Les faits connus que vous avez déclarés ne seront pas couverts : le contrat "
            "exclut les faits connus avant sa date d'effet."
        )
    if r.get("recommendations"):
        reasons.append(
            "Les recommandations ci-dessous réduiraient le risque et la prime : nous vous "
            "conseillons de les mettre en œuvre."
        )
    return reasons


def _share(part: Decimal, whole: Decimal) -> Decimal:
    if whole <= 0:
        return Decimal(0)
    return (part / whole).quantize(Decimal("0.01"))


def _coverage_lines(quote: StoredQuote, product: Product) -> list[CoverageLine]:
    lines = []
    for c in quote.result["coverages"]:
        cov = product.coverages[c["code"]]
        bi = "waiting_period_hours" in c
        lines.append(
            CoverageLine(
                label=cov.label,
                limit=cents(Decimal(c["limit"])),
                deductible=cents(Decimal(c.get("sub_deductible", "0"))),
                premium=cents(Decimal(c["premium"])),
                waiting_period_hours=int(c["waiting_period_hours"]) if bi else None,
                indemnity_period_days=int(c["indemnity_period_days"]) if bi else None,
                note=(
                    "Paiement de rançon non couvert"
                    if c["code"] == "cyber_extortion" and not cov.ransom_payment_covered
                    else None
                ),
            )
        )
    return lines


def _recommendations(app: Application, product: Product, quote: StoredQuote) -> list[Any]:
    """Each recommendation of the quote with the premium it would save (re-priced here, as the
    proposition does)."""
    from egide.domain.rating import price

    current = price(app, product)
    out = []
    for rec in quote.result.get("recommendations", []):
        code = rec["code"]
        if code in product.risk_model.controls:
            better = app.with_security(**{code: True})
        elif code in product.risk_model.graded:
            good = product.risk_model.graded[code].good
            value = int(good) if code == "critical_patch_days" else good
            better = app.with_security(**{code: value})
        else:
            continue
        out.append(
            RecommendationView(
                label=rec["message"],
                premium_saving=cents(current.net - price(better, product).net),
                score_gain=int(rec["score_change"]),
            )
        )
    return out


def advice_view(uow: UnitOfWork, quote: StoredQuote, product: Product) -> AdviceView:
    """The fiche de devoir de conseil of a stored quote (inside the caller's unit of work: it
    reads the broker of record's name)."""
    from egide.documents import labels_fr

    app = parse_application(quote.application, product, f"quote {quote.number}")
    e = app.establishment
    if quote.broker_id is not None and (org := uow.accounts.organisation(quote.broker_id)):
        distributor, role = org.name, "Courtier, intermédiaire d'assurance"
    else:
        distributor, role = uow.accounts.insurer().name, "Assureur (vente directe)"
    r = quote.result
    premium = r["premium"]
    net, tax = cents(Decimal(premium["net"])), cents(Decimal(premium["tax"]))
    demands = [
        Fact("Plafond annuel demandé", _eur(app.cover.limit)),
        Fact("Franchise par sinistre choisie", _eur(app.cover.deductible)),
    ]
    for code, amount in sorted(app.cover.sublimits.items()):
        demands.append(Fact(f"Sous-limite {product.coverages[code].label}", _eur(amount)))
    return AdviceView(
        quote_number=quote.number,
        issued_on=paris_date(quote.created_at),
        product_name=product.name,
        product_version=product.version,
        insured=InsuredView(
            name=e.name,
            kind_label=KIND_LABELS_FR[e.type],
            siret=e.siret,
            finess=e.finess,
            address=" ".join(x for x in (e.postcode, e.city) if x) or None,
        ),
        distributor=distributor,
        distributor_role=role,
        adviser=quote.actor,
        profile=_profile(app),
        security=_security(app, product),
        history=_history(app),
        exposures=_exposures(app, product),
        demands=demands,
        decision=labels_fr.decision_outcome(quote.decision),
        decision_reasons=[ReasonView(x["code"], x.get("message")) for x in r["reasons"]],
        security_score=int(r["security_score"]),
        coverages=_coverage_lines(quote, product),
        aggregate_limit=cents(app.cover.limit),
        deductible=cents(app.cover.deductible),
        premium=PremiumView(
            ht=net, tax=tax, ttc=net + tax, tax_rate=product.tax_rate, tax_name=product.tax_name
        ),
        reasons=_reasons(app, product, quote),
        recommendations=_recommendations(app, product, quote),
    )


# --------------------------------------------------------------------------- rendering


def _render(uow: UnitOfWork, quote: StoredQuote) -> dict[str, RenderedDocument]:
    """Both documents of a quote, as they render now (inside the caller's unit of work)."""
    from egide.documents.render import render_advice, render_ipid

    product = stored_product(uow, quote.product_ref)
    kind = quote.application["establishment"]["type"]
    ipid = ipid_view(product, kind, quote.number, paris_date(quote.created_at))
    advice = advice_view(uow, quote, product)
    return {
        IPID: RenderedDocument(IPID, f"{quote.number}-ipid.pdf", render_ipid(ipid)),
        ADVICE: RenderedDocument(
            ADVICE, f"{quote.number}-devoir-de-conseil.pdf", render_advice(advice)
        ),
    }


def _quote(uow: UnitOfWork, principal: Principal, action: Action, number: str) -> StoredQuote:
    from egide.services.quotes import quote_row

    return quote_row(uow, principal, action, number)


def _one_document(
    uow: UnitOfWork, principal: Principal, quote_number: str, document: str
) -> RenderedDocument:
    require_parameters(quote_number=quote_number)
    with uow:
        quote = _quote(uow, principal, Action.QUOTE_READ, quote_number)
        return _render(uow, quote)[document]


def ipid_pdf(uow: UnitOfWork, principal: Principal, quote_number: str) -> RenderedDocument:
    """The IPID of a quote's product, as it is handed over (PDF bytes, file name, SHA-256)."""
    return _one_document(uow, principal, quote_number, IPID)


def advice_pdf(uow: UnitOfWork, principal: Principal, quote_number: str) -> RenderedDocument:
    """The fiche de devoir de conseil of a quote (PDF bytes, file name, SHA-256)."""
    return _one_document(uow, principal, quote_number, ADVICE)


# --------------------------------------------------------------------------- hand-over


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput([FieldError("channel", "enum", f"must be one of {', '.join(CHANNELS)}")])


def _status(
    quote_number: str, current: Mapping[str, RenderedDocument], recorded: list[Handover]
) -> HandoverStatus:
    documents = []
    for name in DOCUMENTS:
        sha = current[name].sha256
        done = [h for h in recorded if h.document == name and h.sha256 == sha]
        last = done[-1] if done else None
        documents.append(
            DocumentStatus(
                name,
                sha,
                handed_over_at=last.handed_over_at if last else None,
                channel=last.channel if last else None,
                by=last.actor if last else None,
            )
        )
    return HandoverStatus(quote_number, tuple(documents))


def _append(
    uow: UnitOfWork,
    principal: Principal,
    quote: StoredQuote,
    documents: Mapping[str, bytes],
    channel: str,
) -> None:
    """One hand-over row per document and its audit entry (the caller commits)."""
    from egide.services import audit

    who = history_actor(principal)
    moment = clock_now()
    for name in DOCUMENTS:
        if name not in documents:
            continue
        stored = uow.handovers.add(
            Handover(
                quote_number=quote.number,
                document=name,
                sha256=hashlib.sha256(documents[name]).hexdigest(),
                channel=channel,
                handed_over_at=moment,
                actor=who,
                principal_kind=principal.kind,
                principal_id=principal.id,
                organisation_id=principal.organisation_id,
                product_ref=quote.product_ref,
            )
        )
        audit.record(uow, stored, "handed over", who)


def record_handover(
    uow: UnitOfWork,
    principal: Principal,
    quote_number: str,
    channel: str,
    documents: Mapping[str, bytes],
) -> HandoverStatus:
    """Record that `documents` ({"ipid" | "devoir_de_conseil": the exact PDF bytes shown}) were
    handed over for the quote, through `channel` (web, cli, api), by the principal. Each must be
    the quote's current document, byte for byte: a stale or altered PDF is refused (the field
    names it) and nothing is written. Returns the hand-over status after it."""
    require_parameters(quote_number=quote_number)
    _check_channel(channel)
    errors = []
    if not documents:
        errors.append(FieldError("documents", "required", "name at least one document"))
    for name in documents:
        if name not in DOCUMENTS:
            errors.append(
                FieldError(f"documents.{name}", "enum", f"must be one of {', '.join(DOCUMENTS)}")
            )
    if errors:
        raise InvalidInput(errors)
    with uow:
        quote = _quote(uow, principal, Action.POLICY_BIND, quote_number)
        current = _render(uow, quote)
        for name, pdf in documents.items():
            if hashlib.sha256(pdf).hexdigest() != current[name].sha256:
                errors.append(
                    FieldError(
                        f"documents.{name}",
                        "current_document",
                        f"is not the current {DOCUMENT_LABELS_FR[name]} of quote {quote_number}"
                        ": hand over the document as it is shown now",
                    )
                )
        if errors:
            raise InvalidInput(errors)
        _append(uow, principal, quote, documents, channel)
        status = _status(quote.number, current, uow.handovers.of_quote(quote.number))
        uow.commit()
    return status


def handover_status(uow: UnitOfWork, principal: Principal, quote_number: str) -> HandoverStatus:
    """Whether both current documents of the quote were handed over, and when, by whom, how."""
    require_parameters(quote_number=quote_number)
    with uow:
        quote = _quote(uow, principal, Action.QUOTE_READ, quote_number)
        return _status(quote.number, _render(uow, quote), uow.handovers.of_quote(quote.number))


def ensure_handover_for_bind(
    uow: UnitOfWork, principal: Principal, quote_number: str, channel: str
) -> HandoverStatus:
    """What a bind calls, inside its own unit of work (it commits the records with the policy).

    Through the web, a bind is refused (`HandoverMissing`, naming the documents) until both
    current documents were handed over. Through the CLI or the API it is never refused for
    this: the documents not yet handed over are recorded as handed over by the acting principal
    through that channel (the broker's or the insurer's system attests that it gave them)."""
    _check_channel(channel)
    quote = _quote(uow, principal, Action.POLICY_BIND, quote_number)
    current = _render(uow, quote)
    status = _status(quote.number, current, uow.handovers.of_quote(quote.number))
    if status.complete:
        return status
    if channel == "web":
        raise HandoverMissing(quote.number, status.missing)
    missing = {name: current[name].pdf for name in status.missing}
    _append(uow, principal, quote, missing, channel)
    return _status(quote.number, current, uow.handovers.of_quote(quote.number))
