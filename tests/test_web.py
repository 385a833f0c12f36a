"""The French web application's first pages: home, the quote without an account, login, logout
and each role's space — security (CSRF, cookies, headers, sessions) and French validation."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.db.uow import SqlUnitOfWork
from egide.domain.access import local_operator
from egide.domain.money import fmt_eur
from egide.domain.product import Product
from egide.services import accounts
from egide.services.quotes import price_quote, save_quote
from egide.services.results import contract
from egide.settings import Settings
from egide.web import content_fr, forms
from egide.web.pages import mount_web

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PASSWORD = "correct horse battery staple 42"


def _app(url: str, product: Product, **settings: Any) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    shared = SqlUnitOfWork.from_url(url)  # one engine; a fresh unit of work per use
    mount_web(
        app,
        Settings.with_environ(database_url=url, **settings),
        product,
        lambda: SqlUnitOfWork(shared._factory),
    )
    return app


@pytest.fixture
def client(sqlite_url: str, product: Product) -> TestClient:
    return TestClient(_app(sqlite_url, product))


def _token(client: TestClient, path: str = "/tarif") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _example_form(name: str = "cabinet-medical") -> dict[str, str]:
    return forms.form_values(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))


def _users(url: str) -> dict[str, Any]:
    """An insurer underwriter, two brokerages with a broker each, and their quotes."""
    uow = SqlUnitOfWork.from_url(url)
    with uow:
        insurer = uow.accounts.insurer()
    op = local_operator(insurer.id)
    b1 = accounts.create_organisation(
        uow, op, "brokerage", "Courtage Un", siren="732829320", orias="07012345"
    )
    b2 = accounts.create_organisation(
        uow, op, "brokerage", "Courtage Deux", siren="552100554", orias="07012346"
    )
    made = {
        "underwriter": accounts.create_user(
            uow, op, insurer.id, "souscripteur@assureur.example", PASSWORD, ["underwriter"]
        ),
        "broker1": accounts.create_user(
            uow, op, b1.id, "claire@courtage1.example", PASSWORD, ["broker"]
        ),
        "broker2": accounts.create_user(
            uow, op, b2.id, "paul@courtage2.example", PASSWORD, ["broker"]
        ),
    }
    return {"op": op, "uow": uow, **made}


def _login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/connexion",
        data={"email": email, "password": password, "csrf_token": _token(client, "/connexion")},
        follow_redirects=False,
    )


def test_home_page_is_french_and_tells_the_product_sheet_case(
    client: TestClient, product: Product
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    for coverage in product.coverages.values():
        assert coverage.label in page.text
    paid = sum(a for _, a in content_fr.WORKED_CASE_COSTS) - content_fr.WORKED_CASE_DEDUCTIBLE
    assert fmt_eur(Decimal(paid)) in page.text
    assert 'href="/tarif"' in page.text


def test_the_worked_case_costs_are_the_example_claims_costs() -> None:
    claim = yaml.safe_load((EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml").read_text())
    amounts = sorted(c["amount"] for c in claim["costs"])
    assert sorted(a for _, a in content_fr.WORKED_CASE_COSTS) == amounts


def test_every_page_carries_a_strict_content_security_policy(client: TestClient) -> None:
    for path in ("/", "/tarif", "/connexion", "/nulle-part"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]


def test_no_page_has_an_inline_script_or_style(client: TestClient) -> None:
    form = {**_example_form(), "csrf_token": _token(client)}
    pages = [client.get("/").text, client.get("/tarif").text, client.post("/tarif", data=form).text]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert " style=" not in html and "<style" not in html


@pytest.mark.parametrize("example", ["cabinet-medical", "pharmacie", "clinique-120-lits"])
def test_a_priced_form_shows_what_the_service_prices(
    client: TestClient, product: Product, example: str
) -> None:
    expected = contract(
        price_quote(yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text()), product)
    )
    page = client.post("/tarif", data={**_example_form(example), "csrf_token": _token(client)})
    assert page.status_code == 200
    text = _text(page.text)
    assert expected["decision_label"] in text
    assert fmt_eur(Decimal(expected["premium"]["total"])) in text
    for c in expected["coverages"]:
        assert fmt_eur(Decimal(c["premium"])) in text
    assert f"{expected['security_score']} / 100" in text


def test_bad_answers_get_french_messages_beside_their_fields_and_nothing_is_stored(
    client: TestClient, sqlite_url: str
) -> None:
    form = _example_form()
    form.update(
        {
            "establishment.siret": "73282932000075",
            "establishment.annual_revenue": "-5",
            "security.critical_patch_days": "trente",
            "cover.limit": "123",
        }
    )
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        entries_before = len(uow.audit.entries())
    page = client.post("/tarif", data={**form, "csrf_token": _token(client)})
    assert page.status_code == 422
    for field, words in [
        ("establishment-siret", "SIRET n'est pas valide"),
        ("establishment-annual_revenue", "strictement supérieure à 0"),
        ("security-critical_patch_days", "Saisissez un nombre"),
        ("cover-limit", "pas proposé"),
    ]:
        error = re.search(rf'<p class="erreur" id="{field}-erreur">(.*?)</p>', page.text, re.S)
        assert error and words in error.group(1).replace("&#39;", "'"), field
        field_tag = re.search(rf'<(?:input|select) id="{field}"[^>]*>', page.text, re.S)
        assert field_tag and f"{field}-erreur" in field_tag.group(0)
        assert 'aria-invalid="true"' in field_tag.group(0)
    assert 'data-priced="1"' not in page.text
    with uow:
        assert len(uow.audit.entries()) == entries_before
        assert uow.quotes.find() == []


def test_text_typed_by_a_visitor_is_shown_literally(client: TestClient) -> None:
    form = {**_example_form(), "establishment.name": '<script>alert("x")</script>'}
    page = client.post("/tarif", data={**form, "csrf_token": _token(client)})
    assert '<script>alert("x")' not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_a_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, sqlite_url: str
) -> None:
    people = _users(sqlite_url)
    uow = people["uow"]
    with uow:
        before = len(uow.audit.entries())
    client.get("/connexion")  # the visitor has a CSRF cookie
    for token in (None, "0" * 64, _token(TestClient(client.app))):  # none, forged, another's
        data = {"email": "claire@courtage1.example", "password": PASSWORD}
        if token:
            data["csrf_token"] = token
        refused = client.post("/connexion", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert "egide_session" not in refused.cookies
    with uow:
        assert len(uow.audit.entries()) == before  # no login was recorded


def test_login_sets_a_protected_session_cookie_and_renews_the_csrf_cookie(
    client: TestClient, sqlite_url: str
) -> None:
    _users(sqlite_url)
    client.get("/connexion")
    before = client.cookies.get("egide_csrf")
    answer = _login(client, "claire@courtage1.example")
    assert answer.status_code == 303 and answer.headers["location"] == "/espace"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("egide_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    assert client.cookies.get("egide_csrf") != before
    assert "claire@courtage1.example" in client.get("/espace").text


def test_cookies_are_secure_in_production(
    sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "EGIDE_AUDIT_KEY", "8f" + "1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5f60718293a4b5c6d7e8f9a"
    )
    _users(sqlite_url)
    monkeypatch.setenv(
        "EGIDE_SECRET_KEY",
        "3c" + "9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e",
    )
    monkeypatch.setenv("EGIDE_ENV", "production")
    app = _app(sqlite_url, product)
    assert app.state.web_settings.production
    client = TestClient(app, base_url="https://testserver")
    answer = _login(client, "claire@courtage1.example")
    cookies = answer.headers.get_list("set-cookie")
    assert all("Secure" in c for c in cookies if c.startswith(("egide_session=", "egide_csrf=")))


def test_a_wrong_password_is_refused_in_french_without_saying_which_part(
    client: TestClient, sqlite_url: str
) -> None:
    _users(sqlite_url)
    wrong = _login(client, "claire@courtage1.example", "not the password")
    unknown = _login(client, "nobody@nowhere.example", "not the password")
    for page in (wrong, unknown):
        assert page.status_code == 401
        assert "Adresse électronique ou mot de passe incorrect." in page.text.replace("&#39;", "'")


def test_repeated_failed_logins_are_slowed_down_with_a_french_message(
    client: TestClient, sqlite_url: str
) -> None:
    _users(sqlite_url)
    statuses = [_login(client, "claire@courtage1.example", "bad").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    blocked = _login(client, "claire@courtage1.example")  # even the right password, for now
    assert blocked.status_code == 429 and "Trop de tentatives" in blocked.text


def test_logout_ends_the_session_for_every_copy_of_the_cookie(
    client: TestClient, sqlite_url: str
) -> None:
    _users(sqlite_url)
    _login(client, "claire@courtage1.example")
    stolen = client.cookies.get("egide_session")
    assert client.get("/espace", follow_redirects=False).status_code == 200
    out = client.post(
        "/deconnexion", data={"csrf_token": _token(client, "/espace")}, follow_redirects=False
    )
    assert out.status_code == 303
    thief = TestClient(client.app, cookies={"egide_session": stolen})
    assert thief.get("/espace", follow_redirects=False).headers["location"] == "/connexion"


def test_a_disabled_user_loses_their_session_at_once(client: TestClient, sqlite_url: str) -> None:
    people = _users(sqlite_url)
    _login(client, "claire@courtage1.example")
    assert client.get("/espace", follow_redirects=False).status_code == 200
    accounts.set_user_disabled(people["uow"], people["op"], "claire@courtage1.example", True)
    assert client.get("/espace", follow_redirects=False).status_code == 303


def test_a_broker_space_lists_its_own_clients_quotes_only(
    client: TestClient, sqlite_url: str, product: Product
) -> None:
    people = _users(sqlite_url)
    uow = people["uow"]
    b1 = accounts.acting_principal(uow, "claire@courtage1.example")
    b2 = accounts.acting_principal(uow, "paul@courtage2.example")
    mine = contract(
        save_quote(
            uow, b1, yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text()), product
        )
    )
    theirs = contract(
        save_quote(uow, b2, yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text()), product)
    )
    _login(client, "claire@courtage1.example")
    page = client.get("/espace").text
    assert mine["quote_number"] in page and theirs["quote_number"] not in page


def test_an_underwriter_sees_the_referral_queue(
    client: TestClient, sqlite_url: str, product: Product
) -> None:
    people = _users(sqlite_url)
    b1 = accounts.acting_principal(people["uow"], "claire@courtage1.example")
    app = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text())
    referred = contract(save_quote(people["uow"], b1, app, product))
    assert referred["status"] == "referred"
    _login(client, "souscripteur@assureur.example")
    page = client.get("/espace").text
    queue = page[page.index("Propositions à étudier") : page.index('id="devis"')]
    assert referred["quote_number"] in queue


def test_an_unknown_page_is_a_french_404(client: TestClient) -> None:
    page = client.get("/nulle-part")
    assert page.status_code == 404 and "Page introuvable" in page.text


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_numbers_written_the_french_way_read_back_exactly(value: Decimal) -> None:
    whole, _, cents = f"{value:.2f}".partition(".")
    grouped = "\u202f".join(whole[max(i - 3, 0) : i] for i in range(len(whole), 0, -3)[::-1])
    data, errors = forms.read_form({"establishment.annual_revenue": f"{grouped},{cents}"})
    assert errors == []
    assert Decimal(data["establishment"]["annual_revenue"]) == value


@pytest.mark.parametrize(
    "example", ["cabinet-medical", "pharmacie", "clinique-120-lits", "laboratoire"]
)
def test_an_application_shown_in_the_form_reads_back_to_the_same_application(example: str) -> None:
    from egide.domain.application import parse_application
    from egide.domain.product import load_product

    product = load_product()
    original = yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text())
    data, errors = forms.read_form(forms.form_values(original))
    assert errors == []
    original.pop("technology", None)  # the public form does not ask for vendors (unknown)
    assert parse_application(data, product) == parse_application(original, product)


def _referred_clinic(people: dict[str, Any], product: Product) -> dict[str, Any]:
    b1 = accounts.acting_principal(people["uow"], "claire@courtage1.example")
    app = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text())
    return contract(save_quote(people["uow"], b1, app, product))


def test_a_broker_gets_the_same_404_page_for_another_brokerages_quote_as_for_none(
    client: TestClient, sqlite_url: str, product: Product
) -> None:
    people = _users(sqlite_url)
    quote = _referred_clinic(people, product)
    _login(client, "claire@courtage1.example")
    assert client.get(f"/devis/{quote['quote_number']}").status_code == 200
    other = TestClient(client.app)
    _login(other, "paul@courtage2.example")
    foreign = other.get(f"/devis/{quote['quote_number']}")
    missing = other.get("/devis/DEV-20990101-ABCDEF")
    assert foreign.status_code == missing.status_code == 404
    strip = lambda html: re.sub(r'value="[^"]+"', "", html)  # noqa: E731 - the CSRF token differs
    assert strip(foreign.text) == strip(missing.text)


def test_an_underwriter_approves_a_referral_with_a_note_and_history_shows_it(
    client: TestClient, sqlite_url: str, product: Product
) -> None:
    people = _users(sqlite_url)
    number = _referred_clinic(people, product)["quote_number"]
    _login(client, "souscripteur@assureur.example")
    page = client.get(f"/devis/{number}")
    assert "Examiner la proposition" in page.text
    token = _token(client, f"/devis/{number}")
    empty = client.post(
        f"/devis/{number}/examen", data={"decision": "accepter", "note": " ", "csrf_token": token}
    )
    assert empty.status_code == 422 and 'id="note-erreur"' in empty.text
    done = client.post(
        f"/devis/{number}/examen",
        data={"decision": "accepter", "note": "Restauration testée le 12/11", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(f"/devis/{number}").text
    assert "Accepté par un souscripteur" in shown and "Restauration testée le 12/11" in shown
    assert "Examiner la proposition" not in shown  # reviewed once


def test_a_broker_cannot_review_its_own_referral_and_nothing_changes(
    client: TestClient, sqlite_url: str, product: Product
) -> None:
    people = _users(sqlite_url)
    number = _referred_clinic(people, product)["quote_number"]
    _login(client, "claire@courtage1.example")
    assert "Examiner la proposition" not in client.get(f"/devis/{number}").text
    token = _token(client, f"/devis/{number}")
    refused = client.post(
        f"/devis/{number}/examen", data={"decision": "accepter", "note": "ok", "csrf_token": token}
    )
    assert refused.status_code == 403 and "Votre rôle ne permet pas" in refused.text
    b1 = accounts.acting_principal(people["uow"], "claire@courtage1.example")
    from egide.services.quotes import get_quote

    assert contract(get_quote(people["uow"], b1, number))["status"] == "referred"


def _declared_leak(
    people: dict[str, Any], product: Product, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The product sheet's case: the demo practice bound on 10 January 2027, its patient files
    found on the web in March, declared the next day by its broker."""
    from egide.services.claims import declare_claim
    from egide.services.policies import bind_quote

    uow = people["uow"]
    b1 = accounts.acting_principal(uow, "claire@courtage1.example")
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    app = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text())
    quote = contract(save_quote(uow, b1, app, product))
    policy = contract(bind_quote(uow, b1, quote["quote_number"], start="2027-01-10"))
    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")
    leak = yaml.safe_load((EXAMPLES / "claims" / "fuite-donnees-cabinet.yaml").read_text())
    return str(contract(declare_claim(uow, b1, policy["policy_number"], leak))["claim_id"])


