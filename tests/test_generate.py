"""The synthetic French book: valid, deterministic, and shaped as its assumptions say."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from egide.actuarial.book import BookEntry
from egide.actuarial.generate import (
    CONTROL_PREVALENCE,
    EMAIL_SHARES,
    HDS_HOST_SHARES,
    KIND_MIX,
    ON_PREMISES,
    SIZES,
    SOFTWARE_SHARES,
    generate_book,
    kind_shares,
)
from egide.domain.application import BEDDED, FINESS_REQUIRED, parse_application
from egide.domain.identifiers import finess_problem, siret_problem
from egide.domain.product import KINDS, Product

N = 20_000


@pytest.fixture(scope="module")
def book(product: Product) -> list[BookEntry]:
    return generate_book(N, seed=2026, product=product)


def test_same_seed_same_book_other_seed_other_book(product: Product) -> None:
    assert generate_book(300, 9, product) == generate_book(300, 9, product)
    assert generate_book(300, 9, product) != generate_book(300, 10, product)


def test_a_sample_passes_parse_application_unchanged(
    product: Product, book: list[BookEntry]
) -> None:
    for entry in book[::40]:
        assert parse_application(entry.application.to_data(), product) == entry.application


def test_identifiers_are_valid_and_finess_present_where_required(book: list[BookEntry]) -> None:
    for entry in book:
        e = entry.application.establishment
        assert siret_problem(e.siret) is None
        if e.type in FINESS_REQUIRED:
            assert e.finess is not None and finess_problem(e.finess) is None
        assert (e.beds >= 1) == (e.type in BEDDED)


def test_covers_are_options_offered_to_the_kind(product: Product, book: list[BookEntry]) -> None:
    for entry in book:
        app = entry.application
        kind = app.establishment.type
        assert app.cover.limit in product.aggregate_amounts(kind)
        assert app.cover.deductible in product.deductible_amounts(kind)
        for code, amount in app.cover.sublimits.items():
            assert amount in product.coverages[code].limit_options
            assert amount <= app.cover.limit


def test_kind_mix_follows_population_times_take_up(book: list[BookEntry]) -> None:
    counts = Counter(e.application.establishment.type for e in book)
    for kind, share in kind_shares().items():
        sd = math.sqrt(share * (1 - share) / N)
        assert abs(counts[kind] / N - share) < 5 * sd, kind
    assert set(KIND_MIX) == set(KINDS)


def test_revenue_median_per_kind_matches_its_assumption(book: list[BookEntry]) -> None:
    for kind in KINDS:
        revenues = np.array(
            [
                float(e.application.establishment.annual_revenue)
                for e in book
                if e.application.establishment.type == kind
            ]
        )
        if len(revenues) < 200:
            continue
        median = float(np.median(revenues))
        # the median of a lognormal sample: within a few standard errors on the log scale
        se = SIZES[kind].revenue_sigma * math.sqrt(math.pi / 2 / len(revenues))
        assert abs(math.log(median / SIZES[kind].revenue_median)) < 5 * se, kind


def test_controls_are_more_common_in_larger_establishments(book: list[BookEntry]) -> None:
    pharmacies = [e.application for e in book if e.application.establishment.type == "pharmacie"]
    revenues = np.array([float(a.establishment.annual_revenue) for a in pharmacies])
    big = revenues > np.median(revenues)
    for control in ("edr", "mfa_remote_access", "offline_backups"):
        has = np.array([getattr(a.security, control) for a in pharmacies])
        assert has[big].mean() > has[~big].mean(), control


def test_controls_are_positively_correlated(book: list[BookEntry]) -> None:
    edr = np.array([e.application.security.edr for e in book], dtype=float)
    mfa = np.array([e.application.security.mfa_email for e in book], dtype=float)
    assert np.corrcoef(edr, mfa)[0, 1] > 0.05
    assert set(CONTROL_PREVALENCE) >= {"edr", "mfa_email"}


def test_suppliers_come_from_the_market_share_tables(book: list[BookEntry]) -> None:
    hosts = {h for h, _ in HDS_HOST_SHARES} | {ON_PREMISES}
    mails = {m for m, _ in EMAIL_SHARES}
    for entry in book:
        kind = entry.application.establishment.type
        assert entry.software_vendor in {s for s, _ in SOFTWARE_SHARES[kind]}
        assert entry.cloud_host in hosts
        assert (entry.cloud_host == ON_PREMISES) == (not entry.application.security.hds_hosting)
        assert entry.email_vendor in mails
    top = Counter(e.email_vendor for e in book).most_common(1)[0][0]
    assert top == max(EMAIL_SHARES, key=lambda x: x[1])[0]


def test_policy_numbers_are_unique(book: list[BookEntry]) -> None:
    assert len({e.policy_number for e in book}) == len(book)


def test_negative_size_is_refused(product: Product) -> None:
    with pytest.raises(ValueError):
        generate_book(-1, 0, product)
    assert generate_book(0, 0, product) == []
