"""The portfolio engine: rating's expected loss recovered, analytic limiting cases, reproducibility,
the aggregate respected, systemic events striking whom they should.

Relations and analytic values within standard errors, never magic numbers; books and years small.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egide.actuarial.book import BookEntry
from egide.actuarial.engine import (
    PortfolioArrays,
    SimulationError,
    portfolio_arrays,
    simulate,
    simulate_book,
)
from egide.actuarial.systemic import (
    CloudOutage,
    PhishingWave,
    SystemicModel,
    VendorRansomware,
    load_systemic_model,
    parse_systemic_model,
)
from egide.actuarial.terms_vec import TermsArrays, apply_terms_vec
from egide.domain.application import Application, Cover, Establishment, History, Security
from egide.domain.errors import ProductError
from egide.domain.product import COVERAGES, INCIDENTS, KINDS, Product, load_product
from egide.domain.rating import price

SYSTEMIC_FILE = Path(__file__).resolve().parents[1] / "src/egide/products/systemic-events-v1.toml"
PRODUCT_V1 = Path(__file__).resolve().parents[1] / "src/egide/products/cyber-sante-v1.toml"
PRODUCT_V2 = Path(__file__).resolve().parents[1] / "src/egide/products/cyber-sante-v2.toml"


@pytest.fixture(scope="module")
def product() -> Product:
    """Product 2026.1 (risk model v1), whatever the default: these tests are about v1's
    per-coverage model; the `test_v2_*` ones use `product_v2`."""
    return load_product(PRODUCT_V1)


@pytest.fixture(scope="module")
def product_v2() -> Product:
    """Product 2026.2 (risk model v2: the incident model)."""
    return load_product(PRODUCT_V2)


VENDORS = ("vendor_a", "vendor_b", "vendor_c")
HOSTS = ("host_a", "host_b", "on_premises")


def small_book(n: int, seed: int, product: Product) -> list[BookEntry]:
    """A random book of `n` plausible establishments (built directly, for the engine's tests)."""
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        ref = product.risk_model.kinds[kind].reference_revenue
        revenue = Decimal(int(float(ref) * math.exp(rng.normal(0, 0.8))))
        flags = rng.random(8) < 0.6
        app = Application(
            establishment=Establishment(
                name=f"E{i}",
                type=kind,
                siret="00000000000000",
                annual_revenue=max(revenue, Decimal(1000)),
                employees=10,
                patient_records=int(rng.integers(100, 200_000)),
                beds=10,
            ),
            security=Security(
                mfa_remote_access=bool(flags[0]),
                mfa_email=bool(flags[1]),
                edr=bool(flags[2]),
                offline_backups=bool(flags[3]),
                backup_restore_tested=bool(flags[4]),
                hds_hosting=bool(flags[5]),
                critical_patch_days=int(rng.integers(1, 120)),
                medical_devices_segmented=bool(flags[6]) if rng.random() < 0.7 else None,
                phishing_training=bool(flags[7]),
                incident_response_plan=bool(rng.random() < 0.5),
                security_budget_share=Decimal(str(round(float(rng.random()) * 0.15, 3))),
            ),
            history=History(incidents_last_5_years=int(rng.integers(0, 3))),
            cover=Cover(
                limit=product.aggregate_amounts(kind)[int(rng.integers(2))],
                deductible=product.deductible_amounts(kind)[0],
            ),
        )
        entries.append(
            BookEntry(
                policy_number=f"P{i:05d}",
                application=app,
                software_vendor=VENDORS[int(rng.integers(len(VENDORS)))],
                cloud_host=HOSTS[int(rng.integers(len(HOSTS)))],
                email_vendor="mail_a",
            )
        )
    return entries


def one_coverage_arrays(
    n: int,
    lam: float,
    mu: float,
    sigma: float,
    *,
    coverage: str = "data_restoration",
    sub_deductible: float = 0.0,
    limit: float = math.inf,
    deductible: float = 0.0,
    aggregate: float = math.inf,
) -> PortfolioArrays:
    k = COVERAGES.index(coverage)
    freq = np.zeros((n, 6))
    freq[:, k] = lam
    sub_ded = np.zeros((n, 6))
    sub_ded[:, k] = sub_deductible
    sub_lim = np.zeros((n, 6))
    sub_lim[:, k] = limit
    return PortfolioArrays(
        frequency=freq,
        mu=np.full((n, 6), mu),
        sigma=np.full((n, 6), sigma),
        terms=TermsArrays(
            sub_deductible=sub_ded,
            sub_limit=sub_lim,
            deductible=np.full(n, deductible),
            aggregate=np.full(n, aggregate),
            hourly_loss=np.full(n, 100.0),
            waiting_hours=np.zeros(n),
            indemnity_hours=np.full(n, 1e9),
            trigger=np.zeros(n, dtype=np.bool_),
        ),
        kind=np.zeros(n, dtype=np.int64),
    )


def within(value: float, expected: float, stderr: float, k: float = 4.0) -> None:
    assert abs(value - expected) <= k * stderr, (
        value,
        expected,
        stderr,
        (value - expected) / stderr,
    )


# --------------------------------------------------------------------------- one model with rating


def test_independent_aal_before_the_aggregate_recovers_the_rating_expected_loss(
    product: Product,
) -> None:
    book = small_book(50, 11, product)
    result = simulate_book(book, product, 20_000, 5, systemic=SystemicModel.none())
    rated = sum(float(price(e.application, product).expected_loss) for e in book)
    assert result.expected_loss == pytest.approx(rated, rel=1e-6, abs=1.0)  # cents of rounding
    within(
        result.independent_aal_before_aggregate, result.expected_loss, result.independent_aal_stderr
    )
    # the aggregate only takes away; with no systemic event the total is the independent part
    assert result.independent_aal <= result.independent_aal_before_aggregate
    assert result.systemic_aal == 0.0
    assert result.aal == pytest.approx(result.independent_aal)


def test_policy_arrays_carry_the_risk_profile_of_each_application(product: Product) -> None:
    from egide.domain.rating import risk_profile

    book = small_book(20, 3, product)
    arrays = portfolio_arrays(book, product, vectorised=False)
    for i, entry in enumerate(book):
        profile = risk_profile(entry.application, product.risk_model)
        for k, code in enumerate(COVERAGES):
            assert arrays.frequency[i, k] == profile[code].frequency
            assert arrays.mu[i, k] == profile[code].mu
            assert arrays.sigma[i, k] == profile[code].sigma
        assert arrays.terms.hourly_loss[i] == profile["business_interruption"].hourly_loss


@pytest.mark.parametrize(("seed", "bi_mode"), [(1, "time_deductible"), (2, "trigger"), (3, None)])
def test_the_vectorised_parameters_equal_the_rating_engines_policy_by_policy(
    product: Product, seed: int, bi_mode: str | None
) -> None:
    if bi_mode is not None:
        bi = replace(product.coverages["business_interruption"], waiting_period_mode=bi_mode)
        product = replace(product, coverages={**product.coverages, "business_interruption": bi})
    book = small_book(300, seed, product)
    # some chosen sub-limits, so that both branches of policy_terms are exercised
    rng = np.random.default_rng(seed)
    for i in range(0, len(book), 3):
        app = book[i].application
        code = COVERAGES[int(rng.integers(6))]
        options = [o for o in product.coverages[code].limit_options if o <= app.cover.limit]
        if options:
            sub = {code: options[int(rng.integers(len(options)))]}
            book[i] = replace(book[i], application=app.with_cover(sublimits=sub))
    slow = portfolio_arrays(book, product, vectorised=False)
    fast = portfolio_arrays(book, product)
    np.testing.assert_allclose(fast.frequency, slow.frequency, rtol=1e-12)
    np.testing.assert_allclose(fast.mu, slow.mu, rtol=1e-12)
    np.testing.assert_array_equal(fast.sigma, slow.sigma)
    for name in ("sub_deductible", "sub_limit", "deductible", "aggregate", "waiting_hours"):
        np.testing.assert_array_equal(getattr(fast.terms, name), getattr(slow.terms, name))
    np.testing.assert_array_equal(fast.terms.indemnity_hours, slow.terms.indemnity_hours)
    np.testing.assert_array_equal(fast.terms.trigger, slow.terms.trigger)
    np.testing.assert_allclose(fast.terms.hourly_loss, slow.terms.hourly_loss, rtol=1e-12)
    assert fast.expected_loss == pytest.approx(slow.expected_loss, rel=1e-9)
    np.testing.assert_array_equal(fast.kind, slow.kind)


def test_v2_independent_aal_before_the_aggregate_recovers_the_rating_expected_loss(
    product_v2: Product,
) -> None:
    """Risk model v2: the incidents the engine draws (one deductible each, comonotone costs)
    average to the closed-form expected loss of the rating engine."""
    book = small_book(50, 11, product_v2)
    result = simulate_book(book, product_v2, 20_000, 5, systemic=SystemicModel.none())
    rated = sum(float(price(e.application, product_v2).expected_loss) for e in book)
    assert result.expected_loss == pytest.approx(rated, rel=1e-6, abs=1.0)
    within(
        result.independent_aal_before_aggregate, result.expected_loss, result.independent_aal_stderr
    )
    assert result.independent_aal <= result.independent_aal_before_aggregate
    assert result.systemic_aal == 0.0


@pytest.mark.parametrize("seed", [1, 2])
def test_v2_vectorised_parameters_equal_the_rating_engines_policy_by_policy(
    product_v2: Product, seed: int
) -> None:
    book = small_book(300, seed, product_v2)
    rng = np.random.default_rng(seed)
    for i in range(0, len(book), 3):
        app = book[i].application
        code = COVERAGES[int(rng.integers(6))]
        options = [o for o in product_v2.coverages[code].limit_options if o <= app.cover.limit]
        if options:
            sub = {code: options[int(rng.integers(len(options)))]}
            book[i] = replace(book[i], application=app.with_cover(sublimits=sub))
    slow = portfolio_arrays(book, product_v2, vectorised=False)
    fast = portfolio_arrays(book, product_v2)
    assert slow.incidents is not None and fast.incidents is not None
    assert fast.incidents.rate.shape == (len(book), len(INCIDENTS))
    for name in ("rate", "fixed", "median", "sigma", "cap"):
        np.testing.assert_allclose(
            getattr(fast.incidents, name), getattr(slow.incidents, name), rtol=1e-12
        )
    for name in ("sub_deductible", "sub_limit", "deductible", "aggregate", "waiting_hours"):
        np.testing.assert_array_equal(getattr(fast.terms, name), getattr(slow.terms, name))
    np.testing.assert_allclose(fast.terms.hourly_loss, slow.terms.hourly_loss, rtol=1e-12)
    # rating sums each coverage's expected loss rounded to the cent: 6 half-cents a policy
    assert abs(fast.expected_loss - slow.expected_loss) <= 0.03 * len(book)
    assert np.all(fast.frequency == 0.0)  # every independent claim is an incident


def test_v2_engine_pays_what_the_array_terms_pay_on_its_own_incidents(product_v2: Product) -> None:
    """The incident kernel applies the terms of `apply_terms_vec` (held to the Decimal terms)
    to the whole incident at once: several coverages, one deductible."""
    book = small_book(40, 6, product_v2)
    arrays = portfolio_arrays(book, product_v2)
    result = simulate(arrays, 400, 3, block_years=100, keep_events=True)
    ev = result.events
    assert ev is not None
    independent = ev["systemic_event"] < 0
    assert (np.count_nonzero(ev["ground_up"][independent] > 0, axis=1) >= 3).any()
    again = apply_terms_vec(arrays.terms, ev["policy"], ev["year"], ev["time"], ev["ground_up"])
    np.testing.assert_allclose(ev["payable"], again.payable, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ev["payable"].sum(), result.ylt.total.sum(), rtol=1e-9)


# --------------------------------------------------------------------------- limiting cases


def test_without_terms_the_annual_loss_has_the_compound_poisson_mean_and_variance() -> None:
    n, lam, mu, sigma, years = 4, 0.5, 8.0, 0.6, 40_000
    result = simulate(one_coverage_arrays(n, lam, mu, sigma), years, 1)
    total = result.ylt.total
    ex = math.exp(mu + sigma**2 / 2)
    ex2 = math.exp(2 * mu + 2 * sigma**2)
    within(total.mean(), n * lam * ex, result.aal_stderr)
    var = total.var(ddof=1)
    m4 = float(np.mean((total - total.mean()) ** 4))
    var_stderr = math.sqrt((m4 - var**2) / years)
    within(var, n * lam * ex2, var_stderr)


def test_a_severity_without_variance_pays_the_deterministic_claim_payment() -> None:
    mu = math.log(12_000.0)
    arrays = one_coverage_arrays(
        3, 0.8, mu, 1e-12, sub_deductible=500.0, limit=10_000.0, deductible=1_000.0
    )
    result = simulate(arrays, 2_000, 9, keep_events=True)
    assert result.events is not None
    pay = result.events["payable"].sum(axis=1)
    # min(12 000 - 500, 10 000) - 1 000
    np.testing.assert_allclose(pay, 9_000.0, rtol=1e-9)
    claims_per_year = result.ylt.total / 9_000.0
    np.testing.assert_allclose(claims_per_year, np.round(claims_per_year), atol=1e-6)
    within(claims_per_year.mean(), 3 * 0.8, result.aal_stderr / 9_000.0)


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_result_whatever_the_number_of_threads(product: Product) -> None:
    arrays = portfolio_arrays(small_book(30, 2, product), product)
    model = load_systemic_model()
    one = simulate(arrays, 2_500, 42, block_years=500, systemic=model, threads=1)
    two = simulate(arrays, 2_500, 42, block_years=500, systemic=model, threads=2)
    three = simulate(arrays, 2_500, 42, block_years=500, systemic=model, threads=3)
    np.testing.assert_array_equal(one.ylt.total, two.ylt.total)
    np.testing.assert_array_equal(one.ylt.by_coverage, three.ylt.by_coverage)
    np.testing.assert_array_equal(one.ylt.max_occurrence, three.ylt.max_occurrence)
    assert one.to_dict() == two.to_dict()
    other = simulate(arrays, 2_500, 43, block_years=500, systemic=model, threads=2)
    assert not np.array_equal(one.ylt.total, other.ylt.total)


def test_a_longer_run_extends_a_shorter_one_block_by_block(product: Product) -> None:
    arrays = portfolio_arrays(small_book(20, 4, product), product)
    model = load_systemic_model()
    short = simulate(arrays, 1_000, 8, block_years=250, systemic=model)
    long = simulate(arrays, 2_250, 8, block_years=250, systemic=model)
    np.testing.assert_array_equal(short.ylt.total, long.ylt.total[:1_000])


def test_progress_is_reported_up_to_the_number_of_years() -> None:
    calls: list[tuple[int, int]] = []
    simulate(
        one_coverage_arrays(2, 0.1, 5.0, 1.0),
        1_050,
        1,
        block_years=200,
        on_progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[0] == (0, 1_050) and calls[-1] == (1_050, 1_050)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) == 1 + 6


# --------------------------------------------------------------------------- the terms in the engine


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    aggregate=st.sampled_from([5_000.0, 20_000.0, 100_000.0]),
    lam=st.floats(0.5, 4.0),
)
def test_the_aggregate_never_lets_a_policy_year_pay_more_than_it(
    seed: int, aggregate: float, lam: float
) -> None:
    arrays = one_coverage_arrays(5, lam, 9.0, 1.2, limit=50_000.0, aggregate=aggregate)
    result = simulate(arrays, 300, seed, block_years=100, keep_events=True)
    ev = result.events
    assert ev is not None
    key = ev["year"] * 5 + ev["policy"]
    per_policy_year = np.bincount(key, weights=ev["payable"].sum(axis=1))
    assert per_policy_year.max() <= aggregate * (1 + 1e-12)
    assert result.ylt.total.max() <= 5 * aggregate * (1 + 1e-12)


