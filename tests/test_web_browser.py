"""The people's journeys in a real browser (Debian's Chromium through Playwright): a visitor
prices a practice, creates its account, reads and accepts the IPID and the duty-to-advise
record, binds and downloads its schedule; the establishment declares the product sheet's case
and sees its clock; the claims handler settles it for 24 570,00 EUR; the broker sees its client
and the renewal; the underwriter approves a referred clinic. axe-core checks the main pages.

Screenshots go to a temporary folder, or to docs/img/web/ with EGIDE_SCREENSHOTS=1 (how the
README's pictures are made: `EGIDE_SCREENSHOTS=1 .venv/bin/pytest tests/test_web_browser.py`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from egide.db.uow import SqlUnitOfWork
from egide.domain.access import local_operator
from egide.domain.product import Product
from egide.services import accounts
from egide.services.policies import bind_quote
from egide.services.quotes import save_quote
from egide.services.results import contract
from egide.web import forms
from tests.browser import axe_violations, chromium, live_server, need_browser
from tests.test_web import EXAMPLES, PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = (
        Path(__file__).resolve().parent.parent / "docs" / "img" / "web"
        if os.environ.get("EGIDE_SCREENSHOTS") == "1"
        else tmp_path / "shots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _people(url: str, product: Product) -> dict[str, Any]:
    """The insurer's staff and a brokerage with a bound client, as an administrator would."""
    uow = SqlUnitOfWork.from_url(url)
    with uow:
        insurer = uow.accounts.insurer()
    op = local_operator(insurer.id)
    brokerage = accounts.create_organisation(
        uow, op, "brokerage", "Courtage Santé Conseil", siren="732829320", orias="07012345"
    )
    for email, org, roles in [
        ("souscripteur@assureur.example", insurer.id, ["underwriter"]),
        ("sinistres@assureur.example", insurer.id, ["claims_handler"]),
        ("claire@courtage.example", brokerage.id, ["broker"]),
        ("actuaire@assureur.example", insurer.id, ["actuary"]),
    ]:
        accounts.create_user(uow, op, org, email, PASSWORD, roles)
    broker = accounts.acting_principal(uow, "claire@courtage.example")
    pharmacy = yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text())
    quote = contract(save_quote(uow, broker, pharmacy, product))
    policy = contract(bind_quote(uow, broker, quote["quote_number"], start="2027-01-10"))
    clinic = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text())
    referred = contract(save_quote(uow, broker, clinic, product))
    return {"pharmacy_policy": policy["policy_number"], "referred": referred["quote_number"]}


def _fill_questionnaire(page: Any, values: dict[str, str]) -> None:
    for path, value in values.items():
        q = forms.QUESTIONS.get(path)
        field = re.sub(r"[^A-Za-z0-9_-]", "-", path)
        if q is not None and q.kind.startswith("yesno"):
            page.check(f"#{field}-{value or 'inconnu'}")
        elif (q is not None and q.kind == "choice") or path.startswith("cover."):
            page.select_option(f"#{field}", value)
        else:
            page.fill(f"#{field}", value)


