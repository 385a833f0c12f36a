"""Exceedance-probability curves of a simulation as PNG and SVG (matplotlib, no display needed).

The figure is built on `matplotlib.figure.Figure` with the Agg canvas: no pyplot, no global
backend switch, nothing left open between calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter


def _euros(value: float, _pos: object = None) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f} M€".replace(",", "\u202f")
    if abs(value) >= 1e3:
        return f"{value / 1e3:,.0f} k€".replace(",", "\u202f")
    return f"{value:,.0f} €"


def plot_ep_curves(
    ep_oep: Mapping[float, float],
    ep_aep: Mapping[float, float],
    out_dir: str | Path,
    *,
    title: str = "Exceedance probability: loss by return period",
    stem: str = "ep_curves",
) -> list[Path]:
    """Write the OEP and AEP curves (loss against return period, log x) as ``<stem>.png`` and
    ``<stem>.svg`` in `out_dir`; returns the two paths."""
    if not ep_oep and not ep_aep:
        raise ValueError("ep_oep and ep_aep: at least one curve needs points")
    for name, curve in (("ep_oep", ep_oep), ("ep_aep", ep_aep)):
        if any(not rp > 0 for rp in curve):
            raise ValueError(f"{name}: return periods must be > 0 (the x axis is logarithmic)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(8, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, curve, style in (
        ("AEP (annual aggregate)", ep_aep, "o-"),
        ("OEP (largest event)", ep_oep, "s--"),
    ):
        if curve:
            points = sorted(curve.items())
            ax.plot(
                [p[0] for p in points], [p[1] for p in points], style, label=label, markersize=4
            )
    ax.set_xscale("log")
    ax.set_xlabel("Return period (years)")
    ax.set_ylabel("Loss")
    ax.yaxis.set_major_formatter(FuncFormatter(_euros))
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path)
    return paths
