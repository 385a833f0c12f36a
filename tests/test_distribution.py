"""Before binding, French distribution law: the IPID (Implementing Regulation (EU) 2017/1469) made
from the product file, the fiche de devoir de conseil (art. L521-4 Code des assurances) made from
the quote, and the record of their hand-over — on the in-memory fakes, the documents read back
with pypdf. The SQL side (migration 0011, the repository, audit verify on a tampered row) is in
`test_distribution_sql.py`."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from egide.db.tables_audit import AuditEntryRow
from egide.db.tables_distribution import HandoverRow
from egide.documents.render import render_ipid
from egide.domain.access import OrgKind, Principal, Role
from egide.domain.errors import InvalidInput, NotAllowed, NotFound, ProductError
from egide.domain.handover import ADVICE, IPID
from egide.domain.product import Product, load_distribution, load_product, parse_product
from egide.domain.rating import price
from egide.services import distribution, quotes
from egide.services.audit import verify_chain
from egide.services.distribution import HandoverMissing, ipid_view
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR, FakeUnitOfWork
from tests.test_documents import eur, pdf_text
from tests.test_tenancy import World, build_world, practice

PRODUCTS = Path(__file__).resolve().parent.parent / "src" / "egide" / "products"
HEADINGS = (
    "De quel type d'assurance s'agit-il ?",
    "Qu'est-ce qui est assuré ?",
    "Qu'est-ce qui n'est pas assuré ?",
    "Y a-t-il des restrictions de couverture ?",
    "Où suis-je couvert(e) ?",
    "Quelles sont mes obligations ?",
    "Quand et comment effectuer les paiements ?",
    "Quand commence la couverture et quand prend-elle fin ?",
    "Comment puis-je résilier le contrat ?",
)
HOSTILE_NAME = "Clinique #1 *Saint_Jean* <x> @y $z$ \\ #set"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    return data


def saved(uow: FakeUnitOfWork, product: Product, file: str = "cabinet-medical", **est: Any) -> str:
    data = example(file)
    data["establishment"].update(est)
    number: str = quotes.save_quote(uow, OPERATOR, data, product, "courtier")["quote_number"]
    return number


def normalised(text: str) -> str:
    """The PDF's text with French typography's no-break spaces before « ? » and « : » as plain
    spaces, so that the headings read as typed."""
    return re.sub("[\u00a0]", " ", text)


def section(text: str, heading: str, following: str) -> str:
    return text[text.index(heading) : text.index(following)]


# --------------------------------------------------------------------------- the IPID


def test_the_ipid_prints_every_heading_of_the_regulation_once_and_in_its_order(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    text = normalised(pdf_text(distribution.ipid_pdf(uow, OPERATOR, saved(uow, product)).pdf))
    positions = [text.find(h) for h in HEADINGS]
    assert -1 not in positions, [h for h, p in zip(HEADINGS, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert all(text.count(h) == 1 for h in HEADINGS)
    assert "Document d'information sur le produit d'assurance" in text
    assert "Il ne prend pas en compte vos besoins et demandes spécifiques" in text


def test_the_ipid_names_each_coverage_by_its_french_label_with_the_options_of_the_kind(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    text = normalised(pdf_text(distribution.ipid_pdf(uow, OPERATOR, saved(uow, product)).pdf))
    insured = section(text, HEADINGS[1], HEADINGS[2])
    for coverage in product.coverages.values():
        assert coverage.label in insured
    # a medical practice is offered 100 000 € to 1 000 000 € and deductibles from 0 € to 2 500 €
    assert f"{eur('100 000')}, {eur('250 000')}, {eur('500 000')} ou {eur('1 000 000')}" in text
    assert eur("2 000 000") not in text  # not offered to a practice
    restrictions = section(text, HEADINGS[3], HEADINGS[4])
    assert f"{eur('0')}, {eur('500')}, {eur('1 000')} ou {eur('2 500')}" in restrictions
    assert "franchise temporelle de 12 heures" in restrictions
    assert "90 jours" in restrictions
    assert "50 %" in restrictions.replace("\u202f", " ")  # the sub-limits of extortion, inquiries
    assert "la rançon elle-même n'est pas prise en charge" in restrictions
    excluded = section(text, HEADINGS[2], HEADINGS[3])
    for exclusion in product.exclusions:
        assert exclusion.label in excluded


def test_the_ipid_states_the_72_hour_complaint_of_art_L12_10_1_among_the_obligations(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    text = normalised(pdf_text(distribution.ipid_pdf(uow, OPERATOR, saved(uow, product)).pdf))
    obligations = section(text, HEADINGS[5], HEADINGS[6])
    assert "porter plainte" in obligations
    assert "dans les 72 heures" in obligations
    assert "L12-10-1" in obligations
    assert "5 jours ouvrés" in obligations  # notice to the insurer, [claims] of the product
    assert "CNIL dans les 72 heures" in obligations
    payments = section(text, HEADINGS[6], HEADINGS[7])
    assert "TSCA au taux de 9 %" in payments.replace("\u202f", " ")
    cancellation = text[text.index(HEADINGS[8]) :]
    assert "L113-12 du Code des assurances" in cancellation
    assert "non courue vous est remboursée" in cancellation  # [cancellation] insured_request


def test_the_ipid_takes_its_deadlines_and_tax_from_the_product_never_from_its_own_text(
    product: Product,
) -> None:
    changed = dataclasses.replace(
        product, complaint_deadline_hours=48, notice_to_insurer_days=10, tax_rate=Decimal("0.1")
    )
    view = ipid_view(changed, "pharmacie", "DEV-TEST", date(2026, 12, 7))
    text = normalised(pdf_text(render_ipid(view)))
    assert "dans les 48 heures" in text and "dans les 72 heures qui suivent" not in text
    assert "10 jours ouvrés" in text
    assert "TSCA au taux de 10 %" in text.replace("\u202f", " ")


def test_the_ipid_renders_the_same_bytes_twice_so_a_hash_identifies_what_was_handed_over(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    first = distribution.ipid_pdf(uow, OPERATOR, number)
    second = distribution.ipid_pdf(uow, OPERATOR, number)
    assert first.pdf == second.pdf and first.pdf.startswith(b"%PDF-")
    assert first.sha256 == hashlib.sha256(first.pdf).hexdigest()


# --------------------------------------------------------------------------- the product table


def _packaged(name: str) -> str:
    return (PRODUCTS / name).read_text(encoding="utf-8")


def _parse(text: str) -> Product:
    return parse_product(text, _packaged("risk-model-v2.toml"), "cyber-sante-v2.toml")


def _with_distribution(text: str) -> str:
    """The product file with the packaged statements as its own [distribution] table."""
    table = (PRODUCTS / "distribution-fr.toml").read_text(encoding="utf-8")
    return text + table[table.index("\n[distribution]\n") :]


def test_the_distribution_table_changes_no_premium_and_is_optional(product: Product) -> None:
    embedded = _parse(_with_distribution(product.source_text))
    assert product.distribution is None and embedded.distribution == load_distribution()
    from egide.domain.application import parse_application

    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        with_table = price(parse_application(copy.deepcopy(data), embedded), embedded)
        without = price(parse_application(data, product), product)
        assert with_table == without, path.name


def test_the_packaged_product_keeps_its_recorded_text() -> None:
    """The statements live in their own file: the 2026.2 text (and its SHA-256, recorded by
    every database that priced with it) is the one released."""
    assert "[distribution]" not in (PRODUCTS / "cyber-sante-v2.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ('territory = ["France"]\nwhere = "x"', "distribution.where", "is not a field"),
        (
            'territory = ["France"]\ncancellation = []',
            "distribution.cancellation",
            "non-empty list",
        ),
        ('territory = ["France", "   "]', "distribution.territory[1]", "non-empty string"),
        ('territory = ["Fra\\u202ence"]', "distribution.territory[0]", "control or formatting"),
    ],
)
def test_a_broken_distribution_table_is_refused_naming_the_file_the_field_and_the_rule(
    product: Product, change: str, field: str, rule: str
) -> None:
    full = _with_distribution(product.source_text)
    text = re.sub(r"territory = \[\n(.*\n)*?\]", lambda _m: change, full, count=1)
    if "cancellation = []" in change:
        text = re.sub(r"\ncancellation = \[\n(.*\n)*?\]", "", text, count=1)
    with pytest.raises(ProductError) as caught:
        _parse(text)
    assert caught.value.path == "cyber-sante-v2.toml"
    assert caught.value.field == field
    assert rule in caught.value.rule


def test_a_broken_statements_file_is_refused_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "distribution.toml"
    broken.write_text('[distribution]\ninsurer = ""\n', encoding="utf-8")
    with pytest.raises(ProductError) as caught:
        load_distribution(broken)
    assert caught.value.path == str(broken) and caught.value.field == "distribution.insurer"


def test_a_quote_of_a_product_without_the_table_takes_the_packaged_statements(
    product: Product,
) -> None:
    old = load_product(PRODUCTS / "cyber-sante-v1.toml")
    assert old.distribution is None
    uow = FakeUnitOfWork()
    number = quotes.save_quote(uow, OPERATOR, example("pharmacie"), old, "c")["quote_number"]
    text = normalised(pdf_text(distribution.ipid_pdf(uow, OPERATOR, number).pdf))
    assert f"(version {old.version})" in text
    assert "Où suis-je couvert(e) ?" in text


# --------------------------------------------------------------------------- the advice record


def test_the_advice_record_names_the_establishment_and_cites_its_answers(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product, "clinique-120-lits")
    text = normalised(pdf_text(distribution.advice_pdf(uow, OPERATOR, number).pdf))
    assert "Fiche de devoir de conseil" in text and "L521-4" in text
    assert "Clinique du Parc Saint-Martin" in text
    assert "Dossiers de patients conservés 180\u202f000" in text
    assert "Lits 120" in text
    assert "MFA sur la messagerie Non" in text  # an answer that matters, as answered
    assert "Restauration testée dans les 12 derniers mois Non" in text
    # the exposures it reveals and the reasons, from those answers
    assert "Messagerie sans authentification multifacteur" in text
    assert "La restauration des sauvegardes n'a pas été testée" in text
    assert "signaler sans délai ses incidents graves à l'ARS" in text
    assert f"Plafond annuel de {eur('2 000 000,00')}, celui que vous avez demandé" in text
    # the decision and its reasons, in French, and the premium as priced
    stored = quotes.get_quote(uow, OPERATOR, number)
    assert "À examiner par un souscripteur" in text
    assert "ne pourra être acceptée qu'après son accord" in text  # why: it is referred
    assert "Dispositifs médicaux connectés non isolés" in text  # the referral's reason, in French
    total = Decimal(stored["premium"]["total"])
    assert eur(f"{total:,.2f}".replace(",", " ").replace(".", ",")) in text
    assert "Économie de prime HT" in text  # the recommendations and their saving


def test_a_practice_with_good_hygiene_gets_no_exposure_it_does_not_have(product: Product) -> None:
    uow = FakeUnitOfWork()
    text = pdf_text(distribution.advice_pdf(uow, OPERATOR, saved(uow, product)).pdf)
    assert "Cabinet du Dr Martin" in text
    assert "la proposition peut être acceptée telle quelle" in text
    assert "Sans sauvegardes hors ligne" not in text  # it has them
    assert "à l'ARS" not in text  # a practice is not bound to report to the ARS
    assert "Accès à distance sans authentification multifacteur" not in text


def test_text_typed_by_the_user_is_printed_literally_in_both_documents(product: Product) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product, "clinique-120-lits", name=HOSTILE_NAME, city="Bordeaux *gras*")
    advice = pdf_text(distribution.advice_pdf(uow, OPERATOR, number).pdf)
    assert HOSTILE_NAME in advice
    assert "Bordeaux *gras*" in advice
    assert distribution.ipid_pdf(uow, OPERATOR, number).pdf.startswith(b"%PDF-")


# --------------------------------------------------------------------------- who may see them

STRANGER = Principal(
    "user",
    "u-stranger",
    999,
    OrgKind.ESTABLISHMENT,
    frozenset({Role.ESTABLISHMENT_MANAGER}),
    label="autre@cabinet.example",
)
ACTUARY = Principal("user", "u-act", 1, OrgKind.INSURER, frozenset({Role.ACTUARY}), label="act")


@pytest.mark.parametrize(
    "call",
    [
        lambda uow, n: distribution.ipid_pdf(uow, STRANGER, n),
        lambda uow, n: distribution.advice_pdf(uow, STRANGER, n),
        lambda uow, n: distribution.handover_status(uow, STRANGER, n),
        lambda uow, n: distribution.record_handover(uow, STRANGER, n, "web", {IPID: b"%PDF-"}),
    ],
    ids=["ipid", "advice", "status", "record"],
)
def test_another_tenants_quote_does_not_exist_for_any_of_them(product: Product, call: Any) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    with pytest.raises(NotFound, match=f"quote {number} does not exist"):
        call(uow, number)
    assert uow.stored(HandoverRow) == []


def test_who_may_read_may_not_attest_a_hand_over_without_the_right_to_bind(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    doc = distribution.ipid_pdf(uow, ACTUARY, number)  # reading: every role of the insurer
    with pytest.raises(NotAllowed):
        distribution.record_handover(uow, ACTUARY, number, "web", {IPID: doc.pdf})
    assert uow.stored(HandoverRow) == []


# --------------------------------------------------------------------------- the hand-over


def test_a_hand_over_stores_the_hash_of_the_exact_bytes_and_is_in_the_audit_trail(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    ipid = distribution.ipid_pdf(uow, OPERATOR, number).pdf
    advice = distribution.advice_pdf(uow, OPERATOR, number).pdf
    status = distribution.record_handover(
        uow, OPERATOR, number, "web", {IPID: ipid, ADVICE: advice}
    )
    assert status.complete
    rows = {r.document: r for r in uow.stored(HandoverRow)}
    assert rows[IPID].sha256 == hashlib.sha256(ipid).hexdigest()
    assert rows[ADVICE].sha256 == hashlib.sha256(advice).hexdigest()
    assert {r.channel for r in rows.values()} == {"web"}
    assert {r.actor for r in rows.values()} == {"local operator"}
    assert rows[IPID].product_ref == product.ref
    entries = [e for e in uow.stored(AuditEntryRow) if e.record_table == "document_handovers"]
    assert [(e.chain, e.action) for e in entries] == [(f"quotes:{number}", "handed over")] * 2
    assert verify_chain(uow).clean
    shown = distribution.handover_status(uow, OPERATOR, number).public()
    assert [d["sha256"] for d in shown["documents"]] == [rows[IPID].sha256, rows[ADVICE].sha256]
    assert shown["complete"] is True


def test_a_pdf_that_is_not_the_current_document_is_refused_and_nothing_is_written(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    other = saved(uow, product, name="Cabinet du Dr Durand")
    wrong = distribution.advice_pdf(uow, OPERATOR, other).pdf  # another quote's record
    ipid = distribution.ipid_pdf(uow, OPERATOR, number).pdf
    with pytest.raises(InvalidInput) as caught:
        distribution.record_handover(uow, OPERATOR, number, "web", {IPID: ipid, ADVICE: wrong})
    assert [(e.field, e.rule) for e in caught.value.errors] == [
        ("documents.devoir_de_conseil", "current_document")
    ]
    with pytest.raises(InvalidInput) as bad:
        distribution.record_handover(uow, OPERATOR, number, "fax", {"notice": ipid})
    assert [(e.field, e.rule) for e in bad.value.errors] == [("channel", "enum")]
    with pytest.raises(InvalidInput) as unknown:
        distribution.record_handover(uow, OPERATOR, number, "web", {"notice": ipid})
    assert [(e.field, e.rule) for e in unknown.value.errors] == [("documents.notice", "enum")]
    assert uow.stored(HandoverRow) == []


def test_a_web_bind_is_refused_until_both_documents_were_handed_over(product: Product) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    with uow, pytest.raises(HandoverMissing) as caught:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, "web")
    assert caught.value.code == "handover_missing"
    assert caught.value.missing == (IPID, ADVICE)
    assert "ipid" in str(caught.value) and "devoir_de_conseil" in str(caught.value)
    ipid = distribution.ipid_pdf(uow, OPERATOR, number).pdf
    distribution.record_handover(uow, OPERATOR, number, "web", {IPID: ipid})
    with uow, pytest.raises(HandoverMissing) as still:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, "web")
    assert still.value.missing == (ADVICE,)
    assert "devoir_de_conseil" in str(still.value) and "ipid (" not in str(still.value)
    advice = distribution.advice_pdf(uow, OPERATOR, number).pdf
    distribution.record_handover(uow, OPERATOR, number, "web", {ADVICE: advice})
    with uow:
        assert distribution.ensure_handover_for_bind(uow, OPERATOR, number, "web").complete
    assert len(uow.stored(HandoverRow)) == 2  # the check writes nothing


@pytest.mark.parametrize("channel", ["cli", "api"])
def test_a_cli_or_api_bind_records_the_hand_over_as_made_by_the_principal_once(
    product: Product, channel: str
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    with uow:
        status = distribution.ensure_handover_for_bind(uow, OPERATOR, number, channel)
        uow.commit()  # the bind commits the records with the policy
    assert status.complete and {d.channel for d in status.documents} == {channel}
    rows = uow.stored(HandoverRow)
    assert sorted(r.document for r in rows) == sorted((IPID, ADVICE))
    assert {(r.channel, r.principal_kind, r.principal_id) for r in rows} == {
        (channel, "operator", "local-operator")
    }
    current = distribution.ipid_pdf(uow, OPERATOR, number)
    assert next(r for r in rows if r.document == IPID).sha256 == current.sha256
    with uow:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, channel)
        uow.commit()
    assert len(uow.stored(HandoverRow)) == 2  # already handed over: nothing more recorded
    assert verify_chain(uow).clean


def test_a_bind_that_fails_after_the_check_leaves_no_hand_over(product: Product) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    with uow:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, "cli")
        # no commit: the bind failed after the check, its unit of work rolls back
    assert uow.stored(HandoverRow) == []


def test_audit_verify_reports_a_hand_over_row_changed_or_deleted_behind_the_services_back(
    product: Product,
) -> None:
    uow = FakeUnitOfWork()
    number = saved(uow, product)
    with uow:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, "api")
        uow.commit()
    row = next(r for r in uow.stored(HandoverRow) if r.document == IPID)
    row.sha256 = hashlib.sha256(b"another document").hexdigest()
    (problem,) = verify_chain(uow).problems
    assert (problem.table, problem.number, problem.item) == ("document_handovers", number, row.id)
    assert str(problem).startswith(f"quote {number}, document hand-over id {row.id}: differs")
    uow._store.tables[HandoverRow].remove(row)
    (gone,) = verify_chain(uow).problems
    assert "missing from its table: deleted" in gone.problem


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    """Two brokerages and their brokers (`tests.test_tenancy`), with cheap password hashing."""
    from argon2 import PasswordHasher

    from egide.services import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
    return build_world()


def test_a_brokers_client_gets_the_record_from_its_broker_and_the_other_brokerage_sees_nothing(
    world: World, product: Product
) -> None:
    number = quotes.save_quote(world.uow, world.broker_a, practice(), product, "Claire")[
        "quote_number"
    ]
    advice = distribution.advice_pdf(world.uow, world.broker_a, number)
    text = pdf_text(advice.pdf)
    assert "Courtage A" in text and "Courtier, intermédiaire d'assurance" in text
    assert "claire@a.example (Claire)" in text  # who made the quote gives the advice
    status = distribution.record_handover(
        world.uow, world.broker_a, number, "web", {ADVICE: advice.pdf}
    )
    assert status.missing == (IPID,)
    assert status.documents[1].by == "claire@a.example"
    with pytest.raises(NotFound):
        distribution.handover_status(world.uow, world.broker_b, number)
