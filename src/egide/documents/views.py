"""What a document shows: plain values, labels already in French.

The documents know neither the database nor the domain. The policy and claims code map their
objects to these views; the render functions (`egide.documents.render`) lay them out. Money is
`Decimal` in euros (formatted ``24 570,00 €`` by the renderer), dates are `date`, instants that
matter legally are time-zone-aware `datetime` (shown at Paris time). Labels (coverage names,
kinds of establishment, categories of costs) arrive in French and are printed as they are,
literally: a ``#`` or a ``*`` in a name is text, never markup. Reasons arrive as codes: their
French text comes from the documents' catalogue (`egide.documents.labels_fr`). Every string is
stripped of control and bidirectional formatting characters before printing
(`egide.documents.text`), and a long word without spaces wraps inside its box (``egide.typ``).

A view checks the arithmetic it prints (HT + tax = TTC; a settlement line adds up) so that a
mapping mistake fails loudly instead of producing a document whose figures disagree; the error
(`DocumentDataError`) names the field and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class DocumentDataError(ValueError):
    """A view whose values contradict each other: `field` is the dotted path, `rule` a code."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {message} [{rule}]")


def _require_aware(field: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise DocumentDataError(field, "aware_datetime", "must be time-zone aware")


def _require_non_negative(field: str, value: Decimal) -> None:
    if value < 0:
        raise DocumentDataError(field, "non_negative", f"must be >= 0, got {value}")


# --------------------------------------------------------------------------- shared pieces


class UnderwritingOutcome(StrEnum):
    """The underwriting decision printed on a proposal (label chosen by the renderer)."""

    ACCEPTED = "accepted"  # « Acceptée »
    REFERRED = "referred"  # « À examiner par un souscripteur »
    DECLINED = "declined"  # « Refusée »


@dataclass(frozen=True)
class InsuredView:
    """The establishment (its texts are neutralised before printing: `egide.documents.text`). `kind_label` in French (« Clinique », « Centre hospitalier »…);
    `address` may hold several lines separated by ``\\n``."""

    name: str
    kind_label: str
    siret: str
    finess: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ReasonView:
    """A reason code (decision reasons, settlement motifs).

    The document prints the French text the catalogue `egide.documents.labels_fr` gives for
    `code`, never the code and never `label`: `label` is the domain's own message, kept for the
    callers that pass it, and ignored by the renderer (a message written for scripts or in English
    must not reach an establishment). A code the catalogue does not know fails the rendering.
    """

    code: str
    label: str | None = None


@dataclass(frozen=True)
class CoverageLine:
    """One coverage of a quote or a policy.

    `limit` is the coverage's plafond or sous-limite (per claim), `deductible` its own franchise.
    `waiting_period_hours` and `indemnity_period_days` are set only where relevant (business
    interruption). `premium` is the coverage's premium before tax, when the document shows it.
    `note` is a short French remark printed under the label (« Rançon non couverte »).
    """

    label: str
    limit: Decimal
    deductible: Decimal = ZERO
    premium: Decimal | None = None
    waiting_period_hours: int | None = None
    indemnity_period_days: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class PremiumView:
    """A premium: before tax (`ht`), the tax (`tax_name` such as « TSCA », `tax_rate` as a
    fraction, 0.09 for 9 %), and including tax (`ttc`). Signed: an endorsement's change may be
    negative (a refund). ``ht + tax == ttc`` to the cent."""

    ht: Decimal
    tax: Decimal
    ttc: Decimal
    tax_rate: Decimal
    tax_name: str = "TSCA"

    def __post_init__(self) -> None:
        if self.ht + self.tax != self.ttc:
            raise DocumentDataError(
                "premium.ttc",
                "ht_plus_tax",
                f"{self.ttc} is not ht + tax = {self.ht} + {self.tax}",
            )
        if not ZERO <= self.tax_rate < 1:
            raise DocumentDataError("premium.tax_rate", "fraction", "must be in [0, 1)")


# --------------------------------------------------------------------------- 1. proposition


@dataclass(frozen=True)
class RecommendationView:
    """A security improvement and the premium it would save (before tax, per year)."""

    label: str
    premium_saving: Decimal
    score_gain: int | None = None


@dataclass(frozen=True)
class PropositionView:
    """Proposition d'assurance, made from a priced quote."""

    quote_number: str
    issued_on: date
    valid_until: date
    product_name: str
    product_version: str
    insured: InsuredView
    decision: UnderwritingOutcome
    decision_reasons: Sequence[ReasonView]
    security_score: int  # out of 100
    coverages: Sequence[CoverageLine]
    aggregate_limit: Decimal
    deductible: Decimal
    premium: PremiumView
    recommendations: Sequence[RecommendationView] = ()
    broker_name: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.security_score <= 100:
            raise DocumentDataError("security_score", "range", "must be between 0 and 100")
        if self.valid_until < self.issued_on:
            raise DocumentDataError("valid_until", "after_issue", "must not precede issued_on")


# --------------------------------------------------------------------------- 2. conditions part.


@dataclass(frozen=True)
class ConditionsParticulieresView:
    """Conditions particulières (policy schedule).

    The period runs from `period_start` at 0 h to `period_end` at 0 h, Paris time (`period_end`
    is the first day no longer covered). `exclusions` are the French labels of the main
    exclusions.
    """

    policy_number: str
    issued_on: date
    product_name: str
    product_version: str
    insured: InsuredView
    period_start: date
    period_end: date
    retroactive_date: date
    coverages: Sequence[CoverageLine]
    aggregate_limit: Decimal
    deductible: Decimal
    premium: PremiumView
    exclusions: Sequence[str]
    trigger_label: str = "Base réclamation"
    broker_name: str | None = None
    insurer_name: str = "Égide"
    place: str = "Paris"  # « Fait à Paris, le … »

    def __post_init__(self) -> None:
        if self.period_end <= self.period_start:
            raise DocumentDataError("period_end", "after_start", "must follow period_start")
        if self.retroactive_date > self.period_start:
            raise DocumentDataError(
                "retroactive_date", "not_after_start", "must not follow period_start"
            )


# --------------------------------------------------------------------------- 3. avenant

ChangeValue = str | Decimal | date | int | None


@dataclass(frozen=True)
class ChangeView:
    """One change « ancien → nouveau ». Decimals print as euros, dates as dd/mm/yyyy, ints as
    they are, None as « — », strings literally (already French)."""

    label: str
    old: ChangeValue
    new: ChangeValue


@dataclass(frozen=True)
class AvenantView:
    """Avenant (endorsement).

    `premium_change` is signed: positive, the insured pays it; negative, it is refunded.
    `annual_premium` is the annual premium of the contract after the change, printed under
    « Nouvelle prime annuelle » on every avenant, a cancellation's included: it is a rate for a
    full year, never prorated. `term_premium` (optional) is the premium of the current period of
    insurance after the change (prorated: for a cancellation, what the shortened period costs),
    printed on its own line « Prime de la période d'assurance ». `term_end` (optional) is the
    end of the period the change is prorated over.
    """

    policy_number: str
    endorsement_number: int
    issued_on: date
    effective_date: date
    insured: InsuredView
    changes: Sequence[ChangeView]
    premium_change: PremiumView
    annual_premium: PremiumView
    reason: str | None = None
    term_end: date | None = None
    product_name: str | None = None
    product_version: str | None = None
    insurer_name: str = "Égide"
    place: str = "Paris"
    term_premium: PremiumView | None = None

    def __post_init__(self) -> None:
        if self.endorsement_number < 1:
            raise DocumentDataError("endorsement_number", "positive", "must be >= 1")
        if not self.changes:
            raise DocumentDataError("changes", "not_empty", "an endorsement changes something")

    @property
    def annual(self) -> PremiumView:
        return self.annual_premium


# --------------------------------------------------------------------------- 4. attestation


@dataclass(frozen=True)
class AttestationView:
    """Attestation d'assurance: the insured holds `policy_number` for the period (same
    convention as the schedule: 0 h to 0 h, Paris time)."""

    policy_number: str
    issued_on: date
    product_name: str
    product_version: str
    insured: InsuredView
    period_start: date
    period_end: date
    coverages: Sequence[CoverageLine]
    aggregate_limit: Decimal
    insurer_name: str = "Égide"
    place: str = "Paris"
    signatory_name: str | None = None
    signatory_title: str | None = None

    def __post_init__(self) -> None:
        if self.period_end <= self.period_start:
            raise DocumentDataError("period_end", "after_start", "must follow period_start")


# --------------------------------------------------------------------------- 5. décompte


@dataclass(frozen=True)
class SettlementLineView:
    """One line of a claim settlement.

    `claimed`: what the insured asked for; `covered`: what falls within the coverage (after
    exclusions and, for business interruption, the waiting and indemnity periods);
    `deductible_applied`: the franchises taken on this line (coverage and policy);
    `limit_reduction`: what the sub-limit and the annual aggregate cut; `payable`: what is paid.
    ``payable == covered - deductible_applied - limit_reduction`` and ``covered <= claimed``.
    """

    category: str  # catégorie de frais, in French
    coverage: str  # garantie label, in French
    claimed: Decimal
    covered: Decimal
    deductible_applied: Decimal
    limit_reduction: Decimal
    payable: Decimal
    reasons: Sequence[ReasonView] = ()

    def __post_init__(self) -> None:
        for name in ("claimed", "covered", "deductible_applied", "limit_reduction", "payable"):
            _require_non_negative(f"line.{name}", getattr(self, name))
        if self.covered > self.claimed:
            raise DocumentDataError("line.covered", "at_most_claimed", "exceeds the claimed amount")
        if self.covered - self.deductible_applied - self.limit_reduction != self.payable:
            raise DocumentDataError(
                "line.payable",
                "adds_up",
                f"{self.payable} is not covered - deductible - limit reduction = "
                f"{self.covered} - {self.deductible_applied} - {self.limit_reduction}",
            )


@dataclass(frozen=True)
class PaymentView:
    """A payment already made on the claim."""

    paid_on: date
    amount: Decimal
    label: str = "Règlement"


@dataclass(frozen=True)
class DecompteView:
    """Décompte de sinistre (claim settlement statement).

    `aggregate_remaining` is the annual aggregate left after this settlement. Totals are derived
    from the lines, never given.
    """

    claim_reference: str
    policy_number: str
    issued_on: date
    insured: InsuredView
    incident_type: str  # French label, « Rançongiciel »
    occurred_at: datetime  # survenance
    discovered_at: datetime  # découverte
    complaint_filed_at: datetime | None  # plainte (art. L12-10-1 C. assur.), None if none
    lines: Sequence[SettlementLineView]
    aggregate_limit: Decimal
    aggregate_remaining: Decimal
    payments: Sequence[PaymentView] = ()
    declared_at: datetime | None = None  # déclaration à l'assureur
    handler_name: str | None = None

    def __post_init__(self) -> None:
        _require_aware("occurred_at", self.occurred_at)
        _require_aware("discovered_at", self.discovered_at)
        _require_aware("complaint_filed_at", self.complaint_filed_at)
        _require_aware("declared_at", self.declared_at)
        if not self.lines:
            raise DocumentDataError("lines", "not_empty", "a settlement has at least one line")
        if not ZERO <= self.aggregate_remaining <= self.aggregate_limit:
            raise DocumentDataError(
                "aggregate_remaining", "within_limit", "must be between 0 and aggregate_limit"
            )

    @property
    def total_claimed(self) -> Decimal:
        return sum((line.claimed for line in self.lines), ZERO)

    @property
    def total_covered(self) -> Decimal:
        return sum((line.covered for line in self.lines), ZERO)

    @property
    def total_deductible(self) -> Decimal:
        return sum((line.deductible_applied for line in self.lines), ZERO)

    @property
    def total_limit_reduction(self) -> Decimal:
        return sum((line.limit_reduction for line in self.lines), ZERO)

    @property
    def total_payable(self) -> Decimal:
        return sum((line.payable for line in self.lines), ZERO)

    @property
    def total_paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def balance_due(self) -> Decimal:
        """What remains to be paid on this settlement (negative if overpaid)."""
        return self.total_payable - self.total_paid


# --------------------------------------------------------------------------- 6. IPID


@dataclass(frozen=True)
class IpidCoverage:
    """One coverage as the IPID presents it: its label and description (from the product), its
    default sub-limit as a share of the annual aggregate, its own deductible, the business
    interruption's waiting and indemnity periods, and what it never pays (`never_paid`, French,
    « la rançon elle-même »)."""

    label: str
    description: str
    limit_share: Decimal
    sub_deductible: Decimal = ZERO
    waiting_period_hours: int | None = None
    indemnity_period_days: int | None = None
    never_paid: str | None = None

    def __post_init__(self) -> None:
        if not ZERO < self.limit_share <= 1:
            raise DocumentDataError("coverage.limit_share", "fraction", "must be in (0, 1]")


@dataclass(frozen=True)
class IpidView:
    """Document d'information normalisé sur le produit d'assurance (IPID), in the layout of
    Implementing Regulation (EU) 2017/1469, for the product version a quote was priced with and
    the options offered to its kind of establishment.

    The sections the product states in its ``[distribution]`` table arrive as French lines
    (`territory`, `obligations`, `payments`, `start_and_end`, `cancellation`); the renderer
    adds those it derives from the figures given here (the claim deadlines, the tax, the
    refunds on cancellation), so that a number is printed from one source."""

    reference: str  # the quote it is handed over for
    issued_on: date
    insurer_name: str
    insurer_details: str
    product_name: str
    product_version: str
    product_type: str
    kind_label: str
    coverages: Sequence[IpidCoverage]
    aggregate_options: Sequence[Decimal]
    deductible_options: Sequence[Decimal]
    exclusions: Sequence[str]
    territory: Sequence[str]
    obligations: Sequence[str]
    payments: Sequence[str]
    start_and_end: Sequence[str]
    cancellation: Sequence[str]
    complaint_deadline_hours: int
    notice_to_insurer_days: int
    tax_name: str
    tax_rate: Decimal
    refund_on_request: bool  # an insured's cancellation refunds the unearned premium
    refund_on_non_payment: bool

    def __post_init__(self) -> None:
        for name in (
            "coverages",
            "aggregate_options",
            "deductible_options",
            "exclusions",
            "territory",
            "obligations",
            "payments",
            "start_and_end",
            "cancellation",
        ):
            if not getattr(self, name):
                raise DocumentDataError(name, "not_empty", "an IPID section is never empty")


# --------------------------------------------------------------------------- 7. devoir de conseil


@dataclass(frozen=True)
class Fact:
    """One answer of the questionnaire as the record prints it: a French label and its value."""

    label: str
    value: str


@dataclass(frozen=True)
class Exposure:
    """A risk the answers reveal (French) and the coverages that answer it (their labels)."""

    text: str
    coverages: Sequence[str] = ()


@dataclass(frozen=True)
class AdviceView:
    """Fiche de devoir de conseil (art. L521-4 Code des assurances): the needs and demands taken
    from the questionnaire, the cover proposed and why it fits.

    `profile`, `security` and `history` are the answers that matter; `exposures` what they
    reveal; `demands` what the establishment asked (limit, deductible); `reasons` why the
    proposal fits, in French; the decision's reasons arrive as codes (printed from
    `egide.documents.labels_fr`)."""

    quote_number: str
    issued_on: date
    product_name: str
    product_version: str
    insured: InsuredView
    distributor: str  # the broker of record, or the insurer for direct business
    distributor_role: str  # « Courtier » / « Assureur (vente directe) »
    adviser: str  # who made the quote, as history records it
    profile: Sequence[Fact]
    security: Sequence[Fact]
    history: Sequence[Fact]
    exposures: Sequence[Exposure]
    demands: Sequence[Fact]
    decision: UnderwritingOutcome
    decision_reasons: Sequence[ReasonView]
    security_score: int
    coverages: Sequence[CoverageLine]
    aggregate_limit: Decimal
    deductible: Decimal
    premium: PremiumView
    reasons: Sequence[str]
    recommendations: Sequence[RecommendationView] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.security_score <= 100:
            raise DocumentDataError("security_score", "range", "must be between 0 and 100")
        if not self.coverages:
            raise DocumentDataError("coverages", "not_empty", "a proposal has coverages")
        if not self.reasons:
            raise DocumentDataError("reasons", "not_empty", "the advice gives its reasons")
