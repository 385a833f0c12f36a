"""The public pages: the home page (`/`) and the quote without an account (`/tarif`).

Pages parse the form, call one use case and render its result; no business rule lives here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from egide.domain.errors import FieldError, InvalidInput
from egide.domain.product import Product
from egide.services.quotes import price_quote
from egide.services.results import contract
from egide.web import content_fr, forms, messages_fr
from egide.web.pages import csrf_refused, render, web_product

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    product = web_product(request)
    paid = sum(a for _, a in content_fr.WORKED_CASE_COSTS) - content_fr.WORKED_CASE_DEDUCTIBLE
    return render(
        request,
        "home.html",
        {
            "coverages": [
                (c.label, content_fr.COVERAGE_EXPLAINED[code])
                for code, c in product.coverages.items()
            ],
            "risks": content_fr.RISKS,
            "case_costs": content_fr.WORKED_CASE_COSTS,
            "case_deductible": content_fr.WORKED_CASE_DEDUCTIBLE,
            "case_paid": Decimal(paid),
        },
    )


def _cover_options(product: Product) -> dict[str, list[tuple[Decimal, list[str]]]]:
    """Every limit and deductible option, with the kinds it is offered to (the page's script
    hides those of other kinds; without it, the domain refuses them with a message)."""
    return {
        "cover.limit": [(o.amount, sorted(o.kinds)) for o in product.aggregate_options],
        "cover.deductible": [(o.amount, sorted(o.kinds)) for o in product.deductible_options],
    }


def _tarif_context(
    product: Product,
    values: dict[str, str],
    errors: dict[str, list[str]],
    result: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "steps": forms.STEPS,
        "values": values,
        "errors": errors,
        "summary": messages_fr.summary(errors),
        "label": messages_fr.label,
        "cover_options": _cover_options(product),
        "result": result,
    }


@router.get("/tarif", response_class=HTMLResponse)
def tarif(request: Request) -> Response:
    product = web_product(request)
    return render(request, "tarif.html", _tarif_context(product, {}, {}, None))


def price_form(
    product: Product, form: FormData
) -> tuple[dict[str, Any] | None, dict[str, list[str]], dict[str, str]]:
    """The priced quote of a posted questionnaire (None when an answer breaks a rule), the French
    messages by field, and the values to show again."""
    posted = {k: v for k, v in form.items() if isinstance(v, str)}
    data, form_errors = forms.read_form(posted)
    errors: list[FieldError] = list(form_errors)
    result = None
    try:
        priced = contract(price_quote(data, product))
    except InvalidInput as e:
        converted = {f.field for f in form_errors}
        errors += [f for f in e.errors if f.field not in converted]
    else:
        if not errors:
            result = priced
    values = {k: v for k, v in posted.items() if k in forms.QUESTIONS or k in forms.COVER_FIELDS}
    return result, messages_fr.by_field(errors), values


@router.post("/tarif", response_class=HTMLResponse)
async def tarif_post(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    product = web_product(request)
    result, errors, values = price_form(product, form)
    context = _tarif_context(product, values, errors, result)
    return render(request, "tarif.html", context, status_code=200 if result else 422)


SIGN_UP_MESSAGES = {
    "siret_taken": (
        "Un compte existe déjà pour ce SIRET. Pour le rejoindre, demandez une invitation au "
        "responsable de l'établissement ou à son courtier."
    ),
    "email_taken": "Un compte existe déjà pour cette adresse : connectez-vous pour continuer.",
}


@router.post("/tarif/compte", response_class=HTMLResponse)
async def sign_up(request: Request) -> Response:
    """Save the priced quote and create the establishment's account (a new establishment only:
    a SIRET that an organisation holds needs an invitation)."""
    from egide.services.accounts import EmailTaken, SiretTaken, sign_up_establishment
    from egide.services.quotes import save_quote
    from egide.web.account import start_session
    from egide.web.pages import uow_of

    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    product = web_product(request)
    result, errors, values = price_form(product, form)
    if result is None:
        context = _tarif_context(product, values, errors, None)
        return render(request, "tarif.html", context, status_code=422)
    data, _ = forms.read_form(values)
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    account_errors: dict[str, list[str]] = {}
    try:
        principal = sign_up_establishment(uow_of(request), data, product, email, password)
    except InvalidInput as e:
        account_errors = messages_fr.by_field(e.errors)
    except (SiretTaken, EmailTaken) as e:
        field = "establishment.siret" if isinstance(e, SiretTaken) else "email"
        account_errors = {field: [SIGN_UP_MESSAGES[e.code]]}
    if account_errors:
        context = _tarif_context(product, values, account_errors, result)
        context["email"] = email[:254]
        return render(request, "tarif.html", context, status_code=422)
    quote = contract(save_quote(uow_of(request), principal, data, product))
    response = RedirectResponse(f"/devis/{quote['quote_number']}", status_code=303)
    return start_session(request, principal, response)


@router.post("/tarif/enregistrer", response_class=HTMLResponse)
async def save(request: Request) -> Response:
    """A logged-in broker, establishment manager or underwriter saves the priced quote: for a
    client of the brokerage, the broker of record rule applies (a conflict is said plainly)."""
    from egide.domain.errors import Conflict, NotAllowed
    from egide.services.quotes import save_quote
    from egide.web.account import current_principal
    from egide.web.pages import uow_of

    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    product = web_product(request)
    result, errors, values = price_form(product, form)
    if result is None:
        return render(request, "tarif.html", _tarif_context(product, values, errors, None), 422)
    data, _ = forms.read_form(values)
    try:
        quote = contract(save_quote(uow_of(request), principal, data, product))
    except InvalidInput as e:
        context = _tarif_context(product, values, messages_fr.by_field(e.errors), result)
        return render(request, "tarif.html", context, status_code=422)
    except (NotAllowed, Conflict) as e:
        message = (
            messages_fr.RULES["not_allowed"]
            if isinstance(e, NotAllowed)
            else messages_fr.conflict_message(e)
        )
        context = _tarif_context(product, values, {"establishment.siret": [message]}, result)
        return render(
            request, "tarif.html", context, status_code=403 if isinstance(e, NotAllowed) else 409
        )
    return RedirectResponse(f"/devis/{quote['quote_number']}", status_code=303)


@router.post("/tarif/prix", response_class=HTMLResponse)
async def tarif_price_fragment(request: Request) -> Response:
    """The result section alone, for the page's script when the limit or deductible changes."""
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    product = web_product(request)
    result, errors, values = price_form(product, form)
    context = _tarif_context(product, values, errors, result)
    return render(request, "_resultat.html", context, status_code=200 if result else 422)
