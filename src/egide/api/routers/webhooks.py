"""Webhooks: register a URL for event types (the signing secret shown once), list, delete.

Deliveries follow Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
at least once with a stable ``webhook-id``: receivers dedupe by it (`egide.services.webhooks`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from egide.api import problems
from egide.api.deps import PrincipalDep, UowDep
from egide.api.idempotency import IdempotencyKeyDep
from egide.api.schemas.events import WebhookCreated, WebhookIn, WebhookPage
from egide.services import webhooks

router = APIRouter(tags=["webhooks"])
EndpointId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The webhook's id.")]


@router.post(
    "/webhooks",
    summary="Register a URL for event types; the signing secret is in the answer, once",
    status_code=201,
    response_model=WebhookCreated,
    responses=problems.responses(400, 409),  # 400: a malformed Idempotency-Key
)
def create_webhook(
    who: PrincipalDep, uow: UowDep, body: WebhookIn, key: IdempotencyKeyDep
) -> JSONResponse:
    """For an admin, a broker or an establishment manager, for their own organisation, which
    receives the events of every object it may read. The answer holds the secret, which Égide
    keeps nowhere: so it is not replayed, and an `Idempotency-Key` is accepted but not recorded
    (a retry registers a second webhook; delete the one whose secret was lost)."""
    del key
    made = webhooks.create_webhook(uow, who, body.url, list(body.events))
    return JSONResponse(made, status_code=201, headers={"Cache-Control": "no-store"})


@router.get(
    "/webhooks",
    summary="Your organisation's webhooks (never their secrets)",
    response_model=WebhookPage,
    responses=problems.responses(),
)
def list_webhooks(who: PrincipalDep, uow: UowDep) -> dict[str, Any]:
    return {"items": webhooks.list_webhooks(uow, who), "next_cursor": None}


@router.delete(
    "/webhooks/{endpoint_id}",
    summary="Delete a webhook: it receives nothing more",
    status_code=204,
    responses=problems.responses(404),
)
def delete_webhook(who: PrincipalDep, uow: UowDep, endpoint_id: EndpointId) -> Response:
    webhooks.delete_webhook(uow, who, endpoint_id)
    return Response(status_code=204)