@pytest.mark.parametrize("trigger", [False, True])
def test_the_engine_pays_what_the_array_terms_pay_on_its_own_claims(
    product: Product, trigger: bool
) -> None:
    """The fused kernel (independent and systemic claims merged in time order) applies the same
    terms as `apply_terms_vec` (itself held to the Decimal terms) on the claims it drew."""
    book = small_book(40, 6, product)
    arrays = portfolio_arrays(book, product)
    terms = replace(arrays.terms, trigger=np.full(arrays.n_policies, trigger))
    arrays = replace(arrays, terms=terms)
    busy = replace(
        load_systemic_model(),
        vendor_ransomware=replace(load_systemic_model().vendor_ransomware, annual_probability=0.5),
    )
    result = simulate(arrays, 400, 3, block_years=100, systemic=busy, keep_events=True)
    ev = result.events
    assert ev is not None and (ev["systemic_event"] >= 0).any()
    again = apply_terms_vec(arrays.terms, ev["policy"], ev["year"], ev["time"], ev["ground_up"])
    np.testing.assert_allclose(ev["payable"], again.payable, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ev["payable"].sum(), result.ylt.total.sum(), rtol=1e-9)


# --------------------------------------------------------------------------- systemic events


def only(**events: object) -> SystemicModel:
    none = SystemicModel.none()
    return replace(none, version="test", **events)


