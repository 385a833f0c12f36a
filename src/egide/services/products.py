"""Recording product versions, so that what was priced with a version can be re-priced with it."""

from __future__ import annotations

from functools import lru_cache

from egide.clock import now
from egide.domain.errors import Conflict, NotFound
from egide.domain.product import Product, parse_product
from egide.services.ports import UnitOfWork


def record_product_version(uow: UnitOfWork, product: Product) -> None:
    """Store the product's text once per version; a changed text under the same version is refused.

    Safe under concurrency: two transactions recording the same new version at once both
    succeed (the insert runs in a savepoint; the loser of the race reads the winner's row).
    """
    from egide.db.tables import ProductVersionRow  # the ORM: only when something is stored

    row = uow.products.add_once(
        ProductVersionRow(
            ref=product.ref,
            sha256=product.sha256,
            product_text=product.source_text,
            model_text=product.model_text,
            created_at=now(),
        )
    )
    if row.sha256 != product.sha256:
        raise Conflict(
            f"product {product.ref} differs from the version already recorded under that name: "
            "give the changed product a new version"
        )


@lru_cache(maxsize=32)
def _parse_stored(ref: str, sha256: str, product_text: str, model_text: str) -> Product:
    return parse_product(product_text, model_text, f"stored:{ref}", f"stored:{ref}:model")


def stored_product(uow: UnitOfWork, ref: str) -> Product:
    """The exact product a quote or transaction was priced with, as recorded (parsed once per
    process and version: the text under a version never changes, its sha256 is in the key)."""
    row = uow.products.get(ref)
    if row is None:
        raise NotFound(f"product version {ref} is not recorded")
    return _parse_stored(row.ref, row.sha256, row.product_text, row.model_text)


def describe_product(product: Product) -> dict[str, object]:
    """The product as brokers' systems read it (`GET /api/v1/product`): its version, coverages,
    aggregate limit and deductible options per kind of establishment, taxes and exclusions.
    Amounts are decimal strings in euros, as in every JSON output."""

    def amount(value: object) -> str:
        return str(value)

    kinds = sorted({k for o in product.aggregate_options for k in o.kinds})
    return {
        "product": product.ref,
        "code": product.code,
        "version": product.version,
        "name": product.name,
        "currency": product.currency,
        "quote_validity_days": product.quote_validity_days,
        "trigger": product.trigger,
        "tax": {"name": product.tax_name, "rate": str(product.tax_rate)},
        "coverages": [
            {
                "code": c.code,
                "label": c.label,
                "description": c.description,
                "default_limit_share": str(c.default_limit_share),
                "limit_options": [amount(o) for o in c.limit_options],
                "sub_deductible": amount(c.sub_deductible),
                "waiting_period_hours": (
                    int(c.waiting_period_hours) if c.waiting_period_hours is not None else None
                ),
                "indemnity_period_days": (
                    int(c.indemnity_period_days) if c.indemnity_period_days is not None else None
                ),
            }
            for c in product.coverages.values()
        ],
        "options": {
            kind: {
                "aggregate_limits": [amount(a) for a in product.aggregate_amounts(kind)],
                "deductibles": [amount(d) for d in product.deductible_amounts(kind)],
                "minimum_premium": amount(product.minimum_premium.get(kind, "0")),
            }
            for kind in kinds
        },
        "exclusions": [{"code": e.code, "label": e.label} for e in product.exclusions],
    }