def test_a_claims_page_shows_the_clock_and_a_claims_handler_settles_the_product_sheet_case(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    accounts.create_user(
        people["uow"],
        people["op"],
        people["underwriter"].organisation_id,
        "sinistres@assureur.example",
        PASSWORD,
        ["claims_handler"],
    )
    number = _declared_leak(people, product, monkeypatch)
    _login(client, "claire@courtage1.example")
    page = client.get(f"/sinistres/{number}").text
    assert "Notification de la violation de données à la CNIL (72 heures)" in page
    assert "Régler le sinistre" not in page  # a broker does not settle
    assert "Déposez plainte" not in page  # the complaint was filed: nothing left to do
    pdf = client.get(f"/sinistres/{number}/decompte.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    handler = TestClient(client.app)
    _login(handler, "sinistres@assureur.example")
    form_page = handler.get(f"/sinistres/{number}").text
    key = re.search(r'name="key" value="([^"]+)"', form_page)
    assert key
    form = {
        "amount": "",
        "final": "oui",
        "key": key.group(1),
        "csrf_token": _token(handler, f"/sinistres/{number}"),
    }
    assert (
        handler.post(
            f"/sinistres/{number}/reglement", data=form, follow_redirects=False
        ).status_code
        == 303
    )
    again = handler.post(f"/sinistres/{number}/reglement", data=form, follow_redirects=False)
    assert again.status_code == 303  # the same form twice: paid once
    settled = handler.get(f"/sinistres/{number}").text
    paid = re.search(r"Déjà versé</th><td class=\"montant\">([^<]+)</td>", settled)
    assert paid and paid.group(1) == fmt_eur(Decimal("24570"))


def test_another_brokerage_gets_a_404_for_a_claim(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    number = _declared_leak(people, product, monkeypatch)
    _login(client, "paul@courtage2.example")
    assert client.get(f"/sinistres/{number}").status_code == 404
    assert client.get(f"/sinistres/{number}/decompte.pdf").status_code == 404


def test_a_visitor_saves_the_quote_by_creating_the_establishments_account(
    client: TestClient, sqlite_url: str
) -> None:
    form = {**_example_form(), "email": "dr.martin@cabinet.example", "password": PASSWORD}
    done = client.post(
        "/tarif/compte", data={**form, "csrf_token": _token(client)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/devis/DEV-")
    page = client.get(done.headers["location"])
    assert page.status_code == 200 and "Cabinet du Dr Martin" in page.text
    assert "dr.martin@cabinet.example" in client.get("/espace").text
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        org = uow.accounts.organisation_by_siret("73282932000074")
        user = uow.accounts.user_by_email("dr.martin@cabinet.example")
        assert org is not None and user is not None and user.organisation_id == org.id
        assert [q.establishment_id for q in uow.quotes.find()] == [org.id]


def test_nobody_takes_over_an_establishment_by_typing_its_siret(
    client: TestClient, sqlite_url: str
) -> None:
    first = {**_example_form(), "email": "dr.martin@cabinet.example", "password": PASSWORD}
    client.post("/tarif/compte", data={**first, "csrf_token": _token(client)})
    intruder = TestClient(client.app)
    second = {**_example_form(), "email": "intrus@ailleurs.example", "password": PASSWORD}
    refused = intruder.post("/tarif/compte", data={**second, "csrf_token": _token(intruder)})
    assert refused.status_code == 422
    assert "demandez une invitation" in refused.text
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        assert uow.accounts.user_by_email("intrus@ailleurs.example") is None
        assert len(uow.quotes.find()) == 1


def test_a_short_password_is_refused_beside_its_field_and_nothing_is_created(
    client: TestClient, sqlite_url: str
) -> None:
    form = {**_example_form(), "email": "dr.martin@cabinet.example", "password": "court"}
    page = client.post("/tarif/compte", data={**form, "csrf_token": _token(client)})
    assert page.status_code == 422
    error = re.search(r'<p class="erreur" id="password-erreur">(.*?)</p>', page.text)
    assert error and "trop court" in error.group(1)
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        assert uow.accounts.organisation_by_siret("73282932000074") is None


def _bound_practice(
    people: dict[str, Any], product: Product, monkeypatch: pytest.MonkeyPatch
) -> str:
    from egide.services.policies import bind_quote

    b1 = accounts.acting_principal(people["uow"], "claire@courtage1.example")
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    app = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text())
    quote = contract(save_quote(people["uow"], b1, app, product))
    return str(
        contract(bind_quote(people["uow"], b1, quote["quote_number"], start="2027-01-10"))[
            "policy_number"
        ]
    )


LEAK_FORM = {
    "incident.type": "data_leak",
    "incident.started_at": "2027-03-01T02:00",
    "incident.discovered_at": "2027-03-15T10:00",
    "incident.attack": "oui",
    "incident.complaint_filed_at": "2027-03-16T15:00",
    "data_breach.patients_affected": "1 850",
    "notifications.cnil_at": "2027-03-16T16:00",
    "costs[0].category": "it_forensics",
    "costs[0].amount": "8 400",
    "costs[1].category": "public_relations",
    "costs[1].amount": "2170",
}


def test_the_product_sheet_case_declared_through_the_guided_form_shows_its_clock(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    policy = _bound_practice(people, product, monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")
    _login(client, "claire@courtage1.example")
    page = client.get(f"/contrats/{policy}")
    assert page.status_code == 200 and "Déclarer un incident" in page.text
    first = re.search(r'href="(/contrats/[^"]+/documents/[^"]+\.pdf)"', page.text)
    assert first and client.get(first.group(1)).content.startswith(b"%PDF")
    form_page = client.get(f"/contrats/{policy}/incident").text
    key = re.search(r'name="key" value="([^"]+)"', form_page)
    assert key
    data = {**LEAK_FORM, "data_breach.categories": ["health", "identity"], "key": key.group(1)}
    data["csrf_token"] = _token(client, f"/contrats/{policy}/incident")
    done = client.post(f"/contrats/{policy}/incident", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/sinistres/")
    again = client.post(f"/contrats/{policy}/incident", data=data, follow_redirects=False)
    assert again.headers["location"] == done.headers["location"]  # declared once
    claim = client.get(done.headers["location"]).text
    assert "Information des patients concernés" in claim  # 1 850 patients: they must be told
    assert "8\u202f400,00\u202f€" in claim


def test_an_incident_discovered_before_it_started_is_refused_beside_the_field(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    policy = _bound_practice(people, product, monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")
    _login(client, "claire@courtage1.example")
    data = {**LEAK_FORM, "incident.discovered_at": "2027-02-01T10:00", "costs[0].amount": "huit"}
    data["csrf_token"] = _token(client, f"/contrats/{policy}/incident")
    page = client.post(f"/contrats/{policy}/incident", data=data)
    assert page.status_code == 422
    error = re.search(r'id="costs-0--amount-erreur">(.*?)</p>', page.text)
    assert error and "Saisissez un nombre" in error.group(1)
    uow = people["uow"]
    with uow:
        assert uow.claims.find() == []
    del data["costs[0].amount"]
    page = client.post(f"/contrats/{policy}/incident", data=data)
    assert page.status_code == 422
    error = re.search(r'id="incident-discovered_at-erreur">(.*?)</p>', page.text)
    assert error and "précéder le début" in error.group(1).replace("&#39;", "'")
    with uow:
        assert uow.claims.find() == []


@given(
    st.dates(
        min_value=__import__("datetime").date(2000, 3, 1),
        max_value=__import__("datetime").date(2100, 12, 31),
    )
)
def test_the_notice_deadline_is_two_months_before_the_anniversary(end: Any) -> None:
    from egide.web.account import notice_deadline

    notice = notice_deadline(end)
    months = (end.year - notice.year) * 12 + end.month - notice.month
    assert months == 2
    assert notice.day == end.day or (
        notice.day < end.day
        and notice.month != (notice + __import__("datetime").timedelta(days=1)).month
    )


def test_a_broker_sees_its_clients_renewal_with_the_last_day_of_notice(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    policy = _bound_practice(people, product, monkeypatch)  # 10 Jan 2027 to 10 Jan 2028
    monkeypatch.setenv("EGIDE_NOW", "2027-12-01T09:00:00+01:00")
    _login(client, "claire@courtage1.example")
    page = client.get("/espace").text
    section = page[page.index('id="renouvellements"') : page.index('id="sinistres"')]
    assert policy in section and "2028-01-10" in section and "2027-11-10 — dépassé" in section
    other = TestClient(client.app)
    _login(other, "paul@courtage2.example")
    assert policy not in other.get("/espace").text


def _admin(client: TestClient, sqlite_url: str) -> dict[str, Any]:
    people = _users(sqlite_url)
    accounts.create_user(
        people["uow"],
        people["op"],
        people["underwriter"].organisation_id,
        "admin@assureur.example",
        PASSWORD,
        ["admin"],
    )
    _login(client, "admin@assureur.example")
    return people


def test_an_admin_creates_a_user_and_disabling_it_ends_its_session(
    client: TestClient, sqlite_url: str
) -> None:
    people = _admin(client, sqlite_url)
    token = _token(client, "/admin")
    org = people["broker1"].organisation_id
    created = client.post(
        "/admin/utilisateurs",
        data={
            "organisation_id": str(org),
            "email": "lea@courtage1.example",
            "password": PASSWORD,
            "roles": ["broker"],
            "csrf_token": token,
        },
    )
    assert created.status_code == 200 and "Utilisateur créé." in created.text
    lea = TestClient(client.app)
    _login(lea, "lea@courtage1.example")
    assert lea.get("/espace", follow_redirects=False).status_code == 200
    client.post(
        "/admin/utilisateurs/desactiver",
        data={"email": "lea@courtage1.example", "csrf_token": token},
    )
    assert lea.get("/espace", follow_redirects=False).status_code == 303


def test_an_admin_gives_a_new_password_and_the_old_sessions_end(
    client: TestClient, sqlite_url: str
) -> None:
    _admin(client, sqlite_url)
    claire = TestClient(client.app)
    _login(claire, "claire@courtage1.example")
    token = _token(client, "/admin")
    new = "une toute nouvelle phrase de passe"
    done = client.post(
        "/admin/utilisateurs/mot-de-passe",
        data={"email": "claire@courtage1.example", "password": new, "csrf_token": token},
    )
    assert done.status_code == 200
    assert claire.get("/espace", follow_redirects=False).status_code == 303
    assert _login(TestClient(client.app), "claire@courtage1.example", new).status_code == 303
    assert _login(TestClient(client.app), "claire@courtage1.example").status_code == 401


def test_an_api_clients_secret_is_shown_once_and_never_listed(
    client: TestClient, sqlite_url: str
) -> None:
    people = _admin(client, sqlite_url)
    token = _token(client, "/admin")
    made = client.post(
        "/admin/clients",
        data={
            "organisation_id": str(people["broker1"].organisation_id),
            "roles": ["broker"],
            "scopes": ["quotes:write"],
            "csrf_token": token,
        },
    )
    secret = re.search(r"Secret : <code>([^<]+)</code>", made.text)
    assert secret and secret.group(1).startswith("egs_")
    assert secret.group(1) not in client.get("/admin").text


def test_bad_identifiers_are_named_in_french_and_nothing_is_created(
    client: TestClient, sqlite_url: str
) -> None:
    people = _admin(client, sqlite_url)
    token = _token(client, "/admin")
    page = client.post(
        "/admin/organisations",
        data={
            "kind": "brokerage",
            "name": "Courtage Trois",
            "siren": "123456789",
            "orias": "12",
            "csrf_token": token,
        },
    )
    assert page.status_code == 422
    assert "SIREN n&#39;est pas valide" in page.text and "ORIAS n&#39;est pas valide" in page.text
    with people["uow"] as uow:
        assert all(o.name != "Courtage Trois" for o in uow.accounts.organisations(0, 100))


def test_a_broker_gets_a_french_403_on_the_admin_pages(client: TestClient, sqlite_url: str) -> None:
    _users(sqlite_url)
    _login(client, "claire@courtage1.example")
    assert client.get("/admin").status_code == 403
    token = _token(client, "/espace")
    refused = client.post(
        "/admin/utilisateurs/desactiver",
        data={"email": "paul@courtage2.example", "csrf_token": token},
    )
    assert refused.status_code == 403 and "Votre rôle ne permet pas" in refused.text


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator app's code now (real time: TOTP never follows EGIDE_NOW), or that of
    the next time step (accepted: one step of drift)."""
    import time

    import pyotp

    return str(pyotp.TOTP(secret.replace(" ", "")).at(int(time.time()) + 30 * steps_ahead))


def test_staff_must_enrol_a_second_factor_before_any_session_when_required(
    client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _users(sqlite_url)
    monkeypatch.setenv("EGIDE_STAFF_MFA", "required")
    moment = "2027-01-10T09:00:00+01:00"
    monkeypatch.setenv("EGIDE_NOW", moment)
    step = _login(client, "souscripteur@assureur.example")
    assert step.headers["location"] == "/connexion/double-facteur"
    assert "egide_session" not in client.cookies
    assert client.get("/espace", follow_redirects=False).status_code == 303  # nothing yet
    page = client.get("/connexion/double-facteur").text
    secret = re.search(r'<code class="cle">([^<]+)</code>', page)
    assert secret
    token = _token(client, "/connexion/double-facteur")
    wrong = client.post("/connexion/double-facteur", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 422 and "pas le code actuel" in wrong.text
    done = client.post(
        "/connexion/double-facteur",
        data={"code": _code(secret.group(1)), "csrf_token": token},
        follow_redirects=False,
    )
    assert (
        done.status_code == 303 and client.get("/espace", follow_redirects=False).status_code == 200
    )
    # next login: the code is asked, and a code is accepted once
    later = "2027-01-10T09:05:00+01:00"
    monkeypatch.setenv("EGIDE_NOW", later)
    other = TestClient(client.app)
    assert _login(other, "souscripteur@assureur.example").headers["location"] == "/connexion/code"
    code = _code(secret.group(1), steps_ahead=1)
    token = _token(other, "/connexion/code")
    ok = other.post(
        "/connexion/code", data={"code": code, "csrf_token": token}, follow_redirects=False
    )
    assert ok.status_code == 303
    third = TestClient(client.app)
    _login(third, "souscripteur@assureur.example")
    replay = third.post(
        "/connexion/code", data={"code": code, "csrf_token": _token(third, "/connexion/code")}
    )
    assert replay.status_code == 401


def test_a_broker_logs_in_without_a_second_factor_unless_it_enrolled(
    client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _users(sqlite_url)
    monkeypatch.setenv("EGIDE_STAFF_MFA", "required")
    assert _login(client, "claire@courtage1.example").headers["location"] == "/espace"


def test_a_forged_pending_login_cookie_opens_nothing(client: TestClient, sqlite_url: str) -> None:
    people = _users(sqlite_url)
    uid = people["underwriter"].id
    client.cookies.set("egide_pending", f"{uid}.code.9999999999.{'0' * 64}", path="/connexion")
    assert client.get("/connexion/code", follow_redirects=False).headers["location"] == "/connexion"


def test_an_enabled_second_factors_secret_is_never_shown_again(
    client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _users(sqlite_url)
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    _login(client, "claire@courtage1.example")
    page = client.get("/espace/double-facteur").text
    secret = re.search(r'<code class="cle">([^<]+)</code>', page)
    assert secret
    token = _token(client, "/espace")
    code = _code(secret.group(1))
    client.post("/espace/double-facteur", data={"code": code, "csrf_token": token})
    again = client.get("/espace/double-facteur").text
    assert "déjà activée" in again and secret.group(1) not in again


def test_a_visitor_reads_the_ipid_and_the_advice_then_binds_and_gets_the_schedule(
    client: TestClient, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    form = {**_example_form(), "email": "dr.martin@cabinet.example", "password": PASSWORD}
    quote_page = client.post("/tarif/compte", data={**form, "csrf_token": _token(client)}).url.path
    number = quote_page.rsplit("/", 1)[1]
    page = client.get(f"/devis/{number}/souscrire").text
    assert "La souscription sera possible quand" in page
    for name in ("ipid", "devoir-de-conseil"):
        pdf = client.get(f"/devis/{number}/{name}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    token = _token(client, f"/devis/{number}/souscrire")
    early = client.post(
        f"/devis/{number}/souscription", data={"start": "2027-01-10", "csrf_token": token}
    )
    assert early.status_code == 409 and "doivent vous avoir été" in early.text.replace("&#39;", "'")
    hashes = dict(re.findall(r'name="sha256\.([a-z_]+)" value="([0-9a-f]+)"', page))
    unchecked = client.post(
        f"/devis/{number}/documents",
        data={**{f"sha256.{k}": v for k, v in hashes.items()}, "csrf_token": token},
    )
    assert unchecked.status_code == 422 and 'id="received-erreur"' in unchecked.text
    stale = client.post(
        f"/devis/{number}/documents",
        data={
            "sha256.ipid": "0" * 64,
            "sha256.devoir_de_conseil": hashes["devoir_de_conseil"],
            "received": "oui",
            "csrf_token": token,
        },
    )
    assert stale.status_code == 409
    done = client.post(
        f"/devis/{number}/documents",
        data={
            **{f"sha256.{k}": v for k, v in hashes.items()},
            "received": "oui",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/devis/{number}/souscrire").text
    assert page.count("remis le 10/01/2027") == 2
    bound = client.post(
        f"/devis/{number}/souscription",
        data={"start": "2027-01-10", "csrf_token": token},
        follow_redirects=False,
    )
    assert bound.status_code == 303 and bound.headers["location"].startswith("/contrats/POL-")
    policy_page = client.get(bound.headers["location"]).text
    schedule = re.search(
        r'href="(/contrats/[^"]+/documents/[^"]*conditions[^"]*\.pdf)"', policy_page
    )
    assert schedule and client.get(schedule.group(1)).content.startswith(b"%PDF")
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        recorded = uow.handovers.of_quote(number)
    assert {h.document for h in recorded} == {"ipid", "devoir_de_conseil"}
    assert {h.channel for h in recorded} == {"web"}


def test_a_second_brokerage_is_told_plainly_about_the_broker_of_record(
    client: TestClient, sqlite_url: str
) -> None:
    _users(sqlite_url)
    _login(client, "claire@courtage1.example")
    form = {**_example_form(), "csrf_token": _token(client)}
    first = client.post("/tarif/enregistrer", data=form, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/devis/")
    other = TestClient(client.app)
    _login(other, "paul@courtage2.example")
    refused = other.post(
        "/tarif/enregistrer", data={**_example_form(), "csrf_token": _token(other)}
    )
    assert refused.status_code == 409
    text = refused.text.replace("&#39;", "'")
    assert "Un autre courtier est l'intermédiaire de cet établissement" in text
    assert "Courtage Un" not in text  # no other tenant's data


# Every page and action of the web application, and what an anonymous visitor gets: a public
# page, a redirection to the login (a space or an object's page), or, for a POST, a refusal
# before anything else when the form's CSRF token is missing. A new route must be named here.
PUBLIC, LOGIN, GONE = "public", "login", "gone"
WEB_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/tarif"): PUBLIC,
    ("GET", "/connexion"): PUBLIC,
    ("GET", "/espace"): LOGIN,
    ("GET", "/devis/{number}"): LOGIN,
    ("GET", "/devis/{number}/souscrire"): LOGIN,
    ("GET", "/devis/{number}/{name}.pdf"): LOGIN,
    ("GET", "/sinistres/{number}"): LOGIN,
    ("GET", "/sinistres/{number}/decompte.pdf"): LOGIN,
    ("GET", "/contrats/{number}"): LOGIN,
    ("GET", "/contrats/{number}/documents/{name}"): LOGIN,
    ("GET", "/contrats/{number}/incident"): LOGIN,
    ("GET", "/admin"): LOGIN,
    ("GET", "/connexion/code"): LOGIN,  # without a pending login: back to the login
    ("GET", "/connexion/double-facteur"): LOGIN,
    ("GET", "/espace/double-facteur"): LOGIN,
    ("GET", "/portefeuille"): LOGIN,
    ("GET", "/portefeuille/{job_id}"): LOGIN,
    ("GET", "/portefeuille/{job_id}/ep.png"): LOGIN,
    ("GET", "/portefeuille/{job_id}/ord.zip"): LOGIN,
    ("GET", "/invitation/{token}"): GONE,  # an unknown token: the same page as a used one
    **{
        ("POST", path): "csrf"
        for path in (
            "/tarif",
            "/tarif/compte",
            "/tarif/enregistrer",
            "/tarif/prix",
            "/connexion",
            "/deconnexion",
            "/devis/{number}/examen",
            "/devis/{number}/documents",
            "/devis/{number}/souscription",
            "/sinistres/{number}/reglement",
            "/contrats/{number}/incident",
            "/admin/organisations",
            "/admin/utilisateurs",
            "/admin/utilisateurs/desactiver",
            "/admin/utilisateurs/activer",
            "/admin/utilisateurs/mot-de-passe",
            "/admin/clients",
            "/admin/clients/revoquer",
            "/admin/webhooks",
            "/admin/webhooks/supprimer",
            "/connexion/code",
            "/connexion/double-facteur",
            "/espace/double-facteur",
            "/portefeuille",
            "/invitations",
            "/invitation/{token}",
        )
    },
}


def _web_routes(app: FastAPI) -> set[tuple[str, str]]:
    from starlette.routing import Mount

    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str = "") -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes, prefix + route.include_context.prefix)
            elif not isinstance(route, Mount):  # /static
                found.update((m, prefix + route.path) for m in route.methods - {"HEAD"})

    walk(list(app.routes))
    return {r for r in found if not r[1].startswith("/api")}


def test_the_table_names_every_page_of_the_web_application(client: TestClient) -> None:
    assert _web_routes(client.app) == set(WEB_ROUTES)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), sorted(WEB_ROUTES))
def test_an_anonymous_visitor_gets_a_public_page_the_login_or_a_csrf_refusal(
    client: TestClient, sqlite_url: str, method: str, path: str
) -> None:
    url = path.replace("{number}", "DEV-20270101-ABCDEF").replace("{name}", "ipid")
    url = url.replace("{job_id}", "JOB-20270101-ABCDEF").replace("{token}", "x" * 43)
    uow = SqlUnitOfWork.from_url(sqlite_url)
    with uow:
        before = len(uow.audit.entries())
    answer = client.request(method, url, data={"email": "x@y.example"}, follow_redirects=False)
    expected = WEB_ROUTES[(method, path)]
    if expected == PUBLIC:
        assert answer.status_code == 200
    elif expected == LOGIN:
        assert answer.status_code == 303 and answer.headers["location"] == "/connexion"
    elif expected == GONE:
        assert answer.status_code == 404 and "a déjà servi ou a expiré" in answer.text
    else:
        assert answer.status_code == 403 and "Formulaire expiré" in answer.text
    with uow:
        assert len(uow.audit.entries()) == before


def test_an_actuary_runs_the_book_and_reads_its_results_and_downloads(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.services import portfolio_jobs

    people = _users(sqlite_url)
    accounts.create_user(
        people["uow"],
        people["op"],
        people["underwriter"].organisation_id,
        "actuaire@assureur.example",
        PASSWORD,
        ["actuary"],
    )
    _bound_practice(people, product, monkeypatch)
    monkeypatch.setenv("EGIDE_NOW", "2027-02-01T09:00:00+01:00")
    broker = TestClient(client.app)
    _login(broker, "claire@courtage1.example")
    assert broker.get("/portefeuille").status_code == 403
    _login(client, "actuaire@assureur.example")
    token = _token(client, "/portefeuille")
    bad = client.post(
        "/portefeuille",
        data={"years": "dix", "seed": "1", "as_of": "2027-02-01", "csrf_token": token},
    )
    assert bad.status_code == 422 and 'id="years-erreur"' in bad.text
    started = client.post(
        "/portefeuille",
        data={"years": "200", "seed": "7", "as_of": "2027-02-01", "csrf_token": token},
        follow_redirects=False,
    )
    assert started.status_code == 303
    page_url = started.headers["location"]
    waiting = client.get(page_url).text
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting
    job_id = page_url.rsplit("/", 1)[1]
    runner = portfolio_jobs.JobRunner(people["uow"], product)  # what the application runs
    try:
        assert runner.run_next() == job_id
    finally:
        runner.close()
    done = client.get(page_url).text
    assert "Perte annuelle moyenne" in done and 'http-equiv="refresh"' not in done
    assert "VaR 99,5 %" in done and "Cabinet médical" in done
    png = client.get(page_url + "/ep.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    archive = client.get(page_url + "/ord.zip")
    assert archive.status_code == 200 and archive.content.startswith(b"PK")


def test_a_broker_invites_its_clients_manager_who_joins_once_and_sees_the_establishment(
    client: TestClient, sqlite_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _users(sqlite_url)
    policy = _bound_practice(people, product, monkeypatch)
    _login(client, "claire@courtage1.example")
    page = client.get("/espace").text
    org = re.search(r'<option value="(\d+)">Cabinet du Dr Martin</option>', page)
    assert org and "Mes clients" in page
    token = _token(client, "/espace")
    made = client.post(
        "/invitations",
        data={
            "organisation_id": org.group(1),
            "email": "dr.martin@cabinet.example",
            "csrf_token": token,
        },
    )
    assert made.status_code == 200
    link = re.search(r'<code class="lien-invitation">[^<]*(/invitation/[^<]+)</code>', made.text)
    assert link
    # another brokerage cannot invite anyone to this establishment, nor learn it exists
    other = TestClient(client.app)
    _login(other, "paul@courtage2.example")
    refused = other.post(
        "/invitations",
        data={
            "organisation_id": org.group(1),
            "email": "x@y.example",
            "csrf_token": _token(other, "/espace"),
        },
    )
    assert refused.status_code == 422 and "n&#39;existe pas" in refused.text
    # the invited person chooses a password and manages the establishment
    invited = TestClient(client.app)
    form_page = invited.get(link.group(1))
    assert form_page.status_code == 200 and "Cabinet du Dr Martin" in form_page.text
    short = invited.post(
        link.group(1), data={"password": "court", "csrf_token": _token(invited, link.group(1))}
    )
    assert short.status_code == 422 and "trop court" in short.text
    joined = invited.post(
        link.group(1),
        data={"password": PASSWORD, "csrf_token": _token(invited, link.group(1))},
        follow_redirects=False,
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/espace"
    assert policy in invited.get("/espace").text
    again = TestClient(client.app).get(link.group(1))
    assert again.status_code == 404  # used once
    uow = people["uow"]
    with uow:
        user = uow.accounts.user_by_email("dr.martin@cabinet.example")
        assert user is not None and user.organisation_id == int(org.group(1))
        assert {r.value for r in user.roles} == {"establishment_manager"}


def test_an_admin_registers_a_webhook_whose_secret_is_shown_once_and_deletes_it(
    client: TestClient, sqlite_url: str
) -> None:
    _admin(client, sqlite_url)
    token = _token(client, "/admin")
    bad = client.post(
        "/admin/webhooks",
        data={"url": "ftp://x", "events": ["quote.referred"], "csrf_token": token},
    )
    assert bad.status_code == 422
    made = client.post(
        "/admin/webhooks",
        data={
            "url": "http://127.0.0.1:9/hook",
            "events": ["quote.referred", "claim.declared"],
            "csrf_token": token,
        },
    )
    secret = re.search(r"secret : <code>(whsec_[^<]+)</code>", made.text)
    assert made.status_code == 200 and secret
    listed = client.get("/admin").text
    assert "http://127.0.0.1:9/hook" in listed and secret.group(1) not in listed
    assert re.search(r"<title>Administration — [^<]*</title>", listed)  # plain text, no markup
    assert listed.count('id="webhooks"') == 1
    hook_id = re.search(r'name="webhook_id" value="(\d+)"', listed)
    assert hook_id
    gone = client.post(
        "/admin/webhooks/supprimer", data={"webhook_id": hook_id.group(1), "csrf_token": token}
    )
    assert gone.status_code == 200 and "http://127.0.0.1:9/hook" not in gone.text
