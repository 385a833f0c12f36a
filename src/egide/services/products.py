"""Recording product versions, so that what was priced with a version can be re-priced with it."""

from __future__ import annotations

from egide.clock import now
from egide.db.tables import ProductVersionRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict, NotFound
from egide.domain.product import Product, parse_product


def record_product_version(uow: SqlUnitOfWork, product: Product) -> None:
    """Store the product's text once per version; a changed text under the same version is refused."""
    row = uow.session.get(ProductVersionRow, product.ref)
    if row is None:
        uow.session.add(
            ProductVersionRow(
                ref=product.ref,
                sha256=product.sha256,
                product_text=product.source_text,
                model_text=product.model_text,
                created_at=now(),
            )
        )
        uow.session.flush()
    elif row.sha256 != product.sha256:
        raise Conflict(
            f"product {product.ref} differs from the version already recorded under that name: "
            "give the changed product a new version"
        )


def stored_product(uow: SqlUnitOfWork, ref: str) -> Product:
    row = uow.session.get(ProductVersionRow, ref)
    if row is None:
        raise NotFound(f"product version {ref} is not recorded")
    return parse_product(row.product_text, row.model_text, f"stored:{ref}", f"stored:{ref}:model")
