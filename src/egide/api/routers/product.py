"""``GET /api/v1/product``: the product the API prices with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from egide.api import problems
from egide.api.deps import PrincipalDep, ProductDep
from egide.api.schemas.common import Out
from egide.services.products import describe_product
from egide.services.results import contract

router = APIRouter(tags=["product"])


class ProductOut(Out):
    product: str
    code: str
    version: str
    name: str
    currency: str
    coverages: list[dict[str, Any]]
    options: dict[str, dict[str, Any]]


@router.get(
    "/product",
    summary="The current product",
    response_model=ProductOut,
    response_model_exclude_unset=True,
    responses=problems.responses(),
)
def get_product(who: PrincipalDep, product: ProductDep) -> dict[str, Any]:
    """Coverages, aggregate limit and deductible options per kind of establishment, taxes,
    exclusions and the version quotes are priced with (any authenticated caller)."""
    return contract(describe_product(product))
