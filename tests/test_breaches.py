"""The HHS breach loader (a fixture per quirk), the truncated fits, `egide model fit-breaches`."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from egide.actuarial.breaches import (
    REPORTING_THRESHOLD,
    BreachData,
    BreachDataError,
    BreachFitError,
    DropReason,
    EntityFilter,
    Note,
    TruncatedLognormal,
    fit_breach_sizes,
    fit_pareto,
    fit_truncated_loglogistic,
    fit_truncated_lognormal,
    ks_bootstrap_pvalue,
    load_breaches,
    lognormal_observed_information,
    numeric_hessian,
    size_sample,
    within_sd_truncated,
    yearly_counts,
)
from egide.cli.model_cmd import app
from tests.conftest import SHARED_DATA

HEADER = [
    "Name of Covered Entity",
    "State",
    "Covered Entity Type",
    "Individuals Affected",
    "Breach Submission Date",
    "Type of Breach",
    "Location of Breached Information",
    "Business Associate Present",
    "Web Description",
]
DATA_DIR = SHARED_DATA / "hhs-breach-portal"
REAL_FILES = sorted(DATA_DIR.glob("hhs_ocr_breach_report_*.csv"))


def row(
    name: str = "Clinic A",
    count: str = "1200",
    submitted: str = "03/15/2021",
    *,
    state: str = "NY",
    entity_type: str = "Healthcare Provider",
    breach_type: str = "Hacking/IT Incident",
    location: str = "Network Server",
    business_associate: str = "No",
    description: str = "",
) -> list[str]:
    return [
        name,
        state,
        entity_type,
        count,
        submitted,
        breach_type,
        location,
        business_associate,
        description,
    ]


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER, crlf: bool = True
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def assert_accounted(data: BreachData) -> None:
    assert data.kept + data.dropped.total == data.dropped.read
    assert sum(f.read for f in data.files) == data.dropped.read


def real_files() -> list[Path]:
    assert len(REAL_FILES) == 2, f"the two HHS breach files are expected in {DATA_DIR}"
    return REAL_FILES


# ----------------------------------------------------------------------------- loader, quirks


def test_embedded_newline_in_a_quoted_field_stays_one_record(tmp_path: Path) -> None:
    text = "A phishing email\r\nwas opened.\nThe server was encrypted."
    path = write_csv(tmp_path / "a.csv", [row("Clinic A", description=text), row("Clinic B")])
    data = load_breaches(path)
    assert_accounted(data)
    assert data.dropped.read == 2
    assert [r.entity for r in data.records] == ["Clinic A", "Clinic B"]
    # the second record starts on the physical line after the three lines of the first
    assert data.records[1].line == 5


def test_exact_duplicate_row_is_dropped_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(), row(), row("Clinic B")])
    data = load_breaches(path)
    assert_accounted(data)
    assert data.kept == 2
    assert data.dropped.counts == {DropReason.EXACT_DUPLICATE: 1}
    assert data.dropped.examples[DropReason.EXACT_DUPLICATE] == ("a.csv:3",)


def test_distinct_reports_by_one_entity_on_one_day_are_all_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row("BA Inc", "7000"), row("BA Inc", "21000")])
    assert load_breaches(path).kept == 2


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        ("", DropReason.MISSING_COUNT),
        ("   ", DropReason.MISSING_COUNT),
        ("unknown", DropReason.NON_NUMERIC_COUNT),
        ("12.5", DropReason.NON_NUMERIC_COUNT),
        ("-700", DropReason.NON_NUMERIC_COUNT),
        ("0", DropReason.ZERO_COUNT),
        ("499", DropReason.BELOW_THRESHOLD),
    ],
)
def test_unusable_count_is_dropped_with_its_reason(
    tmp_path: Path, count: str, reason: DropReason
) -> None:
    path = write_csv(tmp_path / "a.csv", [row("Clinic A", count), row("Clinic B", "800")])
    data = load_breaches(path)
    assert_accounted(data)
    assert data.dropped.counts == {reason: 1}
    assert [r.entity for r in data.records] == ["Clinic B"]


def test_count_with_thousands_separators_and_spaces_is_read(tmp_path: Path) -> None:
    data = load_breaches(write_csv(tmp_path / "a.csv", [row(count=" 1,234,567 ")]))
    assert data.records[0].individuals == 1_234_567


def test_invalid_date_is_dropped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row(submitted="2021-03-15"), row(submitted="13/45/2021")])
    data = load_breaches(path)
    assert data.dropped.counts == {DropReason.INVALID_DATE: 2}
    assert data.kept == 0


def test_row_with_missing_fields_is_dropped_as_malformed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [row()[:5], row("Clinic B")])
    data = load_breaches(path)
    assert_accounted(data)
    assert data.dropped.counts == {DropReason.MALFORMED_ROW: 1}


def test_multi_valued_type_and_location_are_split(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [
            row(
                breach_type="Unauthorized Access/Disclosure, Hacking/IT Incident",
                location="Email, Network Server, Other",
            ),
            row("Clinic B", breach_type="Theft, Loss"),
        ],
    )
    data = load_breaches(path)
    first, second = data.records
    assert second.breach_types == ("Theft", "Loss")
    assert first.breach_types == ("Unauthorized Access/Disclosure", "Hacking/IT Incident")
    assert first.locations == ("Email", "Network Server", "Other")
    assert data.notes[Note.MULTI_VALUED_TYPE] == 2
    assert data.notes[Note.MULTI_VALUED_LOCATION] == 1
    assert data.select(EntityFilter.PROVIDER_HACKING) == (first,)


def test_missing_state_type_and_entity_type_are_kept_and_noted(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [row("A", state=""), row("B", entity_type=""), row("C", breach_type="")],
    )
    data = load_breaches(path)
    assert data.kept == 3
    assert data.notes[Note.MISSING_STATE] == 1
    assert data.notes[Note.MISSING_ENTITY_TYPE] == 1
    assert data.notes[Note.MISSING_BREACH_TYPE] == 1
    assert [r.entity for r in data.select(EntityFilter.PROVIDER)] == ["A", "C"]
    assert [r.entity for r in data.select(EntityFilter.PROVIDER_HACKING)] == ["A"]


def test_entity_filters_select_providers_and_hacking(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [
            row("P hack"),
            row("P theft", breach_type="Theft"),
            row("Plan hack", entity_type="Health Plan"),
            row("BA hack", entity_type="Business Associate", business_associate="Yes"),
        ],
    )
    data = load_breaches(path)
    assert len(data.select(EntityFilter.ALL)) == 4
    assert {r.entity for r in data.select(EntityFilter.PROVIDER)} == {"P hack", "P theft"}
    assert {r.entity for r in data.select(EntityFilter.PROVIDER_HACKING)} == {"P hack"}
    assert data.records[3].business_associate is True


def test_cross_file_overlap_prefers_the_later_export(tmp_path: Path) -> None:
    old = write_csv(
        tmp_path / "old.csv",
        [
            row("Cheyenne Radiology Group & MRI, P.C.", "500", "02/09/2023"),
            row("Only Old", "900", "01/05/2020"),
        ],
    )
    new = write_csv(
        tmp_path / "new.csv",
        [
            row("cheyenne radiology group  mri pc ", "12222", "02/09/2023"),
            row("Only New", "3000", "10/01/2024"),
        ],
        crlf=False,
    )
    for order in ([old, new], [new, old]):
        data = load_breaches(order)
        assert_accounted(data)
        assert data.dropped.counts == {DropReason.SUPERSEDED: 1}
        assert data.dropped.examples[DropReason.SUPERSEDED] == ("old.csv:2",)
        kept = {r.entity.casefold(): r.individuals for r in data.records}
        assert kept == {
            "cheyenne radiology group mri pc": 12222,
            "only old": 900,
            "only new": 3000,
        }


def test_overlap_matches_one_to_one_preferring_the_same_entity_type(tmp_path: Path) -> None:
    old = write_csv(
        tmp_path / "old.csv",
        [
            row("Highmark Inc", "36600", "02/10/2023", entity_type="Business Associate"),
            row("Highmark Inc", "239039", "02/10/2023", entity_type="Health Plan"),
        ],
    )
    new = write_csv(
        tmp_path / "new.csv",
        [
            row("Highmark Inc", "36600", "02/10/2023", entity_type="Business Associate"),
            row("Later", "700", "06/01/2024"),
        ],
    )
    data = load_breaches([old, new])
    assert data.dropped.counts == {DropReason.SUPERSEDED: 1}
    highmark = sorted((r.entity_type, r.source) for r in data.records if r.entity == "Highmark Inc")
    assert highmark == [("Business Associate", "new.csv"), ("Health Plan", "old.csv")]


def test_header_names_are_matched_whatever_the_case_spacing_or_bom(tmp_path: Path) -> None:
    header = [f"  {h.upper()} " for h in HEADER]
    path = write_csv(tmp_path / "a.csv", [row()], header=header)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_breaches(path).kept == 1


def test_wrong_columns_raise_an_error_naming_the_file_and_the_column(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Individuals Affected"]
    path = write_csv(tmp_path / "a.csv", [row()[:8]], header=header)
    with pytest.raises(BreachDataError) as err:
        load_breaches(path)
    assert err.value.path == str(path)
    assert "'Individuals Affected'" in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_raises_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(BreachDataError, match="file not found") as err:
        load_breaches(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (b"name;state\n\xe9t\xe9;NY\n", "not UTF-8"),
        (b'{"Name of Covered Entity": "x"}\n', "missing required column"),
    ],
)
def test_a_file_that_is_not_a_breach_csv_raises(tmp_path: Path, content: bytes, rule: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BreachDataError, match=rule):
        load_breaches(path)


def test_yearly_counts_fill_the_years_without_breaches(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv",
        [row("A", submitted="01/02/2018"), row("B", submitted="05/06/2020"), row("C")],
    )
    assert yearly_counts(load_breaches(path).records) == {2018: 1, 2019: 0, 2020: 1, 2021: 1}


def test_placeholder_counts_are_left_out_of_the_size_sample_only_when_asked(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "a.csv", [row("A", "500"), row("B", "501"), row("C", "502")])
    data = load_breaches(path)
    assert data.kept == 3
    x, left_out = size_sample(data, EntityFilter.ALL)
    assert (x.tolist(), left_out) == ([502.0], 2)
    x, left_out = size_sample(data, EntityFilter.ALL, keep_placeholders=True)
    assert (sorted(x.tolist()), left_out) == ([500.0, 501.0, 502.0], 0)


# ----------------------------------------------------------------------------- fits


def truncated_lognormal_sample(
    mu: float, sigma: float, n_draws: int, seed: int, threshold: float = REPORTING_THRESHOLD
) -> np.ndarray:
    """Draw untruncated lognormals and keep those the portal would list (>= threshold)."""
    x = np.random.default_rng(seed).lognormal(mu, sigma, size=n_draws)
    return x[x >= threshold]


@pytest.mark.parametrize(("mu", "sigma", "seed"), [(8.5, 2.4, 1), (6.2, 3.0, 2), (10.0, 1.2, 3)])
def test_lognormal_fit_recovers_mu_and_sigma_within_four_standard_errors(
    mu: float, sigma: float, seed: int
) -> None:
    x = truncated_lognormal_sample(mu, sigma, 12_000, seed)
    fit = fit_truncated_lognormal(x)
    est_mu, est_sigma = fit.estimate("mu"), fit.estimate("sigma")
    assert abs(est_mu.value - mu) < 4 * est_mu.se
    assert abs(est_sigma.value - sigma) < 4 * est_sigma.se
    assert fit.n == x.size
    assert -1.0 < fit.correlation("mu", "sigma") < 1.0


def test_observed_information_is_the_numeric_hessian_and_tends_to_the_untruncated_one() -> None:
    x = truncated_lognormal_sample(8.0, 2.0, 4000, 4)
    fit = fit_truncated_lognormal(x)
    model = fit.model
    assert isinstance(model, TruncatedLognormal)

    def nll(theta: np.ndarray) -> float:
        return -float(TruncatedLognormal(theta[0], theta[1]).logpdf(x).sum())

    analytic = lognormal_observed_information(model.mu, model.sigma, x, REPORTING_THRESHOLD)
    numeric = numeric_hessian(nll, [model.mu, model.sigma])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4)

    # far below the data the truncation does not bind: diag(n / s^2, 2 n / s^2) at the MLE
    y = np.random.default_rng(5).normal(3.0, 0.5, size=2000)
    m, s = float(y.mean()), float(y.std())
    info = lognormal_observed_information(m, s, np.exp(y), threshold=1e-12)
    np.testing.assert_allclose(info, np.diag([y.size / s**2, 2 * y.size / s**2]), atol=1e-6)


def test_truncated_lognormal_cdf_and_ppf_are_inverse_and_start_at_the_threshold() -> None:
    d = TruncatedLognormal(mu=7.0, sigma=2.5)
    p = np.array([0.0, 0.1, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(d.cdf(d.ppf(p)), p, atol=1e-12)
    assert d.ppf(0.0) == pytest.approx(REPORTING_THRESHOLD)
    assert d.cdf(REPORTING_THRESHOLD - 1) == 0.0
    assert np.all(d.rvs(1000, np.random.default_rng(0)) >= REPORTING_THRESHOLD)


def test_ks_is_small_on_the_right_model_and_large_on_a_wrong_one() -> None:
    x = truncated_lognormal_sample(8.0, 2.2, 8000, 6)
    critical_1pct = 1.63 / math.sqrt(x.size)  # KS critical value at 1 %, known parameters
    right = fit_truncated_lognormal(x)
    assert right.ks_statistic < critical_1pct
    wrong = fit_pareto(x)
    assert wrong.ks_statistic > 3 * critical_1pct
    # and a lognormal forced onto two well-separated clusters is rejected too
    rng = np.random.default_rng(7)
    bimodal = np.concatenate([rng.uniform(600, 900, 3000), rng.uniform(2e5, 3e5, 3000)])
    assert fit_truncated_lognormal(bimodal).ks_statistic > 3 * 1.63 / math.sqrt(bimodal.size)


def test_model_comparison_picks_the_true_family_on_either_kind_of_data() -> None:
    rng = np.random.default_rng(8)
    lognormal_data = truncated_lognormal_sample(8.0, 2.0, 8000, 9)
    pareto_data = REPORTING_THRESHOLD * (1 - rng.uniform(size=4000)) ** (-1 / 0.8)
    assert fit_breach_sizes(lognormal_data).best_by_aic.name == "lognormal"
    pareto_fit = fit_breach_sizes(pareto_data)
    assert pareto_fit.best_by_aic.name in {"pareto", "log-logistic"}
    alpha = pareto_fit.alternatives[1].estimate("alpha")
    assert abs(alpha.value - 0.8) < 4 * alpha.se


def test_loglogistic_fit_recovers_its_parameters_within_four_standard_errors() -> None:
    rng = np.random.default_rng(10)
    y = rng.logistic(8.0, 1.3, size=12_000)
    x = np.exp(y[y >= math.log(REPORTING_THRESHOLD)])
    fit = fit_truncated_loglogistic(x)
    m, s = fit.estimate("m"), fit.estimate("s")
    assert abs(m.value - 8.0) < 4 * m.se
    assert abs(s.value - 1.3) < 4 * s.se


def test_quantile_table_holds_empirical_and_fitted_quantiles() -> None:
    x = truncated_lognormal_sample(8.0, 2.0, 6000, 11)
    fit = fit_breach_sizes(x)
    assert [q.p for q in fit.quantiles] == [0.5, 0.75, 0.9, 0.95, 0.99]
    for q in fit.quantiles:
        assert q.empirical == pytest.approx(float(np.quantile(x, q.p)))
        assert q.empirical_low <= q.empirical <= q.empirical_high
        assert q.fitted["lognormal"] == pytest.approx(float(fit.lognormal.model.ppf(q.p)))
        assert set(q.fitted) == {m.name for m in fit.models}


def test_bootstrap_pvalue_is_a_probability_and_not_tiny_on_the_right_model() -> None:
    x = truncated_lognormal_sample(8.0, 2.0, 800, 12)
    p = ks_bootstrap_pvalue(fit_truncated_lognormal(x), n_boot=19, seed=1)
    assert 0.05 <= p <= 1.0


def test_fit_refuses_too_few_breaches_or_values_under_the_threshold() -> None:
    with pytest.raises(BreachFitError, match="at least"):
        fit_truncated_lognormal([600.0, 700.0])
    with pytest.raises(BreachFitError, match="under the truncation point"):
        fit_truncated_lognormal([100.0] + [600.0 + i for i in range(20)])


def test_within_entity_sd_accounts_for_truncation_on_a_simulated_panel() -> None:
    rng = np.random.default_rng(13)
    a, s_true = math.log(REPORTING_THRESHOLD), 1.8
    groups: list[np.ndarray] = []
    while len(groups) < 400:
        y = rng.normal(rng.normal(8.0, 2.5), s_true, size=rng.poisson(1.5) + 1)
        y = y[y >= a]
        if y.size >= 2:
            groups.append(y)
    sd, naive = within_sd_truncated(groups, REPORTING_THRESHOLD)
    assert naive < sd
    assert abs(sd - s_true) < 0.1 * s_true


# ----------------------------------------------------------------------------- real files


def test_real_files_load_with_every_row_accounted_for() -> None:
    files = real_files()
    data = load_breaches(files)
    assert_accounted(data)
    assert 5000 <= data.kept <= 6300
    for f in data.files:  # the loader reads as many records as pandas does
        assert f.read == len(pd.read_csv(f.path, dtype=str, keep_default_na=False))
    assert data.dropped.counts.get(DropReason.EXACT_DUPLICATE, 0) >= 1
    assert data.dropped.counts.get(DropReason.MISSING_COUNT, 0) >= 1
    assert data.dropped.counts.get(DropReason.SUPERSEDED, 0) >= 1
    assert data.notes[Note.MULTI_VALUED_TYPE] > 0
    assert min(r.individuals for r in data.records) >= REPORTING_THRESHOLD
    years = yearly_counts(data.records)
    assert sum(years.values()) == data.kept


def test_cli_fits_the_real_files_and_prints_one_json_object() -> None:
    files = real_files()
    result = CliRunner().invoke(
        app, ["fit-breaches", *map(str, files), "--json", "--entity-type", "provider-hacking"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["read"] == out["kept"] + out["dropped_total"]
    assert out["n"] + out["placeholders_left_out"] == out["selected"]
    assert out["lognormal"]["sigma"] > 0 and out["lognormal"]["se_sigma"] > 0
    assert {m["model"] for m in out["models"]} == {"lognormal", "log-logistic", "pareto"}


def test_cli_prints_rich_tables_for_humans() -> None:
    files = real_files()
    result = CliRunner().invoke(app, ["fit-breaches", str(files[0])])
    assert result.exit_code == 0, result.output
    for title in ("What was read", "What was dropped", "Quantiles", "Breaches per submission"):
        assert title in result.stdout


def test_cli_exits_2_naming_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing-export.csv"
    result = CliRunner().invoke(app, ["fit-breaches", str(missing), "--json"])
    assert result.exit_code == 2
    assert str(missing) in result.stderr
    assert "file not found" in result.stderr


def test_cli_exits_2_naming_the_missing_column(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Breach Submission Date"]
    path = write_csv(tmp_path / "wrong.csv", [row()[:8]], header=header)
    result = CliRunner().invoke(app, ["fit-breaches", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert "'Breach Submission Date'" in result.stderr