def test_a_vendor_ransomware_campaign_hits_only_insureds_of_the_vendor_it_picks(
    product: Product,
) -> None:
    book = small_book(60, 8, product)
    arrays = portfolio_arrays(book, product)
    model = only(
        vendor_ransomware=VendorRansomware(
            "r", 1.0, 0.5, 1.0, 1.0, (0, 1, 4, 5), frozenset({"vendor_c"})
        )
    )
    result = simulate(arrays, 50, 2, systemic=model, keep_events=True)
    ev = result.events
    assert ev is not None
    sys_ev = ev["systemic_event"] >= 0
    assert len(result.systemic_event_year) == 50  # probability 1: every year
    for e in np.unique(ev["systemic_event"][sys_ev]):
        rows = sys_ev & (ev["systemic_event"] == e)
        vendors = {book[p].software_vendor for p in ev["policy"][rows]}
        assert len(vendors) == 1 and vendors != {"vendor_c"}
        # BI, extortion, restoration and crisis at once; nothing else
        gu = ev["ground_up"][rows]
        assert (gu[:, [0, 1, 4, 5]] > 0).all() and (gu[:, [2, 3]] == 0).all()
    assert result.systemic_aal > 0


def test_a_cloud_outage_gives_every_insured_hit_the_same_hours_on_one_host(
    product: Product,
) -> None:
    book = small_book(60, 9, product)
    arrays = portfolio_arrays(book, product)
    model = only(cloud_outage=CloudOutage("c", 1.0, 1.0, 24.0, 1.0, frozenset({"on_premises"})))
    result = simulate(arrays, 30, 4, systemic=model, keep_events=True)
    ev = result.events
    assert ev is not None
    sys_ev = ev["systemic_event"] >= 0
    for e in np.unique(ev["systemic_event"][sys_ev]):
        rows = sys_ev & (ev["systemic_event"] == e)
        hosts = {book[p].cloud_host for p in ev["policy"][rows]}
        assert len(hosts) == 1 and hosts != {"on_premises"}
        hours = ev["ground_up"][rows, 0]
        assert np.all(hours == hours[0])
        # every insured of that host is hit (hit_share 1)
        host = hosts.pop()
        assert rows.sum() == sum(1 for b in book if b.cloud_host == host)
    # the largest occurrence of a year is at least that year's outage across the book
    loss_by_year = np.zeros(30)
    np.add.at(loss_by_year, result.systemic_event_year, result.systemic_event_loss)
    assert np.all(result.ylt.max_occurrence >= loss_by_year - 1e-6)


