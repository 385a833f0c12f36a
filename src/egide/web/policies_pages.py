"""A policy's page (`/contrats/{number}`): the cover in force, its history and its documents
(PDF); and the guided declaration of an incident (`/contrats/{number}/incident`), which becomes
a claim with its legal clock. A policy the visitor may not see is the same 404 page as one that
does not exist."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.domain.claims import CATEGORY_LABELS_FR, INCIDENT_LABELS_FR, CostCategory
from egide.domain.errors import Conflict, FieldError, InvalidInput, NotAllowed, NotFound
from egide.domain.policy import PARIS
from egide.services.results import contract
from egide.web import messages_fr
from egide.web.account import POLICY_STATUS_LABELS, current_principal
from egide.web.forms import french_number
from egide.web.pages import csrf_refused, not_found_page, render, uow_of

router = APIRouter(include_in_schema=False)

COST_ROWS = 5  # cost lines on the first notice; more can be added to the claim later
DATA_CATEGORIES = (
    ("health", "Données de santé"),
    ("identity", "Identité"),
    ("contact", "Coordonnées"),
    ("financial", "Données bancaires"),
    ("social_security", "Numéro de sécurité sociale"),
)


def _documents(uow: Any, principal: Any, number: str) -> dict[str, bytes]:
    from egide.services.policies import policy_documents

    docs = policy_documents(uow, principal, number)
    files = getattr(docs, "files", docs)  # a typed result keeps its files
    return dict(files)


@router.get("/contrats/{number}", response_class=HTMLResponse)
def policy_page(request: Request, number: str) -> Response:
    from egide.services.policies import get_policy

    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    number = number[:40]
    try:
        policy = contract(get_policy(uow_of(request), principal, number))
        files = sorted(_documents(uow_of(request), principal, number))
    except NotFound:
        return not_found_page(request)
    return render(
        request,
        "contrat.html",
        {
            "number": number,
            "policy": policy,
            "files": files,
            "status_label": POLICY_STATUS_LABELS.get(policy["status"], policy["status"]),
        },
    )


@router.get("/contrats/{number}/documents/{name}")
def policy_document(request: Request, number: str, name: str) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        files = _documents(uow_of(request), principal, number[:40])
    except NotFound:
        return not_found_page(request)
    if name not in files:
        return not_found_page(request)
    return Response(
        files[name],
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _moment(value: str) -> str | None:
    """A ``datetime-local`` field (``2027-03-15T10:00``, Paris time) as ISO 8601 with its offset;
    None when empty; the raw text when it is not a date (the domain then names the rule)."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return value
    return naive.replace(tzinfo=PARIS).isoformat() if naive.tzinfo is None else naive.isoformat()


def declaration_from_form(
    form: dict[str, str], categories: list[str]
) -> tuple[dict[str, Any], list[FieldError]]:
    """The claim declaration (the keys of examples/claims/*.yaml) of the guided form."""
    errors: list[FieldError] = []
    incident: dict[str, Any] = {"type": form.get("incident.type", "")}
    for key in ("started_at", "discovered_at", "complaint_filed_at"):
        if (value := _moment(form.get(f"incident.{key}", "").strip())) is not None:
            incident[key] = value
    if form.get("incident.attack") in ("oui", "non"):
        incident["attack"] = form["incident.attack"] == "oui"
    if description := form.get("incident.description", "").strip():
        incident["description"] = description
    data: dict[str, Any] = {"incident": incident}
    patients = form.get("data_breach.patients_affected", "").strip()
    if patients or categories:
        breach: dict[str, Any] = {"categories": categories}
        if patients:
            number = french_number(patients)
            if number is None:
                errors.append(FieldError("data_breach.patients_affected", "number", "not a number"))
            else:
                breach["patients_affected"] = (
                    int(number) if number == number.to_integral_value() else str(number)
                )
        data["data_breach"] = breach
    if cnil := _moment(form.get("notifications.cnil_at", "").strip()):
        data["notifications"] = {"cnil_at": cnil}
    costs = []
    for i in range(COST_ROWS):
        category = form.get(f"costs[{i}].category", "").strip()
        amount = form.get(f"costs[{i}].amount", "").strip()
        if not category and not amount:
            continue
        item: dict[str, Any] = {"category": category}
        number = french_number(amount) if amount else None
        if amount and number is None:
            errors.append(FieldError(f"costs[{i}].amount", "number", "not a number"))
        elif number is not None:
            item["amount"] = str(number)
        if supplier := form.get(f"costs[{i}].supplier", "").strip():
            item["supplier"] = supplier
        costs.append(item)
    data["costs"] = costs
    return data, errors


def _incident_page(
    request: Request,
    number: str,
    values: dict[str, str],
    categories: list[str],
    errors: dict[str, list[str]],
    status: int,
) -> Response:
    return render(
        request,
        "incident.html",
        {
            "number": number,
            "values": values,
            "categories": categories,
            "errors": errors,
            "summary": messages_fr.summary(errors),
            "label": messages_fr.label,
            "kinds": list(INCIDENT_LABELS_FR.items()),
            "cost_categories": [
                (c.value, CATEGORY_LABELS_FR[c])
                for c in CostCategory
                if c is not CostCategory.LOST_GROSS_MARGIN
            ],
            "data_categories": DATA_CATEGORIES,
            "cost_rows": range(COST_ROWS),
            "key": values.get("key") or secrets.token_urlsafe(16),
        },
        status_code=status,
    )


@router.get("/contrats/{number}/incident", response_class=HTMLResponse)
def incident_form(request: Request, number: str) -> Response:
    from egide.services.policies import get_policy

    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        get_policy(uow_of(request), principal, number[:40])
    except NotFound:
        return not_found_page(request)
    return _incident_page(request, number[:40], {}, [], {}, 200)


@router.post("/contrats/{number}/incident", response_class=HTMLResponse)
async def declare(request: Request, number: str) -> Response:
    """The first notice of loss: validated by the same rules as the CLI and the API; the form's
    one-time key declares once on a double submission."""
    from egide.services.claims import declare_claim

    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    number = number[:40]
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "data_breach.categories"}
    categories = [v for v in form.getlist("data_breach.categories") if isinstance(v, str)]
    data, form_errors = declaration_from_form(values, categories)
    if form_errors:
        return _incident_page(
            request, number, values, categories, messages_fr.by_field(form_errors), 422
        )
    try:
        claim = contract(
            declare_claim(
                uow_of(request),
                principal,
                number,
                data,
                idempotency_key=values.get("key", "")[:100] or None,
            )
        )
    except NotFound:
        return not_found_page(request)
    except InvalidInput as e:
        return _incident_page(
            request, number, values, categories, messages_fr.by_field(e.errors), 422
        )
    except (NotAllowed, Conflict) as e:
        rule = "not_allowed" if isinstance(e, NotAllowed) else "claim_state"
        errors = {"incident.type": [messages_fr.RULES[rule]]}
        return _incident_page(
            request, number, values, categories, errors, 403 if rule == "not_allowed" else 409
        )
    return RedirectResponse(f"/sinistres/{claim['claim_id']}", status_code=303)