def _login(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Se connecter')")
    page.wait_for_url(f"{base}/espace")


def test_the_whole_journey_in_a_real_browser(
    sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch, shots: Path
) -> None:
    need_browser()
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    seeded = _people(sqlite_url, product)
    from egide.api.app import create_app
    from egide.settings import Settings

    # the API and the web, with the job runner and the webhook loop of `egide serve`
    app = create_app(Settings.with_environ(database_url=sqlite_url), in_process_worker=True)
    with live_server(app) as base, chromium() as browser:
        visitor = browser.new_context(locale="fr-FR", accept_downloads=True)
        page = visitor.new_page()
        page.set_viewport_size({"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(base + "/")
        assert "24\u202f570,00\u202f€" in page.inner_text("main")
        page.screenshot(path=str(shots / "accueil.png"), full_page=True)

        # a visitor prices the practice; the live price follows the limit
        page.goto(base + "/tarif")
        values = forms.form_values(yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text()))
        _fill_questionnaire(page, values)
        page.click("button:has-text('Calculer mon tarif')")
        page.wait_for_selector("#resultat[data-priced]")
        before = page.inner_text(".prime")
        page.select_option("#cover-limit", "250000")
        page.wait_for_function(
            "before => document.querySelector('.prime').innerText !== before", arg=before
        )
        assert "250\u202f000\u202f€" in page.inner_text(".prime")
        page.select_option("#cover-limit", "100000")
        page.wait_for_function(
            "() => document.querySelector('.prime').innerText.includes('100\u202f000')"
        )
        page.screenshot(path=str(shots / "tarif.png"), full_page=True)

        # creates the account, reads and accepts the documents, binds
        page.fill("#email", "dr.martin@cabinet.example")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Créer mon compte')")
        page.wait_for_url(re.compile(r".*/devis/DEV-.*"))
        page.click("text=Lire les documents et souscrire")
        with page.expect_download() as ipid:
            page.click("text=Document d'information normalisé")
        assert Path(ipid.value.path()).read_bytes().startswith(b"%PDF")
        page.check("#received")
        page.click("button:has-text('Confirmer la réception')")
        page.wait_for_selector("button:has-text('Souscrire le contrat')")
        page.screenshot(path=str(shots / "souscrire.png"), full_page=True)
        page.click("button:has-text('Souscrire le contrat')")
        page.wait_for_url(re.compile(r".*/contrats/POL-.*"))
        with page.expect_download() as schedule:
            page.click("a:has-text('conditions')")
        assert Path(schedule.value.path()).read_bytes().startswith(b"%PDF")
        page.screenshot(path=str(shots / "contrat.png"), full_page=True)

        # in March, the patient files are found on the web: the practice declares
        monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")
        page.get_by_role("link", name="Déclarer un incident").click()
        page.wait_for_url(re.compile(r".*/incident$"))
        page.select_option("#incident-type", "data_leak")
        page.fill("#incident-started_at", "2027-03-01T02:00")
        page.fill("#incident-discovered_at", "2027-03-15T10:00")
        page.check("#incident-attack-oui")
        page.fill("#incident-complaint_filed_at", "2027-03-16T15:00")
        page.fill("#data_breach-patients_affected", "1850")
        page.check("#categorie-health")
        page.fill("#notifications-cnil_at", "2027-03-16T16:00")
        costs = [
            ("it_forensics", "8400"),
            ("public_relations", "2170"),
            ("third_party_defence", "4500"),
            ("third_party_damages", "10500"),
        ]
        for i, (category, amount) in enumerate(costs):
            page.select_option(f"#costs-{i}--category", category)
            page.fill(f"#costs-{i}--amount", amount)
        page.get_by_role("button", name="Déclarer l'incident").click()
        page.wait_for_url(re.compile(r".*/sinistres/SIN-.*"))
        claim_url = page.url
        assert "Notification de la violation de données à la CNIL" in page.inner_text("main")
        page.screenshot(path=str(shots / "sinistre.png"), full_page=True)
        establishment_cookies = visitor.cookies()

        # the claims handler settles it
        handler = browser.new_context(locale="fr-FR").new_page()
        _login(handler, base, "sinistres@assureur.example")
        handler.goto(claim_url)
        handler.check("#final")
        handler.click("button:has-text('Régler')")
        handler.wait_for_load_state()
        assert "24\u202f570,00\u202f€" in handler.inner_text("tfoot")

        # the broker sees its client and the renewal (a month before the term)
        monkeypatch.setenv("EGIDE_NOW", "2027-12-01T09:00:00+01:00")
        broker = browser.new_context(locale="fr-FR").new_page()
        _login(broker, base, "claire@courtage.example")
        renewals = broker.inner_text("#renouvellements + table")
        assert seeded["pharmacy_policy"] in renewals
        broker.screenshot(path=str(shots / "espace-courtier.png"), full_page=True)

        # the underwriter approves the referred clinic
        monkeypatch.setenv("EGIDE_NOW", "2027-01-11T09:00:00+01:00")
        underwriter = browser.new_context(locale="fr-FR").new_page()
        _login(underwriter, base, "souscripteur@assureur.example")
        underwriter.click(f"text={seeded['referred']}")
        underwriter.check("#decision-accepter")
        underwriter.fill("#note", "Restauration testée le 12/11")
        underwriter.click("button:has-text('Enregistrer la décision')")
        underwriter.wait_for_selector("text=Accepté par un souscripteur")

        # the actuary runs the book in force and follows the run to its results
        actuary = browser.new_context(locale="fr-FR", accept_downloads=True).new_page()
        _login(actuary, base, "actuaire@assureur.example")
        actuary.click("text=Modèle de portefeuille")
        actuary.fill("#years", "500")
        actuary.click("button:has-text('Lancer la simulation')")
        actuary.wait_for_selector("text=Perte annuelle moyenne", timeout=120_000)
        actuary.screenshot(path=str(shots / "portefeuille.png"), full_page=True)
        with actuary.expect_download() as ord_tables:
            actuary.click("text=Télécharger les tables ORD")
        assert Path(ord_tables.value.path()).read_bytes().startswith(b"PK")

        assert errors == []  # no script error, no CSP violation reported by the page

        # axe-core on the main pages
        for path, cookies in [
            ("/", []),
            ("/tarif", []),
            ("/connexion", []),
            ("/espace", establishment_cookies),
            (claim_url.removeprefix(base), establishment_cookies),
        ]:
            assert axe_violations(browser, base + path, cookies) == [], path