def test_a_phishing_wave_hits_a_share_of_all_insureds(product: Product) -> None:
    book = small_book(200, 10, product)
    arrays = portfolio_arrays(book, product)
    model = only(phishing_wave=PhishingWave("p", 1.0, 0.25, 1.0, (2, 3, 5)))
    result = simulate(arrays, 40, 5, systemic=model, keep_events=True)
    ev = result.events
    assert ev is not None
    hit = (ev["systemic_event"] >= 0).sum()
    within(hit / 40, 200 * 0.25, math.sqrt(200 * 0.25 * 0.75 / 40))


def test_the_systemic_events_file_loads_and_a_broken_one_names_file_field_and_rule() -> None:
    model = load_systemic_model()
    assert 0 < model.vendor_ransomware.annual_probability < 1
    text = SYSTEMIC_FILE.read_text(encoding="utf-8")
    broken = text.replace("hit_share = 0.8", "hit_share = 1.8")
    with pytest.raises(ProductError) as err:
        parse_systemic_model(broken, "broken.toml")
    assert (err.value.path, err.value.field) == ("broken.toml", "cloud_outage.hit_share")
    assert "<= 1" in err.value.rule
    unsourced = text.replace('outage_sigma = """Assumption', 'not_outage_sigma = """Assumption')
    with pytest.raises(ProductError) as err:
        parse_systemic_model(unsourced, "unsourced.toml")
    assert err.value.field == "cloud_outage.sources.outage_sigma"


