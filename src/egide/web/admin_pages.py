"""The administrator's pages (`/admin`): organisations, users (roles, disable, a new password)
and API clients (the secret shown once, revocation). Every action is the accounts use case of
the CLI, with its rules; a non-administrator gets a French 403 page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from egide.domain.access import ROLES_OF_KIND, OrgKind, Role, Scope
from egide.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from egide.domain.webhooks import EventType
from egide.services import accounts
from egide.services.results import contract
from egide.web import messages_fr
from egide.web.account import ROLE_LABELS, current_principal
from egide.web.pages import csrf_refused, render, uow_of

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    OrgKind.INSURER: "Assureur",
    OrgKind.BROKERAGE: "Cabinet de courtage",
    OrgKind.ESTABLISHMENT: "Établissement",
}


def _forbidden(request: Request) -> Response:
    return render(
        request,
        "erreur.html",
        {"title": "Accès refusé", "message": messages_fr.RULES["not_allowed"]},
        status_code=403,
    )


def _page(
    request: Request,
    *,
    errors: dict[str, list[str]] | None = None,
    done: str | None = None,
    secret: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    uow = uow_of(request)
    try:
        orgs = contract(accounts.list_organisations(uow, principal, limit=100))["items"]
        users = contract(accounts.list_users(uow, principal, limit=100))["items"]
        clients = contract(accounts.list_clients(uow, principal, limit=100))["items"]
        from egide.services import webhooks

        hooks = webhooks.list_webhooks(uow, principal)
    except NotAllowed:
        return _forbidden(request)
    names = {o["id"]: o["name"] for o in orgs}
    return render(
        request,
        "admin.html",
        {
            "orgs": orgs,
            "users": users,
            "clients": clients,
            "hooks": hooks,
            "event_types": [e.value for e in EventType],
            "names": names,
            "kind_labels": {k.value: v for k, v in KIND_LABELS.items()},
            "role_labels": {r.value: ROLE_LABELS[r] for r in Role},
            "roles_of_kind": {
                k.value: sorted(r.value for r in v) for k, v in ROLES_OF_KIND.items()
            },
            "scopes": [s.value for s in Scope],
            "errors": errors or {},
            "done": done,
            "secret": secret,
            "label": messages_fr.label,
        },
        status_code=status,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request) -> Response:
    return _page(request)


async def _act(request: Request, action: str) -> Response:
    form = await request.form()
    if refused := csrf_refused(request, form):
        return refused
    principal = current_principal(request)
    if principal is None:
        return RedirectResponse("/connexion", status_code=303)
    uow = uow_of(request)

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def texts(name: str) -> list[str]:
        return [v for v in form.getlist(name) if isinstance(v, str)]

    def number(name: str) -> int | None:
        value = text(name)
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    try:
        if action == "organisation":
            kind = text("kind")
            accounts.create_organisation(
                uow,
                principal,
                kind,
                text("name"),
                siren=text("siren") or None,
                siret=text("siret") or None,
                orias=text("orias") or None,
                broker_id=number("broker_id"),
            )
            return _page(request, done="Organisation créée.")
        if action == "user":
            org_id = number("organisation_id")
            if org_id is None:
                return _page(
                    request, errors={"organisation_id": [messages_fr.RULES["required"]]}, status=422
                )
            accounts.create_user(
                uow,
                principal,
                org_id,
                text("email"),
                str(form.get("password") or ""),
                texts("roles"),
            )
            return _page(request, done="Utilisateur créé.")
        if action in ("disable", "enable"):
            accounts.set_user_disabled(uow, principal, text("email"), action == "disable")
            return _page(
                request,
                done="Compte désactivé : ses sessions sont fermées."
                if action == "disable"
                else "Compte réactivé.",
            )
        if action == "password":
            accounts.reset_password(uow, principal, text("email"), str(form.get("password") or ""))
            return _page(
                request, done="Mot de passe changé : les sessions de l'utilisateur sont fermées."
            )
        if action == "client":
            org_id = number("organisation_id")
            if org_id is None:
                return _page(
                    request, errors={"organisation_id": [messages_fr.RULES["required"]]}, status=422
                )
            client, secret = accounts.create_client(
                uow, principal, org_id, texts("roles"), texts("scopes")
            )
            shown = {"client_id": client.client_id, "client_secret": secret}
            return _page(request, done="Client d'API créé.", secret=shown)
        if action == "webhook":
            from egide.services import webhooks

            made = webhooks.create_webhook(uow, principal, text("url"), texts("events"))
            shown = {"webhook_id": made["id"], "secret": made["secret"]}
            return _page(request, done="Webhook créé.", secret=shown)
        if action == "webhook_delete":
            from egide.services import webhooks

            hook_id = number("webhook_id")
            if hook_id is None:
                raise NotFound("no such webhook")
            webhooks.delete_webhook(uow, principal, hook_id)
            return _page(request, done="Webhook supprimé : il ne reçoit plus rien.")
        if action == "revoke":
            accounts.revoke_client(uow, principal, text("client_id"))
            return _page(request, done="Client d'API révoqué : ses jetons ne valent plus rien.")
    except NotAllowed:
        return _forbidden(request)
    except InvalidInput as e:
        return _page(request, errors=messages_fr.by_field(e.errors), status=422)
    except (NotFound, Conflict) as e:
        return _page(request, errors={"general": [messages_fr.conflict_message(e)]}, status=409)
    raise AssertionError(action)  # the routes below name every action


@router.post("/admin/organisations", response_class=HTMLResponse)
async def create_org(request: Request) -> Response:
    return await _act(request, "organisation")


@router.post("/admin/utilisateurs", response_class=HTMLResponse)
async def create_user(request: Request) -> Response:
    return await _act(request, "user")


@router.post("/admin/utilisateurs/desactiver", response_class=HTMLResponse)
async def disable_user(request: Request) -> Response:
    return await _act(request, "disable")


@router.post("/admin/utilisateurs/activer", response_class=HTMLResponse)
async def enable_user(request: Request) -> Response:
    return await _act(request, "enable")


@router.post("/admin/utilisateurs/mot-de-passe", response_class=HTMLResponse)
async def new_password(request: Request) -> Response:
    return await _act(request, "password")


@router.post("/admin/clients", response_class=HTMLResponse)
async def create_client(request: Request) -> Response:
    return await _act(request, "client")


@router.post("/admin/webhooks", response_class=HTMLResponse)
async def create_webhook(request: Request) -> Response:
    return await _act(request, "webhook")


@router.post("/admin/webhooks/supprimer", response_class=HTMLResponse)
async def delete_webhook(request: Request) -> Response:
    return await _act(request, "webhook_delete")


@router.post("/admin/clients/revoquer", response_class=HTMLResponse)
async def revoke_client(request: Request) -> Response:
    return await _act(request, "revoke")
