"""Recording product versions, so that what was priced with a version can be re-priced with it."""

from __future__ import annotations

from egide.clock import now
from egide.db.tables import ProductVersionRow
from egide.domain.errors import Conflict, NotFound
from egide.domain.product import Product, parse_product
from egide.services.ports import UnitOfWork


def record_product_version(uow: UnitOfWork, product: Product) -> None:
    """Store the product's text once per version; a changed text under the same version is refused.

    Safe under concurrency: two transactions recording the same new version at once both
    succeed (the insert runs in a savepoint; the loser of the race reads the winner's row).
    """
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


def stored_product(uow: UnitOfWork, ref: str) -> Product:
    row = uow.products.get(ref)
    if row is None:
        raise NotFound(f"product version {ref} is not recorded")
    return parse_product(row.product_text, row.model_text, f"stored:{ref}", f"stored:{ref}:model")
