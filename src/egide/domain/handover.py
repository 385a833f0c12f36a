"""The hand-over of the pre-contractual documents, as a record: which document of which quote,
the SHA-256 of the exact PDF bytes handed over, when, by whom and through which channel.

French distribution law asks that the establishment receive, before it is bound, the IPID
(document d'information normalisé sur le produit d'assurance, art. L112-2 Code des assurances and
Implementing Regulation (EU) 2017/1469) and the written record of the advice it was given (art.
L521-4 and L521-6 Code des assurances). A hand-over is appended, never changed: a later one of a
changed document is a new record beside the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The documents handed over before binding, in the order they are shown.
IPID = "ipid"
ADVICE = "devoir_de_conseil"
DOCUMENTS: tuple[str, ...] = (IPID, ADVICE)
DOCUMENT_LABELS_FR: dict[str, str] = {
    IPID: "document d'information normalisé sur le produit d'assurance (IPID)",
    ADVICE: "fiche de devoir de conseil",
}
# Through which edge: the web application (the person reads and accepts them), the CLI or the
# API (the broker's or the insurer's system attests the hand-over it made itself).
CHANNELS: tuple[str, ...] = ("web", "cli", "api")


@dataclass(frozen=True)
class Handover:
    """One document handed over. `actor` is the principal as history records it; the principal's
    kind, id and organisation are kept apart so that a record can be searched by who made it."""

    quote_number: str
    document: str  # one of DOCUMENTS
    sha256: str  # of the exact PDF bytes handed over
    channel: str  # one of CHANNELS
    handed_over_at: datetime
    actor: str
    principal_kind: str  # user | client | operator
    principal_id: str
    organisation_id: int
    product_ref: str  # the product version the documents were made from
    id: int = 0  # given by the repository when stored
