"""The breach-size fit reported fully: plain moments of log size, the KS distance of every fitted
law, the Hill tail index, and `egide model fit-breaches` printing them in both outputs."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from egide.actuarial.breaches import (
    HILL_K_CHOICE,
    HILL_K_RANGE,
    KS_CRITICAL_5PCT,
    REPORTING_THRESHOLD,
    BreachFitError,
    ParetoFromThreshold,
    TruncatedLogLogistic,
    TruncatedLognormal,
    fit_breach_sizes,
    fit_pareto,
    fit_truncated_loglogistic,
    fit_truncated_lognormal,
    hill_alphas,
    hill_estimate,
    hill_reading,
    ks_distance,
    log_moments,
)
from egide.cli.model_cmd import app
from tests.conftest import SHARED_DATA

REAL_FILES = sorted((SHARED_DATA / "hhs-breach-portal").glob("hhs_ocr_breach_report_*.csv"))


def pareto_sample(alpha: float, n: int, seed: int) -> np.ndarray:
    u = np.random.default_rng(seed).uniform(size=n)
    return REPORTING_THRESHOLD * (1.0 - u) ** (-1.0 / alpha)


# ----------------------------------------------------------------------------- moments


@pytest.mark.parametrize(("mu", "sigma", "seed"), [(8.0, 2.0, 1), (5.5, 0.7, 2), (10.0, 3.0, 3)])
def test_log_moments_of_a_lognormal_sample_are_its_parameters_within_four_standard_errors(
    mu: float, sigma: float, seed: int
) -> None:
    x = np.random.default_rng(seed).lognormal(mu, sigma, size=20_000)
    m = log_moments(x)
    assert m.n == x.size
    assert abs(m.mean - mu) < 4 * m.se_mean
    assert abs(m.sd - sigma) < 4 * m.se_sd
    assert abs(m.skewness) < 4 * m.se_skewness  # a normal: no skew, no excess kurtosis
    assert abs(m.excess_kurtosis) < 4 * m.se_excess_kurtosis
    # the plain (biased) moment ratios, as scipy computes them by default
    y = np.log(x)
    assert m.skewness == pytest.approx(float(stats.skew(y)), rel=1e-9)
    assert m.excess_kurtosis == pytest.approx(float(stats.kurtosis(y)), rel=1e-9)


def test_log_moments_see_the_skew_of_a_skewed_log_sample() -> None:
    # log x exponential: skewness 2, excess kurtosis 6
    x = np.exp(np.random.default_rng(4).exponential(1.0, size=50_000))
    m = log_moments(x)
    assert m.skewness > 1.5 and m.excess_kurtosis > 4.0


def test_truncation_shrinks_the_plain_sd_and_the_fit_reproduces_the_first_two_moments() -> None:
    sigma = 2.4
    x = np.random.default_rng(5).lognormal(8.0, sigma, size=30_000)
    x = x[x >= REPORTING_THRESHOLD]
    fit = fit_breach_sizes(x, n_boot_quantiles=0)
    m = fit.log_moments
    assert m.sd < sigma - 10 * m.se_sd  # the reported breaches are far less spread than the law
    model = fit.lognormal.model
    assert isinstance(model, TruncatedLognormal)
    mean, sd, skew, kurt = model.log_moments()
    # maximum likelihood of a normal truncated at a known point matches mean and (biased) variance
    assert mean == pytest.approx(m.mean, abs=1e-5)
    assert sd == pytest.approx(m.sd * math.sqrt((m.n - 1) / m.n), abs=1e-5)
    assert abs(skew - m.skewness) < 4 * m.se_skewness
    assert abs(kurt - m.excess_kurtosis) < 4 * m.se_excess_kurtosis


def test_log_moments_refuse_too_few_or_non_positive_values() -> None:
    with pytest.raises(BreachFitError, match="at least 4"):
        log_moments([600.0, 700.0, 800.0])
    with pytest.raises(BreachFitError, match="positive"):
        log_moments([600.0, 700.0, 0.0, 900.0])
    with pytest.raises(BreachFitError, match="equal"):
        log_moments([600.0] * 5)


# ----------------------------------------------------------------------------- KS distance


def test_ks_distance_is_scipy_kstest_statistic_for_every_law_even_with_ties() -> None:
    x = TruncatedLognormal(8.0, 2.2).rvs(3000, np.random.default_rng(6))
    heaped = np.maximum(np.round(x, -2), REPORTING_THRESHOLD)  # counts heaped on hundreds
    for sample in (x, heaped):
        for fit in (
            fit_truncated_lognormal(sample),
            fit_truncated_loglogistic(sample),
            fit_pareto(sample),
        ):
            ks = ks_distance(fit.model, sample)
            res = stats.kstest(sample, fit.model.cdf)
            assert ks.d == pytest.approx(float(res.statistic), abs=1e-12)
            assert ks.d == pytest.approx(fit.ks_statistic, abs=1e-12)
            assert ks.d == max(ks.d_plus, ks.d_minus)
            # the reported point is where the gap is reached
            assert ks.fitted_cdf == pytest.approx(float(fit.model.cdf(ks.at)), abs=1e-12)
            right = float(np.mean(sample <= ks.at))
            left = float(np.mean(sample < ks.at))
            expected = right if ks.d_plus >= ks.d_minus else left
            assert ks.empirical_cdf == pytest.approx(expected, abs=1e-12)
            assert abs(ks.empirical_cdf - ks.fitted_cdf) == pytest.approx(ks.d, abs=1e-12)
            assert ks.sqrt_n_d == pytest.approx(math.sqrt(sample.size) * ks.d)
            assert ks.critical_5pct == pytest.approx(KS_CRITICAL_5PCT / math.sqrt(sample.size))


def test_ks_distance_of_the_true_law_is_smaller_than_of_a_wrong_one() -> None:
    rng = np.random.default_rng(7)
    true = TruncatedLognormal(8.0, 2.0)
    x = true.rvs(20_000, rng)
    d_true = ks_distance(true, x).d
    assert d_true < ks_distance(fit_truncated_loglogistic(x).model, x).d
    assert d_true < ks_distance(fit_pareto(x).model, x).d

    # on Pareto data, against a wrong index and a lognormal (a fitted one is no wrong law here:
    # deep in its left tail, mu -> -inf and sigma large, a truncated lognormal is a power law)
    pareto = ParetoFromThreshold(alpha=0.9)
    y = pareto_sample(0.9, 20_000, 8)
    d_pareto = ks_distance(pareto, y).d
    assert d_pareto < ks_distance(ParetoFromThreshold(alpha=1.0), y).d
    assert d_pareto < ks_distance(TruncatedLognormal(8.0, 2.0), y).d

    loglogistic = TruncatedLogLogistic(m=8.0, s=1.3)
    z = loglogistic.ppf(rng.uniform(size=20_000))
    assert ks_distance(loglogistic, z).d < ks_distance(fit_pareto(z).model, z).d


def test_the_fit_reports_a_ks_distance_for_every_law_it_fits() -> None:
    x = TruncatedLognormal(8.0, 2.0).rvs(2000, np.random.default_rng(9))
    fit = fit_breach_sizes(x, n_boot_quantiles=0)
    assert [k.model for k in fit.ks] == [m.name for m in fit.models]
    for k, m in zip(fit.ks, fit.models, strict=True):
        assert k.d == pytest.approx(m.ks_statistic, abs=1e-12)
        assert k.n == fit.n


# ----------------------------------------------------------------------------- Hill


def test_hill_estimator_by_hand_on_four_values() -> None:
    x = np.exp([3.0, 2.0, 1.0, 0.0])
    # k = 1: log x_(1) - log x_(2) = 1; k = 2: (3 + 2) / 2 - 1 = 1.5; k = 3: (3 + 2 + 1) / 3 - 0
    np.testing.assert_allclose(hill_alphas(x, [1, 2, 3]), [1.0, 1 / 1.5, 1 / 2.0])
    with pytest.raises(BreachFitError, match="n - 1"):
        hill_alphas(x, [4])


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_hill_estimator_recovers_a_pareto_index_of_one_and_a_half(seed: int) -> None:
    alpha, n = 1.5, 20_000
    h = hill_estimate(pareto_sample(alpha, n, seed))
    assert h.k == round(HILL_K_CHOICE * n)
    assert (h.k_low, h.k_high) == (math.ceil(HILL_K_RANGE[0] * n), math.floor(HILL_K_RANGE[1] * n))
    assert h.se == pytest.approx(h.alpha / math.sqrt(h.k))
    assert abs(h.alpha - alpha) < 3 * h.se
    assert h.ci95[0] < h.alpha < h.ci95[1]
    assert h.alpha_min <= h.alpha <= h.alpha_max
    # every k of the window estimates the same index: the range stays within its noise at k_low
    widest = 4 * alpha / math.sqrt(h.k_low)
    assert alpha - widest < h.alpha_min and h.alpha_max < alpha + widest
    assert "infinite variance" in h.interpretation
    assert math.isnan(h.lognormal_alpha)  # no lognormal given: no benchmark


def test_hill_on_a_lognormal_converges_to_the_lognormal_benchmark() -> None:
    model = TruncatedLognormal(8.5, 2.4)
    x = model.rvs(40_000, np.random.default_rng(13))
    h = hill_estimate(x, lognormal=model)
    assert abs(h.alpha - h.lognormal_alpha) < 3 * h.se
    # a lognormal's apparent index grows as the tail considered shrinks
    assert model.hill_alpha(0.02) > model.hill_alpha(0.05) > model.hill_alpha(0.10)
    assert h.lognormal_alpha_min == pytest.approx(model.hill_alpha(h.k_high / x.size))
    assert h.lognormal_alpha_max == pytest.approx(model.hill_alpha(h.k_low / x.size))
    assert "as heavy as the lognormal's" in h.interpretation


def test_hill_reading_names_the_missing_moment_and_a_range_that_crosses_it() -> None:
    assert "infinite mean" in hill_reading(0.8, 0.7, 0.9)
    assert "reads the same" in hill_reading(0.8, 0.7, 0.9)
    assert "infinite variance" in hill_reading(1.5, 1.3, 1.7)
    assert "finite mean and variance" in hill_reading(2.5, 2.2, 2.8)
    assert "crosses 1" in hill_reading(1.1, 0.9, 1.3)
    assert "crosses 1 and 2" in hill_reading(1.5, 0.9, 2.3)


def test_hill_refuses_a_sample_too_small_or_a_flat_top() -> None:
    with pytest.raises(BreachFitError, match="too few"):
        hill_estimate([600.0, 700.0])
    with pytest.raises(BreachFitError, match="all equal"):
        hill_estimate([600.0 + i for i in range(20)] + [1e6] * 5)


# ----------------------------------------------------------------------------- CLI


MOMENTS = "Plain moments of log(individuals affected)"
KS = "Kolmogorov–Smirnov distance D of each fitted law"
HILL = "Hill tail index alpha"
NEW_KEYS = {"log_moments", "ks_distances", "hill"}
EXISTING_KEYS = {
    "files",
    "read",
    "kept",
    "dropped",
    "dropped_total",
    "dropped_examples",
    "kept_notes",
    "entity_type",
    "filter",
    "selected",
    "placeholders_left_out",
    "threshold",
    "n",
    "lognormal",
    "models",
    "best_by_aic",
    "quantiles",
    "within_entity",
    "yearly_counts",
    "under_counted_years",
    "partial_years",
}


def _cells(stdout: str, label: str, after: str) -> list[str]:
    """The cells of the first rich table row whose first cell is `label`, after the line that
    holds `after` (the start of the table's title)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    for line in lines[start:]:
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no table row {label!r} in:\n{stdout}")


def test_cli_json_has_the_new_statistics_and_they_agree_with_the_human_tables() -> None:
    assert len(REAL_FILES) == 2
    args = ["fit-breaches", *map(str, REAL_FILES), "--entity-type", "provider-hacking"]
    runner = CliRunner()
    as_json = runner.invoke(app, [*args, "--json"])
    human = runner.invoke(app, args)
    assert as_json.exit_code == 0, as_json.output
    assert human.exit_code == 0, human.output
    out = json.loads(as_json.stdout)
    assert set(out) == EXISTING_KEYS | NEW_KEYS

    mom = out["log_moments"]
    assert mom["n"] == out["n"]
    assert mom["sd"] < out["lognormal"]["sigma"]  # truncation
    for label, key in (
        ("mean", "mean"),
        ("standard deviation", "sd"),
        ("skewness", "skewness"),
        ("excess kurtosis", "excess_kurtosis"),
    ):
        cells = _cells(human.stdout, label, MOMENTS)
        assert float(cells[1]) == pytest.approx(mom[key], abs=5e-4)
        assert float(cells[2]) == pytest.approx(mom["normal_theory_se"][key], abs=5e-4)
        assert float(cells[3]) == pytest.approx(mom["fitted_lognormal"][key], abs=5e-4)

    laws = out["ks_distances"]["laws"]
    assert [law["model"] for law in laws] == [m["model"] for m in out["models"]]
    for law, model in zip(laws, out["models"], strict=True):
        assert law["d"] == model["ks_statistic"]
        assert law["pvalue_nominal"] == model["ks_pvalue_nominal"]
        cells = _cells(human.stdout, law["model"], KS)
        assert float(cells[1]) == pytest.approx(law["d"], abs=5e-5)
        assert float(cells[2]) == pytest.approx(law["sqrt_n_d"], abs=5e-4)
        assert float(cells[3].replace(",", "")) == pytest.approx(law["at_individuals"], abs=0.5)
    assert laws[0]["d"] < laws[1]["d"] < laws[2]["d"]  # lognormal, log-logistic, Pareto

    hill = out["hill"]
    k_low, k_high = hill["k_range"]
    assert k_low <= hill["k"] <= k_high
    assert hill["alpha_range"][0] <= hill["alpha"] <= hill["alpha_range"][1]
    cells = _cells(human.stdout, "estimate", HILL)
    assert int(cells[1]) == hill["k"]
    assert float(cells[2]) == pytest.approx(hill["alpha"], abs=5e-4)
    assert float(cells[3]) == pytest.approx(hill["se"], abs=5e-4)
    assert float(cells[5].replace(",", "")) == pytest.approx(hill["threshold"], abs=0.5)
    cells = _cells(human.stdout, "range over k", HILL)
    assert cells[1] == f"{k_low}–{k_high}"
    low, high = (float(v) for v in cells[2].split(" – "))
    assert (low, high) == pytest.approx(tuple(hill["alpha_range"]), abs=5e-4)
    cells = _cells(human.stdout, "fitted lognormal", HILL)
    assert float(cells[2]) == pytest.approx(hill["lognormal_alpha"], abs=5e-4)
    flat = " ".join(human.stdout.split())
    assert f"Tail index: {hill['interpretation']}." in flat
    assert re.search(r"alpha (<|<=|>=) ", hill["interpretation"])
