"""Portfolio runs as jobs: start one (202), follow it, and fetch its EP curves and ORD tables.

Runs execute on Dask (`egide.services.portfolio_jobs`): an in-process local cluster by default,
the scheduler of ``EGIDE_DASK_SCHEDULER`` otherwise; a run interrupted by a restart is failed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from egide.api import problems
from egide.api.deps import PrincipalDep, UowDep, UowFactoryDep
from egide.api.idempotency import IdempotencyKeyDep, Outcome, idempotent
from egide.api.schemas.events import PortfolioRun, PortfolioRunIn, PortfolioRunStarted
from egide.services import portfolio_jobs

router = APIRouter(tags=["portfolio"])
RunId = Annotated[str, Path(max_length=40, description="The run's id (JOB-...).")]


@router.post(
    "/portfolio/runs",
    summary="Start a simulation of the policies in force (queued; follow it with GET)",
    status_code=202,
    response_model=PortfolioRunStarted,
    responses=problems.responses(400, 409),  # 400: a malformed Idempotency-Key
)
def start_run(
    request: Request,
    who: PrincipalDep,
    uows: UowFactoryDep,
    body: PortfolioRunIn,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """An actuary's: the policies in force on `as_of` (default today) that the principal may
    read, `years` simulated years with `seed`."""

    def start() -> Outcome:
        started = portfolio_jobs.start_portfolio_run(uows(), who, body.years, body.seed, body.as_of)
        location = f"{request.url.path}/{started['id']}"
        return Outcome(202, started, {"Location": location})

    return idempotent(request, who, key, body.model_dump(mode="json"), start)


@router.get(
    "/portfolio/runs/{run_id}",
    summary="A run: status, progress and, once done, its result",
    response_model=PortfolioRun,
    responses=problems.responses(404),
)
def get_run(who: PrincipalDep, uow: UowDep, run_id: RunId) -> dict[str, Any]:
    return portfolio_jobs.get_run(uow, who, run_id)


@router.get(
    "/portfolio/runs/{run_id}/ep.png",
    summary="The run's OEP and AEP curves (PNG)",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The EP curves"},
        **problems.responses(404, 409),
    },
)
def get_ep_png(who: PrincipalDep, uow: UowDep, run_id: RunId) -> Response:
    return Response(portfolio_jobs.run_ep_png(uow, who, run_id), media_type="image/png")


@router.get(
    "/portfolio/runs/{run_id}/ord.zip",
    summary="The run's ORD tables (EPT, PALT, YLT...) as a zip",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The ORD tables"},
        **problems.responses(404, 409),
    },
)
def get_ord_zip(who: PrincipalDep, uow: UowDep, run_id: RunId) -> Response:
    content = portfolio_jobs.run_ord_zip(uow, who, run_id)
    headers = {"Content-Disposition": f'attachment; filename="{run_id}-ord.zip"'}
    return Response(content, media_type="application/zip", headers=headers)
