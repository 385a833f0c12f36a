"""ORD tables and EP plots: the files exist, carry ORD's columns, and hold exactly the inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egide.actuarial.ord import (
    EP_TYPES,
    EPT_COLUMNS,
    PALT_COLUMNS,
    SELT_COLUMNS,
    SPLT_COLUMNS,
    YLT_COLUMNS,
    write_ord,
)
from egide.actuarial.plot import plot_ep_curves

YEARS = 50


@pytest.fixture
def simulated() -> dict[str, np.ndarray]:
    """An event-level year loss table of a small random simulation."""
    rng = np.random.default_rng(4)
    n = 200
    year = rng.integers(1, YEARS + 1, size=n)
    bi = np.round(rng.lognormal(9, 1.5, size=n), 2) * (rng.random(n) < 0.7)
    ext = np.round(rng.lognormal(8, 1.2, size=n), 2)
    return {
        "year": year,
        "event_id": np.arange(1, n + 1),
        "total": bi + ext,
        "business_interruption": bi,
        "cyber_extortion": ext,
    }


def _ep(annual: np.ndarray) -> dict[float, float]:
    ordered = np.sort(annual)[::-1]
    return {YEARS / (k + 1): float(ordered[k]) for k in range(5)}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def test_ord_tables_have_oasis_columns_and_the_numbers_given(
    tmp_path: Path, simulated: dict[str, np.ndarray]
) -> None:
    annual_total = np.bincount(simulated["year"], weights=simulated["total"], minlength=YEARS + 1)[
        1:
    ]
    oep = {100.0: 5e5, 50.0: 4e5, 10.0: 1e5}
    aep = _ep(annual_total)
    aal = {
        "total": (float(annual_total.mean()), float(annual_total.std(ddof=1))),
        "business_interruption": (1234.5, 99.25),
    }
    files = write_ord(
        tmp_path,
        years=YEARS,
        ylt=simulated,
        ep={"OEP": oep, "AEP": aep},
        aal=aal,
        ep_by_summary={"cyber_extortion": {"AEP_TVAR": {10.0: 7.5}}},
    )
    names = {p.name for p in files}
    for table in ("summary-info", "ept", "palt", "ylt", "splt", "selt"):
        assert f"il_S1_{table}.csv" in names and f"il_S1_{table}.parquet" in names
    assert all(p.exists() for p in files)

    info = _read(tmp_path / "il_S1_summary-info.csv")
    ids = dict(zip(info["Summary"], info["SummaryId"], strict=True))
    assert ids["total"] == 1
    assert set(ids) == {"total", "business_interruption", "cyber_extortion"}

    ept = _read(tmp_path / "il_S1_ept.csv")
    assert tuple(ept.columns) == EPT_COLUMNS
    for name, curve in (("OEP", oep), ("AEP", aep)):
        rows = ept[(ept["SummaryId"] == 1) & (ept["EPType"] == EP_TYPES[name])]
        assert dict(zip(rows["ReturnPeriod"], rows["Loss"], strict=True)) == curve
    tvar = ept[ept["SummaryId"] == ids["cyber_extortion"]]
    assert tvar[["EPType", "ReturnPeriod", "Loss"]].values.tolist() == [
        [EP_TYPES["AEP_TVAR"], 10.0, 7.5]
    ]

    palt = _read(tmp_path / "il_S1_palt.csv")
    assert tuple(palt.columns) == PALT_COLUMNS
    for name, (mean, sd) in aal.items():
        row = palt[palt["SummaryId"] == ids[name]].iloc[0]
        assert (row["MeanLoss"], row["SDLoss"]) == (mean, sd)

    ylt = _read(tmp_path / "il_S1_ylt.csv")
    assert tuple(ylt.columns) == YLT_COLUMNS
    total = ylt[ylt["SummaryId"] == 1]
    expected = {y + 1: v for y, v in enumerate(annual_total) if v != 0}
    assert dict(zip(total["Period"], total["Loss"], strict=True)) == pytest.approx(
        expected, rel=1e-12
    )
    assert (ylt["PeriodWeight"] == 1 / YEARS).all()

    splt = _read(tmp_path / "il_S1_splt.csv")
    assert tuple(splt.columns) == SPLT_COLUMNS
    bi = splt[splt["SummaryId"] == ids["business_interruption"]]
    given = simulated["business_interruption"]
    nonzero = given != 0
    assert dict(zip(bi["EventId"], bi["Loss"], strict=True)) == dict(
        zip(simulated["event_id"][nonzero].tolist(), given[nonzero].tolist(), strict=True)
    )
    selt = _read(tmp_path / "il_S1_selt.csv")
    assert tuple(selt.columns) == SELT_COLUMNS
    assert selt["Loss"].sum() == pytest.approx(
        sum(simulated[k].sum() for k in ("total", "business_interruption", "cyber_extortion"))
    )


def test_parquet_tables_equal_the_csv_ones(
    tmp_path: Path, simulated: dict[str, np.ndarray]
) -> None:
    write_ord(
        tmp_path, years=YEARS, ylt=simulated, ep={"OEP": {10.0: 1.0}}, aal={"total": (1.0, 2.0)}
    )
    for table in ("ept", "palt", "ylt", "splt", "selt"):
        csv = _read(tmp_path / f"il_S1_{table}.csv")
        pq = pd.read_parquet(tmp_path / f"il_S1_{table}.parquet")
        pd.testing.assert_frame_equal(csv, pq.reset_index(drop=True), check_dtype=False)


def test_annual_table_without_events_writes_no_event_tables(tmp_path: Path) -> None:
    years = np.arange(1, 11)
    files = write_ord(
        tmp_path,
        years=10,
        ylt={"year": years, "total": years * 10.0},
        ep={"AEP": {10.0: 100.0}},
        aal={"total": (55.0, 30.0)},
        parquet=False,
    )
    assert {p.name for p in files} == {
        "il_S1_summary-info.csv",
        "il_S1_ept.csv",
        "il_S1_palt.csv",
        "il_S1_ylt.csv",
    }
    ylt = _read(tmp_path / "il_S1_ylt.csv")
    assert ylt["Loss"].tolist() == (years * 10.0).tolist()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"years": 0}, "years"),
        ({"ylt": {"total": [1.0]}}, "'year'"),
        ({"ylt": {"year": [11], "total": [1.0]}}, "1..10"),
        ({"ylt": {"year": [1, 2], "total": [1.0]}}, "expected 2"),
        ({"ep": {"PML": {10.0: 1.0}}}, "PML"),
        ({"ep": {"OEP": {0.0: 1.0}}}, "> 0"),
    ],
)
def test_bad_inputs_are_refused_naming_them(
    tmp_path: Path, kwargs: dict[str, object], needle: str
) -> None:
    args: dict[str, object] = {
        "years": 10,
        "ylt": {"year": [1], "total": [1.0]},
        "ep": {"OEP": {10.0: 1.0}},
        "aal": {"total": (1.0, 0.0)},
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        write_ord(tmp_path, **args)  # type: ignore[arg-type]


def test_ep_plot_is_written_as_png_and_svg(tmp_path: Path) -> None:
    oep = {2.0: 1e4, 10.0: 8e4, 100.0: 6e5, 250.0: 1.2e6}
    aep = {2.0: 2e4, 10.0: 1.1e5, 100.0: 7e5, 250.0: 1.5e6}
    paths = plot_ep_curves(oep, aep, tmp_path / "plots")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text(encoding="utf-8")
    assert "<svg" in svg and "Return period" in svg


def test_ep_plot_refuses_empty_curves_and_nonpositive_return_periods(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        plot_ep_curves({}, {}, tmp_path)
    with pytest.raises(ValueError, match="> 0"):
        plot_ep_curves({0.0: 1.0}, {}, tmp_path)
