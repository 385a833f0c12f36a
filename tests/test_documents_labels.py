"""Everything an establishment reads in a document is French: every code the domain can produce
has its French text in the documents' catalogue (egide.documents.labels_fr), the PDFs print that
text and never the code, and a code the catalogue does not know stops the rendering."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from egide.documents import (
    ReasonView,
    UnderwritingOutcome,
    labels_fr,
    render_decompte,
    render_proposition,
)
from egide.domain import claims, underwriting
from egide.domain.product import Product
from tests.test_documents import LINES, decompte_view, pdf_text, proposition_view


def test_every_underwriting_reason_the_domain_can_give_has_a_french_text() -> None:
    missing = [r.code for r in underwriting.Reason if r.code not in labels_fr.UNDERWRITING_REASONS]
    assert not missing
    for r in underwriting.Reason:
        assert labels_fr.underwriting_reason(r.code).strip()


def test_every_claim_reason_the_adjudication_can_give_has_a_french_text() -> None:
    missing = [r.value for r in claims.Reason if r.value not in labels_fr.CLAIM_REASONS]
    assert not missing
    for r in claims.Reason:
        assert labels_fr.claim_reason(r.value).strip()


def test_every_underwriting_decision_prints_in_french() -> None:
    for d in underwriting.Decision:
        outcome = labels_fr.decision_outcome(d.value)
        assert labels_fr.outcome_label(outcome) == d.label_fr
    assert set(labels_fr.OUTCOME_LABELS) == set(UnderwritingOutcome)


def test_the_catalogue_holds_only_codes_the_domain_knows() -> None:
    """A label left behind by a renamed code would hide that the new code has none."""
    assert set(labels_fr.UNDERWRITING_REASONS) == {r.code for r in underwriting.Reason}
    assert set(labels_fr.CLAIM_REASONS) == {r.value for r in claims.Reason}
    assert set(labels_fr.DECISION_OUTCOMES) == {d.value for d in underwriting.Decision}


def test_french_texts_are_sentences_not_codes() -> None:
    for catalogue in labels_fr.CATALOGUES.values():
        for code, text in catalogue.items():
            assert text != code
            assert not re.search(r"\b[A-Z]+_[A-Z_]+\b|\b[a-z]+_[a-z_]+\b", text), (code, text)
            assert text[0].isupper() and text.endswith("."), (code, text)
            assert " :" not in text and " ;" not in text  # no-break space before « : » and « ; »


def test_the_proposition_prints_the_french_reason_and_neither_its_code_nor_the_domain_message() -> (
    None
):
    view = proposition_view(
        decision=UnderwritingOutcome.ACCEPTED,
        decision_reasons=(ReasonView("ALL_RULES_PASSED", "All underwriting rules passed"),),
    )
    text = pdf_text(render_proposition(view))
    assert "Toutes les règles de souscription sont satisfaites." in text
    assert "ALL_RULES_PASSED" not in text
    assert "All underwriting rules passed" not in text


def test_the_decompte_prints_french_motifs_and_no_claim_reason_code() -> None:
    lines = (
        replace(LINES[0], reasons=(ReasonView("covered", "covered"), ReasonView("deductible"))),
        *LINES[1:],
    )
    text = pdf_text(render_decompte(decompte_view(lines=lines)))
    assert "Garanti\xa0: la dépense entre dans la garantie indiquée." in text
    codes = {r.value for r in claims.Reason}
    printed = set(re.findall(r"[a-z]+(?:_[a-z]+)*", text))
    assert not (codes & printed - {"covered"}) and not re.search(r"\bcovered\b", text)


@pytest.mark.parametrize(
    ("render", "field"),
    [
        (
            lambda: render_proposition(
                proposition_view(decision_reasons=(ReasonView("NEW_RULE_NOBODY_LABELLED"),))
            ),
            "decision_reasons[0].code",
        ),
        (
            lambda: render_decompte(
                decompte_view(lines=(replace(LINES[0], reasons=(ReasonView("new_reason"),)),))
            ),
            "lines[0].reasons[0].code",
        ),
    ],
)
def test_a_code_without_french_text_stops_the_document_instead_of_printing_it(
    render: object, field: str
) -> None:
    with pytest.raises(labels_fr.UnknownCode, match="french_label") as caught:
        render()  # type: ignore[operator]
    assert caught.value.field == field


def test_every_answer_of_the_application_has_a_french_label_for_avenants(product: Product) -> None:
    """An avenant lists the answers that changed: each field of the application (walked from its
    dataclasses, so a new field fails here) and each sub-limit has a French label."""
    import dataclasses

    from egide.domain.application import Application
    from egide.services.policies import change_label

    def leaves(cls: type, prefix: str) -> list[str]:
        out = []
        for f in dataclasses.fields(cls):
            kind = f.type if isinstance(f.type, type) else None
            nested = kind if kind is not None and dataclasses.is_dataclass(kind) else None
            if nested is None and isinstance(f.type, str):
                import egide.domain.application as module

                candidate = getattr(module, f.type, None)
                nested = candidate if dataclasses.is_dataclass(candidate) else None
            if nested is not None:
                out += leaves(nested, f"{prefix}{f.name}.")  # type: ignore[arg-type]
            elif f.name != "sublimits":
                out.append(f"{prefix}{f.name}")
        return out

    paths = leaves(Application, "")
    assert "security.edr" in paths and "technology.email_vendor" in paths
    paths += [f"cover.sublimits.{code}" for code in product.coverages]
    labels = {p: change_label(p, product) for p in paths}
    assert all(
        label and not label.startswith(("establishment.", "cover.")) for label in labels.values()
    )