def test_bad_simulation_input_names_the_parameter() -> None:
    arrays = one_coverage_arrays(2, 0.1, 5.0, 1.0)
    with pytest.raises(SimulationError, match="years"):
        simulate(arrays, 0, 1)
    with pytest.raises(SimulationError, match="block_years"):
        simulate(arrays, 10, 1, block_years=0)
    with pytest.raises(SimulationError, match="seed"):
        simulate(arrays, 10, -1)


def test_the_json_output_carries_the_contract_fields(product: Product) -> None:
    import json

    result = simulate_book(small_book(10, 1, product), product, 500, 3)
    data = json.loads(result.to_json())
    for key in (
        "years", "seed", "policies", "aal", "aal_stderr", "aal_by_coverage", "aal_by_kind",
        "systemic_aal", "independent_aal_before_aggregate", "independent_aal_stderr",
        "expected_loss", "oep", "aep", "var_995", "tvar_995",
    ):  # fmt: skip
        assert key in data
    assert list(data["aep"]) == ["2", "5", "10", "20", "50", "100", "200", "250", "500", "1000"]
    assert set(data["aal_by_coverage"]) == set(COVERAGES)
    aep = list(data["aep"].values())
    assert aep == sorted(aep)
    assert data["tvar_995"] >= data["var_995"]
    # the occurrence curve never exceeds the aggregate one
    assert all(data["oep"][k] <= data["aep"][k] + 1e-6 for k in data["aep"])
    assert sum(data["aal_by_coverage"].values()) == pytest.approx(data["aal"], rel=1e-9)
    assert sum(data["aal_by_kind"].values()) == pytest.approx(data["aal"], rel=1e-9)


