"""The actuary's pages (`/portefeuille`): start a run of the portfolio model on the book in
force, follow its progress, read its results (AAL by coverage and kind, OEP / AEP, VaR and TVaR
99.5 %) and download the EP curves (PNG) and the ORD tables (zip). The run is a job
(`egide.services.portfolio_jobs`) executed by the application's runner on Dask; the page
refreshes itself while it runs (a meta refresh: no script needed)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.clock import now as clock_now
from egide.domain.access import Role
from egide.domain.application import KIND_LABELS_FR
from egide.domain.errors import InvalidInput, NotAllowed, NotFound
from egide.domain.policy import paris_date
from egide.services import portfolio_jobs
from egide.web import messages_fr
from egide.web.account import current_principal
from egide.web.pages import csrf_refused, not_found_page, render, uow_of, web_product

router = APIRouter(include_in_schema=False)

STATUS_FR = {"queued": "En attente", "running": "En cours", "done": "Terminé", "failed": "Échoué"}


def _forbidden(request: Request) -> Response:
    message = messages_fr.RULES["not_allowed"]
    return render(request, "erreur.html", {"title": "Accès refusé", "message": message}, 403)


def _form(
    request: Request, values: dict[str, str], errors: dict[str, list[str]], status: int
) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    if not principal.roles & {Role.ACTUARY}:
        return _forbidden(request)
    today = paris_date(clock_now()).isoformat()
    shown = {"years": "10000", "seed": "1", "as_of": today, **values}
    return render(request, "portefeuille.html", {"values": shown, "errors": errors}, status)


@router.get("/portefeuille", response_class=HTMLResponse)
def portfolio(request: Request) -> Response:
    return _form(request, {}, {}, 200)


@router.post("/portefeuille", response_class=HTMLResponse)
async def start(request: Request) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    values = {k: str(form.get(k) or "").strip()[:40] for k in ("years", "seed", "as_of")}
    errors: dict[str, list[str]] = {}
    numbers: dict[str, Any] = {}
    for key in ("years", "seed"):
        text = values[key].replace(" ", "").replace("\u202f", "")
        if not (text.isascii() and text.isdigit()):
            errors[key] = [messages_fr.RULES["integer"]]
        else:
            numbers[key] = int(text)
    try:
        date.fromisoformat(values["as_of"])
    except ValueError:
        errors["as_of"] = [messages_fr.RULES["date"]]
    if errors:
        return _form(request, values, errors, 422)
    try:
        job = portfolio_jobs.start_portfolio_run(
            uow_of(request), principal, numbers["years"], numbers["seed"], values["as_of"]
        )
    except NotAllowed:
        return _forbidden(request)
    except InvalidInput as e:
        return _form(request, values, messages_fr.by_field(e.errors), 422)
    return RedirectResponse(f"/portefeuille/{job['id']}", status_code=303)


def _rows(found: dict[str, float], labels: dict[str, str]) -> list[tuple[str, float]]:
    return [(labels.get(k, k), v) for k, v in found.items()]


@router.get("/portefeuille/{job_id}", response_class=HTMLResponse)
def run_page(request: Request, job_id: str) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        run = portfolio_jobs.get_run(uow_of(request), principal, job_id[:40])
    except NotFound:
        return not_found_page(request)
    except NotAllowed:
        return _forbidden(request)
    product = web_product(request)
    result = run.get("result")
    context: dict[str, Any] = {
        "run": run,
        "status_fr": STATUS_FR.get(run["status"], run["status"]),
        "percent": round(float(run["progress"]) * 100),
        "result": result,
    }
    if result:
        coverages = {code: c.label for code, c in product.coverages.items()}
        context["by_coverage"] = _rows(result["aal_by_coverage"], coverages)
        context["by_kind"] = _rows(result["aal_by_kind"], KIND_LABELS_FR)
        context["periods"] = list(result["oep"].keys())
    return render(request, "portefeuille_run.html", context)


@router.get("/portefeuille/{job_id}/ep.png")
def ep_png(request: Request, job_id: str) -> Response:
    return _download(request, job_id, portfolio_jobs.run_ep_png, "image/png", "courbes-ep.png")


@router.get("/portefeuille/{job_id}/ord.zip")
def ord_zip(request: Request, job_id: str) -> Response:
    return _download(request, job_id, portfolio_jobs.run_ord_zip, "application/zip", "ord.zip")


def _download(request: Request, job_id: str, make: Any, media: str, name: str) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    try:
        content = make(uow_of(request), principal, job_id[:40])
    except NotFound:
        return not_found_page(request)
    except NotAllowed:
        return _forbidden(request)
    disposition = f'attachment; filename="{name}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})
