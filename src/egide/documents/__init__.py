"""The French documents of Égide, rendered to PDF with Typst.

Build a view (`egide.documents.views`, plain values, labels in French) and call its render
function; each returns the PDF as bytes::

    from egide.documents import render_attestation
    pdf = render_attestation(view)
"""

from egide.documents.render import (
    render_attestation,
    render_avenant,
    render_conditions_particulieres,
    render_decompte,
    render_proposition,
)
from egide.documents.views import (
    AttestationView,
    AvenantView,
    ChangeView,
    ConditionsParticulieresView,
    CoverageLine,
    DecompteView,
    DocumentDataError,
    InsuredView,
    PaymentView,
    PremiumView,
    PropositionView,
    ReasonView,
    RecommendationView,
    SettlementLineView,
    UnderwritingOutcome,
)

__all__ = [
    "AttestationView",
    "AvenantView",
    "ChangeView",
    "ConditionsParticulieresView",
    "CoverageLine",
    "DecompteView",
    "DocumentDataError",
    "InsuredView",
    "PaymentView",
    "PremiumView",
    "PropositionView",
    "ReasonView",
    "RecommendationView",
    "SettlementLineView",
    "UnderwritingOutcome",
    "render_attestation",
    "render_avenant",
    "render_conditions_particulieres",
    "render_decompte",
    "render_proposition",
]
