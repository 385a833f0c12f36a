"""The portfolio simulation's tables in the Open Results Data (ORD) layout of Oasis LMF.

ORD (github.com/OasisLMF/ODS_OpenExposureData, folder ORD; the headers below are those Oasis's
own tools write) names the results of a loss model:

- EPT, exceedance probability table: ``SummaryId,EPCalc,EPType,ReturnPeriod,Loss``; EPType 1 OEP,
  2 AEP, 3 OEP TVaR, 4 AEP TVaR; EPCalc 1 "full uncertainty" (every simulated year is one period
  with one sample, which is what a Monte Carlo year-loss simulation is).
- PALT, period average loss table (the AAL): ``SummaryId,SampleType,MeanLoss,SDLoss``; SampleType
  2 (sampled).
- SPLT, sample period loss table (each event's loss in each period, i.e. the event-level year
  loss table): ``Period,PeriodWeight,EventId,Year,Month,Day,Hour,Minute,SummaryId,SampleId,Loss,
  ImpactedExposure``.
- SELT, sample event loss table: ``EventId,SummaryId,SampleId,Loss,ImpactedExposure``.

Plus, not an ORD table but the aggregate the EPT's AEP is read from, the annual loss of each
period: ``Period,PeriodWeight,SummaryId,SampleId,Loss`` (the SPLT summed over events), and the
summary-info table naming each SummaryId (Oasis writes one too). File names follow Oasis:
``<perspective>_S1_<table>.csv`` (and ``.parquet``), perspective ``il`` (insured loss) by default.

The inputs are plain arrays and mappings, so the simulation engine need not know ORD:
see `write_ord`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from egide.actuarial.engine import PortfolioResult
from egide.domain.product import COVERAGES

EP_TYPES: Mapping[str, int] = {"OEP": 1, "AEP": 2, "OEP_TVAR": 3, "AEP_TVAR": 4}
EPCALC_FULL_UNCERTAINTY = 1
SAMPLE_TYPE_SAMPLED = 2
SAMPLE_ID = 1  # one sample per simulated period
TOTAL = "total"

EPT_COLUMNS = ("SummaryId", "EPCalc", "EPType", "ReturnPeriod", "Loss")
PALT_COLUMNS = ("SummaryId", "SampleType", "MeanLoss", "SDLoss")
SPLT_COLUMNS = (
    "Period",
    "PeriodWeight",
    "EventId",
    "Year",
    "Month",
    "Day",
    "Hour",
    "Minute",
    "SummaryId",
    "SampleId",
    "Loss",
    "ImpactedExposure",
)
SELT_COLUMNS = ("EventId", "SummaryId", "SampleId", "Loss", "ImpactedExposure")
YLT_COLUMNS = ("Period", "PeriodWeight", "SummaryId", "SampleId", "Loss")
SUMMARY_INFO_COLUMNS = ("SummaryId", "Summary")


def _summary_ids(*groups: Sequence[str]) -> dict[str, int]:
    """SummaryId 1 is the total; the others in order of first appearance."""
    names: list[str] = [TOTAL]
    for group in groups:
        for name in group:
            if name not in names:
                names.append(name)
    return {name: i + 1 for i, name in enumerate(names)}


def _as_float(values: ArrayLike, name: str, length: int | None = None) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional")
    if length is not None and len(array) != length:
        raise ValueError(f"{name}: has {len(array)} values, expected {length}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: must be finite numbers")
    return array


def _write(frame: pd.DataFrame, out_dir: Path, stem: str, parquet: bool) -> list[Path]:
    csv = out_dir / f"{stem}.csv"
    frame.to_csv(csv, index=False)
    paths = [csv]
    if parquet:
        pq = out_dir / f"{stem}.parquet"
        frame.to_parquet(pq, index=False)
        paths.append(pq)
    return paths


def write_ord(
    out_dir: str | Path,
    *,
    years: int,
    ylt: Mapping[str, ArrayLike],
    ep: Mapping[str, Mapping[float, float]],
    aal: Mapping[str, tuple[float, float]],
    ep_by_summary: Mapping[str, Mapping[str, Mapping[float, float]]] | None = None,
    perspective: str = "il",
    parquet: bool = True,
) -> list[Path]:
    """Write the ORD tables of a simulation of `years` periods; returns the files written.

    - `ylt`: the year loss table as columns of equal length. ``"year"`` (1..years, the period
      of each row) is required; ``"event_id"`` makes it an event-level table (one row per event
      and year: SPLT and SELT are written); every other column is a summary's loss (``"total"``
      and, say, one per coverage). Without ``"event_id"`` the rows are annual losses.
    - `ep`: the portfolio total's curves, ``{"OEP": {return_period: loss}, "AEP": {...}}``, and
      optionally ``"OEP_TVAR"``, ``"AEP_TVAR"``; `ep_by_summary` the same for other summaries.
    - `aal`: ``{summary: (mean, standard deviation)}`` of the annual loss.
    """
    if years < 1:
        raise ValueError("years: must be >= 1")
    if perspective not in ("gul", "il", "ri"):
        raise ValueError("perspective: must be gul, il or ri")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if "year" not in ylt:
        raise ValueError("ylt: needs a 'year' column (the period of each row, 1..years)")
    year = np.asarray(ylt["year"])
    if year.ndim != 1 or not np.issubdtype(year.dtype, np.integer):
        raise ValueError("ylt['year']: must be whole numbers")
    if len(year) and (year.min() < 1 or year.max() > years):
        raise ValueError(f"ylt['year']: must lie in 1..{years}")
    event = ylt.get("event_id")
    loss_names = [k for k in ylt if k not in ("year", "event_id")]
    if not loss_names:
        raise ValueError("ylt: needs at least one loss column")
    losses = {k: _as_float(ylt[k], f"ylt[{k!r}]", len(year)) for k in loss_names}
    by_summary = dict(ep_by_summary or {})
    if TOTAL in by_summary:
        raise ValueError("ep_by_summary: give the total's curves in `ep`")
    ids = _summary_ids(loss_names, list(aal), list(by_summary))
    prefix = f"{perspective}_S1_"
    weight = 1.0 / years
    written: list[Path] = []

    info = pd.DataFrame({"SummaryId": list(ids.values()), "Summary": list(ids.keys())})
    written += _write(info, out, prefix + "summary-info", parquet)

    rows: list[tuple[int, int, int, float, float]] = []
    for name, curves in [(TOTAL, ep), *by_summary.items()]:
        for ep_name, curve in curves.items():
            if ep_name not in EP_TYPES:
                raise ValueError(f"ep[{ep_name!r}]: must be one of {', '.join(EP_TYPES)}")
            for rp, loss in sorted(curve.items(), key=lambda kv: -kv[0]):
                if not rp > 0:
                    raise ValueError(f"ep[{ep_name!r}]: return periods must be > 0")
                rows.append(
                    (ids[name], EPCALC_FULL_UNCERTAINTY, EP_TYPES[ep_name], float(rp), float(loss))
                )
    rows.sort(key=lambda r: (r[0], r[2], -r[3]))
    ept = pd.DataFrame(rows, columns=list(EPT_COLUMNS)).astype(
        {
            "SummaryId": "int64",
            "EPCalc": "int64",
            "EPType": "int64",
            "ReturnPeriod": "float64",
            "Loss": "float64",
        }
    )
    written += _write(ept, out, prefix + "ept", parquet)

    palt = pd.DataFrame(
        [(ids[name], SAMPLE_TYPE_SAMPLED, float(m), float(sd)) for name, (m, sd) in aal.items()],
        columns=list(PALT_COLUMNS),
    ).astype(
        {"SummaryId": "int64", "SampleType": "int64", "MeanLoss": "float64", "SDLoss": "float64"}
    )
    written += _write(palt.sort_values("SummaryId", kind="stable"), out, prefix + "palt", parquet)

    # annual loss per period (summed over events when the table is event-level)
    annual_parts = []
    for name in loss_names:
        per_year = np.bincount(year.astype(np.int64), weights=losses[name], minlength=years + 1)[1:]
        periods = np.nonzero(per_year)[0] + 1
        annual_parts.append(
            pd.DataFrame(
                {
                    "Period": periods.astype(np.int64),
                    "PeriodWeight": weight,
                    "SummaryId": ids[name],
                    "SampleId": SAMPLE_ID,
                    "Loss": per_year[periods - 1],
                }
            )
        )
    annual = pd.concat(annual_parts, ignore_index=True).sort_values(
        ["Period", "SummaryId"], kind="stable"
    )
    written += _write(annual[list(YLT_COLUMNS)], out, prefix + "ylt", parquet)

    if event is not None:
        event_id = np.asarray(event)
        if (
            event_id.ndim != 1
            or len(event_id) != len(year)
            or not np.issubdtype(event_id.dtype, np.integer)
        ):
            raise ValueError("ylt['event_id']: must be whole numbers, one per row")
        splt_parts, selt_parts = [], []
        for name in loss_names:
            keep = losses[name] != 0
            n = int(keep.sum())
            zeros = np.zeros(n, dtype=np.int64)
            splt_parts.append(
                pd.DataFrame(
                    {
                        "Period": year[keep].astype(np.int64),
                        "PeriodWeight": weight,
                        "EventId": event_id[keep].astype(np.int64),
                        "Year": year[keep].astype(np.int64),
                        "Month": zeros,
                        "Day": zeros,
                        "Hour": zeros,
                        "Minute": zeros,
                        "SummaryId": ids[name],
                        "SampleId": SAMPLE_ID,
                        "Loss": losses[name][keep],
                        "ImpactedExposure": np.zeros(n),
                    }
                )
            )
            selt_parts.append(
                pd.DataFrame(
                    {
                        "EventId": event_id[keep].astype(np.int64),
                        "SummaryId": ids[name],
                        "SampleId": SAMPLE_ID,
                        "Loss": losses[name][keep],
                        "ImpactedExposure": np.zeros(n),
                    }
                )
            )
        splt = pd.concat(splt_parts, ignore_index=True).sort_values(
            ["Period", "EventId", "SummaryId"], kind="stable"
        )
        selt = pd.concat(selt_parts, ignore_index=True).sort_values(
            ["EventId", "SummaryId"], kind="stable"
        )
        written += _write(splt[list(SPLT_COLUMNS)], out, prefix + "splt", parquet)
        written += _write(selt[list(SELT_COLUMNS)], out, prefix + "selt", parquet)
    return written


def occurrence_table(result: PortfolioResult) -> dict[str, NDArray[Any]]:
    """The event-level loss table of a run kept with its claims (`keep_events`): one row per
    occurrence — an independent claim, or a systemic event across every insured it hit — with its
    year (from 1), an event id, and the loss paid in total and per coverage."""
    ev = result.events
    if ev is None:
        raise ValueError("result: simulated without keep_events, no occurrence to tabulate")
    pay = np.asarray(ev["payable"], dtype=np.float64)
    year = np.asarray(ev["year"], dtype=np.int64)
    systemic = np.asarray(ev["systemic_event"], dtype=np.int64)
    independent = systemic < 0
    n_ind = int(independent.sum())
    # a systemic event is one occurrence: its claims share (year, event number)
    key = year[~independent] * (int(systemic.max(initial=0)) + 1) + systemic[~independent]
    uniq, inverse = np.unique(key, return_inverse=True)
    occ = np.empty(len(year), dtype=np.int64)
    occ[independent] = np.arange(n_ind)
    occ[~independent] = n_ind + inverse
    n_occ = n_ind + len(uniq)
    occ_year = np.zeros(n_occ, dtype=np.int64)
    occ_year[occ] = year
    out: dict[str, NDArray[Any]] = {
        "year": occ_year + 1,
        "event_id": np.arange(1, n_occ + 1, dtype=np.int64),
        "total": np.bincount(occ, weights=pay.sum(axis=1), minlength=n_occ),
    }
    for k, code in enumerate(COVERAGES):
        out[code] = np.bincount(occ, weights=pay[:, k], minlength=n_occ)
    return out


def write_result_ord(result: PortfolioResult, out_dir: str | Path) -> list[Path]:
    """The ORD tables of a simulation: EPT and PALT for the total and each coverage, the annual
    YLT, and, when the run kept its claims, the event-level SPLT and SELT."""
    sd = math.sqrt(result.years)
    ylt_cols = result.ylt.columns()
    stderr = result.aal_by_coverage_stderr
    aal: dict[str, tuple[float, float]] = {TOTAL: (result.aal, result.aal_stderr * sd)}
    for code, value in result.aal_by_coverage.items():
        aal[code] = (value, stderr[code] * sd)
    ep = {
        "OEP": {float(rp): v for rp, v in result.oep.items()},
        "AEP": {float(rp): v for rp, v in result.aep.items()},
    }
    if result.events is not None:
        table = occurrence_table(result)
    else:
        table = {"year": ylt_cols["year"], TOTAL: ylt_cols["total"]}
        table.update({code: ylt_cols[code] for code in COVERAGES})
    return write_ord(out_dir, years=result.years, ylt=table, ep=ep, aal=aal)
