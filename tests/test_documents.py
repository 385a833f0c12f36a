"""The French documents: every figure and label of a view appears in the PDF's text.

Each test builds a realistic view, renders it with Typst and reads the text back with pypdf.
Amounts are written here as they must print (``24 570,00 €`` with a narrow no-break space), not
computed with the formatter under test.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from egide.documents import (
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
    render_attestation,
    render_avenant,
    render_conditions_particulieres,
    render_decompte,
    render_proposition,
)
from egide.documents.render import (
    format_date_long,
    format_eur,
    format_instant,
    format_rate,
)

PARIS = ZoneInfo("Europe/Paris")
NB = "\u202f"  # narrow no-break space, the thousands separator
D = Decimal


def eur(text: str) -> str:
    """'24 570,00' -> '24\u202f570,00\u202f€' (write amounts readably in the tests; narrow
    no-break spaces between thousands and before the euro sign)."""
    return text.replace(" ", NB) + NB + "€"


def pdf_text(pdf: bytes) -> str:
    """All pages' text, line breaks and runs of spaces folded to one space (the narrow
    no-break spaces inside amounts are kept)."""
    reader = PdfReader(io.BytesIO(pdf))
    raw = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \n]+", " ", raw)


def assert_all_in(text: str, expected: list[str]) -> None:
    missing = [e for e in expected if e not in text]
    assert not missing, f"missing from the PDF text: {missing!r}"


# --------------------------------------------------------------------------- sample views

INSURED = InsuredView(
    name="Clinique Saint-Jean",
    kind_label="Clinique",
    siret="77501234500010",
    finess="330001231",
    address="12 rue de la Santé\n33000 Bordeaux",
)

COVERAGES = (
    CoverageLine(
        "Interruption de service du réseau",
        limit=D("1000000"),
        premium=D("6120.00"),
        waiting_period_hours=12,
        indemnity_period_days=90,
    ),
    CoverageLine(
        "Cyber-extorsion", limit=D("500000"), premium=D("3480.00"), note="Rançon non couverte"
    ),
    CoverageLine(
        "Enquêtes administratives",
        limit=D("500000"),
        premium=D("1215.00"),
        note="Amendes administratives non assurables",
    ),
    CoverageLine("Responsabilité liée aux données", limit=D("1000000"), premium=D("5940.00")),
    CoverageLine(
        "Restauration des données", limit=D("1000000"), deductible=D("2500"), premium=D("4365.00")
    ),
    CoverageLine("Gestion de crise", limit=D("250000"), premium=D("3450.00")),
)

PREMIUM = PremiumView(ht=D("24570.00"), tax=D("2211.30"), ttc=D("26781.30"), tax_rate=D("0.09"))

EXCLUSIONS = (
    "Guerre, y compris les cyberattaques commanditées par un État",
    "Défaillance des infrastructures d'électricité ou de télécommunications",
    "Faits connus de l'assuré avant la date d'effet",
    "Dommages corporels et responsabilité médicale",
    "Amélioration des systèmes au-delà de leur état antérieur",
    "Faute intentionnelle ou dolosive de l'assuré",
)


def proposition_view(**changes: object) -> PropositionView:
    view = PropositionView(
        quote_number="DEV-2026-000417",
        issued_on=date(2026, 10, 29),
        valid_until=date(2026, 11, 28),
        product_name="Égide Cyber Santé",
        product_version="2026.1",
        insured=INSURED,
        decision=UnderwritingOutcome.REFERRED,
        decision_reasons=(
            ReasonView("SCORE_LOW", "Security score below 50/100"),
            ReasonView("NO_MFA_LARGE", "No MFA on remote access"),
        ),
        security_score=64,
        coverages=COVERAGES,
        aggregate_limit=D("1000000"),
        deductible=D("5000"),
        premium=PREMIUM,
        recommendations=(
            RecommendationView(
                "Déployer un EDR sur l'ensemble des postes et serveurs", D("3185.40"), 12
            ),
            RecommendationView(
                "Tester la restauration des sauvegardes hors ligne chaque trimestre",
                D("1472.25"),
                8,
            ),
        ),
        broker_name="Cabinet Martin Courtage",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def conditions_view(**changes: object) -> ConditionsParticulieresView:
    view = ConditionsParticulieresView(
        policy_number="POL-2026-000123",
        issued_on=date(2026, 12, 15),
        product_name="Égide Cyber Santé",
        product_version="2026.1",
        insured=INSURED,
        period_start=date(2027, 1, 1),
        period_end=date(2028, 1, 1),
        retroactive_date=date(2025, 1, 1),
        coverages=COVERAGES,
        aggregate_limit=D("1000000"),
        deductible=D("5000"),
        premium=PREMIUM,
        exclusions=EXCLUSIONS,
        broker_name="Cabinet Martin Courtage",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def avenant_view(**changes: object) -> AvenantView:
    view = AvenantView(
        policy_number="POL-2026-000123",
        endorsement_number=2,
        issued_on=date(2027, 5, 20),
        effective_date=date(2027, 6, 1),
        insured=INSURED,
        changes=(
            ChangeView("Plafond annuel", D("1000000"), D("2000000")),
            ChangeView("Franchise par sinistre", D("5000"), D("10000")),
            ChangeView("Adresse", "12 rue de la Santé, 33000 Bordeaux", "4 cours Pasteur"),
        ),
        premium_change=PremiumView(
            ht=D("4127.67"), tax=D("371.49"), ttc=D("4499.16"), tax_rate=D("0.09")
        ),
        annual_premium=PremiumView(
            ht=D("31646.00"), tax=D("2848.14"), ttc=D("34494.14"), tax_rate=D("0.09")
        ),
        reason="Relèvement du plafond annuel à la demande de l'assuré",
        term_end=date(2028, 1, 1),
        product_name="Égide Cyber Santé",
        product_version="2026.1",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def attestation_view(**changes: object) -> AttestationView:
    view = AttestationView(
        policy_number="POL-2026-000123",
        issued_on=date(2027, 1, 4),
        product_name="Égide Cyber Santé",
        product_version="2026.1",
        insured=INSURED,
        period_start=date(2027, 1, 1),
        period_end=date(2028, 1, 1),
        coverages=COVERAGES,
        aggregate_limit=D("1000000"),
        signatory_name="Claire Dubois",
        signatory_title="Directrice de la souscription",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


LINES = (
    SettlementLineView(
        category="Frais d'expert informatique",
        coverage="Gestion de crise",
        claimed=D("48600.00"),
        covered=D("48600.00"),
        deductible_applied=D("5000.00"),
        limit_reduction=D("0"),
        payable=D("43600.00"),
        reasons=(ReasonView("deductible", "Policy deductible"),),
    ),
    SettlementLineView(
        category="Perte d'exploitation (marge brute perdue)",
        coverage="Interruption de service du réseau",
        claimed=D("312450.00"),
        covered=D("287020.50"),
        deductible_applied=D("0"),
        limit_reduction=D("0"),
        payable=D("287020.50"),
        reasons=(ReasonView("bi_waiting_period"),),
    ),
    SettlementLineView(
        category="Frais de notification des patients",
        coverage="Gestion de crise",
        claimed=D("231000.00"),
        covered=D("231000.00"),
        deductible_applied=D("0"),
        limit_reduction=D("24600.00"),
        payable=D("206400.00"),
        reasons=(ReasonView("sub_limit"),),
    ),
    SettlementLineView(
        category="Rançon",
        coverage="Cyber-extorsion",
        claimed=D("150000.00"),
        covered=D("0"),
        deductible_applied=D("0"),
        limit_reduction=D("0"),
        payable=D("0"),
        reasons=(ReasonView("ransom_not_covered"),),
    ),
)


def decompte_view(**changes: object) -> DecompteView:
    view = DecompteView(
        claim_reference="SIN-2027-000042",
        policy_number="POL-2026-000123",
        issued_on=date(2027, 4, 30),
        insured=INSURED,
        incident_type="Rançongiciel",
        occurred_at=datetime(2027, 3, 12, 2, 40, tzinfo=PARIS),
        discovered_at=datetime(2027, 3, 12, 7, 15, tzinfo=PARIS),
        complaint_filed_at=datetime(2027, 3, 13, 10, 0, tzinfo=PARIS),
        declared_at=datetime(2027, 3, 12, 11, 30, tzinfo=PARIS),
        lines=LINES,
        aggregate_limit=D("1000000"),
        aggregate_remaining=D("462979.50"),
        payments=(PaymentView(date(2027, 3, 20), D("40000.00"), "Acompte frais d'expert"),),
        handler_name="Julien Moreau",
    )
    return replace(view, **changes)  # type: ignore[arg-type]


COVERAGE_LABELS = [c.label for c in COVERAGES]
INSURED_FIGURES = [
    "Clinique Saint-Jean",
    "77501234500010",
    "330001231",
    "12 rue de la Santé",
    "33000 Bordeaux",
]
PREMIUM_FIGURES = [eur("24 570,00"), eur("2 211,30"), eur("26 781,30"), f"TSCA (9{NB}%)"]


# --------------------------------------------------------------------------- formatting


def test_amounts_print_in_french_with_narrow_spaces_and_a_comma() -> None:
    assert format_eur(D("24570")) == eur("24 570,00")
    assert format_eur(D("1234567.895")) == eur("1 234 567,90")
    assert format_eur(D("0.5")) == eur("0,50")
    assert format_eur(D("-1000")) == "-" + eur("1 000,00")


def test_dates_instants_and_rates_print_in_french() -> None:
    assert format_date_long(date(2026, 11, 28)) == "28 novembre 2026"
    assert format_date_long(date(2027, 1, 1)) == "1er janvier 2027"
    # 07:15 UTC is 9 h 15 in Paris in summer.
    assert format_instant(datetime(2027, 7, 1, 7, 15, tzinfo=ZoneInfo("UTC"))) == (
        "01/07/2027 à 9 h 15"
    )
    assert format_rate(D("0.09")) == f"9{NB}%"
    assert format_rate(D("0.0925")) == f"9,25{NB}%"


# --------------------------------------------------------------------------- documents


def test_proposition_shows_quote_decision_coverages_premium_and_recommendations() -> None:
    pdf = render_proposition(proposition_view())
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert_all_in(
        text,
        [
            "Proposition d'assurance",
            "DEV-2026-000417",
            "29/10/2026",
            "28/11/2026",
            "Égide Cyber Santé",
            "2026.1",
            "Cabinet Martin Courtage",
            *INSURED_FIGURES,
            "Clinique",
            "À examiner par un souscripteur",
            "Score de sécurité inférieur à 50/100\xa0: vérifier les mesures de sécurité déclarées.",
            "Pas d'authentification multifacteur sur les accès distants",
            "64\xa0/\xa0100",
            *COVERAGE_LABELS,
            "Rançon non couverte",
            eur("1 000 000,00"),
            eur("500 000,00"),
            eur("250 000,00"),
            eur("2 500,00"),
            eur("6 120,00"),
            eur("3 480,00"),
            eur("1 215,00"),
            eur("5 940,00"),
            eur("4 365,00"),
            eur("3 450,00"),
            eur("5 000,00"),
            "Franchise temporelle\xa0: 12 heures",
            "Période d'indemnisation\xa0: 90 jours",
            *PREMIUM_FIGURES,
            "Prime HT",
            "Prime TTC",
            "Déployer un EDR sur l'ensemble des postes et serveurs",
            eur("3 185,40"),
            eur("1 472,25"),
            "+12 pts",
        ],
    )


@pytest.mark.parametrize(
    ("outcome", "label"),
    [(UnderwritingOutcome.ACCEPTED, "Acceptée"), (UnderwritingOutcome.DECLINED, "Refusée")],
)
def test_proposition_prints_each_decision_in_french(
    outcome: UnderwritingOutcome, label: str
) -> None:
    text = pdf_text(render_proposition(proposition_view(decision=outcome, recommendations=())))
    assert label in text


def test_conditions_particulieres_show_period_trigger_terms_and_exclusions() -> None:
    text = pdf_text(render_conditions_particulieres(conditions_view()))
    assert_all_in(
        text,
        [
            "Conditions particulières",
            "POL-2026-000123",
            "15/12/2026",
            *INSURED_FIGURES,
            "du 01/01/2027 à 0 h au 01/01/2028 à 0 h (heure de Paris)",
            "Base réclamation",
            "Date de reprise du passé",
            "01/01/2025",
            *COVERAGE_LABELS,
            eur("1 000 000,00"),
            eur("250 000,00"),
            eur("2 500,00"),
            eur("5 000,00"),
            eur("6 120,00"),
            "Franchise temporelle\xa0: 12 heures",
            "Période d'indemnisation\xa0: 90 jours",
            *PREMIUM_FIGURES,
            *EXCLUSIONS,
            "Égide Cyber Santé",
            "version 2026.1",
            "Fait à Paris, le 15 décembre 2026",
            "Pour Égide",
        ],
    )


def test_avenant_lists_each_change_and_the_premium_to_pay() -> None:
    text = pdf_text(render_avenant(avenant_view()))
    assert_all_in(
        text,
        [
            "Avenant n°\xa02",
            "POL-2026-000123",
            "20/05/2027",
            "01/06/2027",
            "Clinique Saint-Jean",
            "77501234500010",
            "Relèvement du plafond annuel à la demande de l'assuré",
            f"Plafond annuel {eur('1 000 000,00')} → {eur('2 000 000,00')}",
            f"Franchise par sinistre {eur('5 000,00')} → {eur('10 000,00')}",
            "12 rue de la Santé, 33000 Bordeaux → 4 cours Pasteur",
            "Prorata temporis du 01/06/2027 au 01/01/2028",
            "À payer par l'assuré",
            eur("4 127,67"),
            eur("371,49"),
            eur("4 499,16"),
            "NOUVELLE PRIME ANNUELLE",  # panel titles are in capitals
            eur("31 646,00"),
            eur("2 848,14"),
            eur("34 494,14"),
            f"TSCA (9{NB}%)",
            "Fait à Paris, le 20 mai 2027",
        ],
    )


def test_avenant_with_a_negative_premium_change_is_a_refund() -> None:
    refund = PremiumView(ht=D("-812.50"), tax=D("-73.13"), ttc=D("-885.63"), tax_rate=D("0.09"))
    text = pdf_text(render_avenant(avenant_view(premium_change=refund)))
    assert_all_in(text, ["À rembourser à l'assuré", eur("812,50"), eur("73,13"), eur("885,63")])
    assert "À payer" not in text
    assert "-" + eur("885,63") not in text


def test_attestation_certifies_the_policy_period_and_limits() -> None:
    text = pdf_text(render_attestation(attestation_view()))
    assert_all_in(
        text,
        [
            "Attestation d'assurance",
            "atteste",
            "POL-2026-000123",
            "du 01/01/2027 à 0 h au 01/01/2028 à 0 h (heure de Paris)",
            *INSURED_FIGURES,
            *COVERAGE_LABELS,
            eur("1 000 000,00"),
            eur("500 000,00"),
            eur("250 000,00"),
            "Plafond annuel",
            "Fait à Paris, le 4 janvier 2027",
            "Pour Égide",
            "Claire Dubois, Directrice de la souscription",
            "Signature",
        ],
    )


def test_decompte_shows_each_line_its_reasons_the_totals_and_what_remains() -> None:
    view = decompte_view()
    text = pdf_text(render_decompte(view))
    assert_all_in(
        text,
        [
            "Décompte de sinistre",
            "SIN-2027-000042",
            "POL-2026-000123",
            "30/04/2027",
            *INSURED_FIGURES,
            "Rançongiciel",
            "12/03/2027 à 2 h 40",
            "12/03/2027 à 7 h 15",
            "13/03/2027 à 10 h 00",
            "12/03/2027 à 11 h 30",
            "Julien Moreau",
            "Montant réclamé",
            "Montant couvert",
            "Franchise appliquée",
            "Plafond appliqué",
            "Montant à régler",
            *[line.category for line in LINES],
            "Interruption de service du réseau",
            "Cyber-extorsion",
            eur("48 600,00"),
            eur("43 600,00"),
            eur("312 450,00"),
            eur("287 020,50"),
            eur("231 000,00"),
            eur("24 600,00"),
            eur("206 400,00"),
            eur("150 000,00"),
            "Franchise du contrat, appliquée une fois par sinistre",
            "Franchise temporelle\xa0: les premières heures d'interruption",
            "Sous-limite de la garantie atteinte (par sinistre).",
            "La rançon elle-même n'est pas couverte par ce contrat.",
            # totals: claimed, covered, deductible, limit, payable
            f"Total {eur('742 050,00')} {eur('566 620,50')} {eur('5 000,00')} "
            f"{eur('24 600,00')} {eur('537 020,50')}",
            eur("1 000 000,00"),
            eur("462 979,50"),
            "20/03/2027",
            "Acompte frais d'expert",
            eur("40 000,00"),
            "Reste à régler",
            eur("497 020,50"),
        ],
    )
    assert view.total_payable == D("537020.50")
    assert view.balance_due == D("497020.50")


def test_a_name_with_typst_markup_characters_prints_literally() -> None:
    name = "Clinique #1 *Saint_Jean* $x$ <ref> @lbl ] [a] \\ `b` // c"
    insured = replace(INSURED, name=name)
    for pdf in (
        render_proposition(proposition_view(insured=insured)),
        render_conditions_particulieres(conditions_view(insured=insured)),
        render_decompte(decompte_view(insured=insured)),
    ):
        assert name in pdf_text(pdf)


def test_rendering_the_same_view_twice_gives_the_same_pdf_dated_on_its_issue_day() -> None:
    view = attestation_view()
    first = render_attestation(view)
    assert render_attestation(view) == first
    info = PdfReader(io.BytesIO(first)).metadata
    assert info is not None
    assert info.creation_date is not None
    assert info.creation_date.date() == date(2027, 1, 4)
    assert info.title is not None
    assert "POL-2026-000123" in info.title


def test_pages_are_a4_and_numbered() -> None:
    reader = PdfReader(io.BytesIO(render_decompte(decompte_view())))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    total = len(reader.pages)
    assert f"Page 1 sur {total}" in pdf_text(render_decompte(decompte_view()))


def test_a_long_decompte_breaks_across_pages_with_numbered_pages() -> None:
    many = tuple(replace(LINES[0], category=f"Frais d'expert, phase {i}") for i in range(40))
    view = decompte_view(lines=many, aggregate_remaining=D("0"))
    reader = PdfReader(io.BytesIO(render_decompte(view)))
    assert len(reader.pages) >= 2
    text = pdf_text(render_decompte(view))
    assert_all_in(text, ["Frais d'expert, phase 39", f"Page 2 sur {len(reader.pages)}"])
    assert eur(f"{43600 * 40:,}".replace(",", " ") + ",00") in text


# --------------------------------------------------------------------------- views refuse nonsense


def test_a_premium_whose_parts_do_not_add_up_is_refused() -> None:
    with pytest.raises(DocumentDataError, match=r"premium\.ttc.*ht_plus_tax"):
        PremiumView(ht=D("100.00"), tax=D("9.00"), ttc=D("110.00"), tax_rate=D("0.09"))


def test_a_settlement_line_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(DocumentDataError, match=r"line\.payable.*adds_up"):
        replace(LINES[0], payable=D("48600.00"))


def test_a_naive_incident_time_is_refused() -> None:
    with pytest.raises(DocumentDataError, match=r"occurred_at.*aware_datetime"):
        decompte_view(occurred_at=datetime(2027, 3, 12, 2, 40))


def test_a_decompte_without_complaint_and_overpaid_says_so() -> None:
    view = decompte_view(
        complaint_filed_at=None,
        declared_at=None,
        payments=(PaymentView(date(2027, 3, 20), D("540000.00")),),
    )
    text = pdf_text(render_decompte(view))
    assert_all_in(
        text, ["Aucune plainte enregistrée", "Trop-perçu à restituer", eur("2 979,50"), "Règlement"]
    )
    assert "Reste à régler" not in text


def test_a_premium_neutral_avenant_says_it_has_no_effect_on_the_premium() -> None:
    nil = PremiumView(ht=D("0"), tax=D("0"), ttc=D("0"), tax_rate=D("0.09"))
    text = pdf_text(render_avenant(avenant_view(premium_change=nil, term_end=None)))
    assert "Sans incidence sur la prime" in text
    assert "Prorata temporis" not in text


# --------------------------------------------------------------------------- the avenant's premiums

AMOUNT = r"(-?[\d\u202f]+,\d\d\u202f€)"


def premium_under(text: str, heading: str) -> tuple[str, str, str]:
    """(HT, tax, TTC) printed in the block titled `heading` (panel titles are in capitals)."""
    found = re.search(
        re.escape(heading.upper()) + rf" .*?Prime HT {AMOUNT} TSCA \(9\u202f%\) {AMOUNT} "
        rf"Prime TTC {AMOUNT}",
        text,
    )
    assert found, f"no premium under {heading!r} in {text!r}"
    return found.group(1), found.group(2), found.group(3)


TERM = PremiumView(ht=D("18190.00"), tax=D("1637.10"), ttc=D("19827.10"), tax_rate=D("0.09"))


def test_a_cancellation_avenant_shows_the_annual_premium_as_annual_and_the_period_premium_apart() -> (
    None
):
    refund = PremiumView(ht=D("-6380.00"), tax=D("-574.20"), ttc=D("-6954.20"), tax_rate=D("0.09"))
    view = avenant_view(
        changes=(ChangeView("Situation du contrat", "En vigueur", "Résilié"),),
        premium_change=refund,
        annual_premium=PREMIUM,
        term_premium=TERM,
        reason="Résiliation à la demande de l'assuré",
    )
    text = pdf_text(render_avenant(view))
    assert premium_under(text, "Nouvelle prime annuelle") == (
        eur("24 570,00"),
        eur("2 211,30"),
        eur("26 781,30"),
    )
    assert premium_under(text, "Prime de la période d'assurance") == (
        eur("18 190,00"),
        eur("1 637,10"),
        eur("19 827,10"),
    )


def test_an_avenant_without_a_period_premium_prints_no_such_line() -> None:
    text = pdf_text(render_avenant(avenant_view()))
    assert premium_under(text, "Nouvelle prime annuelle")[2] == eur("34 494,14")
    assert "PRIME DE LA PÉRIODE" not in text