# --------------------------------------------------------------------------- the command line


def test_the_simulate_command_prints_the_json_contract_and_writes_the_ep_plot(
    product: Product, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from egide.actuarial.generate import generate_book
    from egide.actuarial.oed import write_book
    from egide.cli.portfolio_cmd import app

    book = write_book(generate_book(30, 1, product), tmp_path / "book.parquet", product)
    runner = CliRunner()
    args = [
        "simulate",
        str(book),
        "--years",
        "400",
        "--seed",
        "3",
        "--block-years",
        "100",
        "--no-save",
    ]
    out = runner.invoke(app, [*args, "--json", "--plot", str(tmp_path / "plots")])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert (data["years"], data["seed"], data["policies"]) == (400, 3, 30)
    assert data["aal"] > 0 and set(data["oep"]) == set(data["aep"])
    assert (tmp_path / "plots" / "ep_curves.png").exists()
    same = runner.invoke(app, [*args, "--json"])
    assert json.loads(same.stdout) == data
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "VaR 99.5" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "file does not exist"),
        (["{book}", "--years", "0"], "--years 0: must be a whole number > 0"),
        (["{book}", "--block-years", "-5"], "--block-years -5"),
        (["{book}", "--workers", "2", "--scheduler", "tcp://h:1"], "--workers and --scheduler"),
        (["{book}", "--scheduler", "nowhere"], "--scheduler nowhere"),
    ],
)
def test_bad_command_input_is_an_english_error_naming_the_option_with_exit_code_2(
    product: Product, tmp_path: Path, args: list[str], message: str
) -> None:
    from typer.testing import CliRunner

    from egide.actuarial.generate import generate_book
    from egide.actuarial.oed import write_book
    from egide.cli.portfolio_cmd import app

    book = write_book(generate_book(3, 1, product), tmp_path / "book.csv", product)
    argv = [a.replace("{book}", str(book)) for a in args]
    if argv[0] == "missing.csv":
        argv[0] = str(tmp_path / "missing.csv")
    out = CliRunner().invoke(app, ["simulate", *argv])
    assert out.exit_code == 2
    assert message in " ".join(out.stderr.split())
