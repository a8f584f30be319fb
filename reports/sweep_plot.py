"""The figure of a sweep: one result column over the one or two grid axes (matplotlib, Agg backend).

Each point's value is the mean over its seeds of the column (the seeds whose task gave a number). A point
where some seed diverged is drawn as diverged (grey and hatched, with a legend entry): never as a number. A
point with no number (every task raised, or the column is empty there) is left white and counted in the
legend as "no value".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed, or wanted on a cluster's login node

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.patches import Patch, Rectangle

from maml_theory.reports.sweep import Sweep

MAX_TICKS = 9


def cells(sweep: Sweep, column: str, rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(values, diverged) over the grid's shape: the mean of ``column`` over the seeds that gave a finite
    number (NaN where none did), and whether any seed diverged."""
    shape = tuple(len(v) for v in sweep.grid.values())
    index = {name: {_key(x): i for i, x in enumerate(values)} for name, values in sweep.grid.items()}
    sums, counts = np.zeros(shape), np.zeros(shape)
    diverged = np.zeros(shape, dtype=bool)
    for row in rows:
        at = tuple(index[name][_key(row[name])] for name in sweep.grid)
        if row["status"] == "diverged":
            diverged[at] = True
            continue
        x = row.get(column)
        if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
            sums[at] += x
            counts[at] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return values, diverged


def _key(x: Any) -> str:
    return repr(x)


def _ticks(ax: Any, axis: str, values: list[Any]) -> None:
    step = max(1, math.ceil(len(values) / MAX_TICKS))
    where = list(range(0, len(values), step))
    labels = [f"{values[i]:.3g}" if isinstance(values[i], float) else str(values[i]) for i in where]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(where, labels)


def plot(sweep: Sweep, column: str, rows: list[dict[str, Any]], path: Path) -> str:
    """Draw ``column`` to ``path`` (on a log scale when the sweep's ``log`` names it: values <= 0 have no
    place there and count as no value); returns "" or why nothing was drawn (no such column)."""
    if not any(column in row for row in rows):
        names = sorted({k for row in rows for k in row})
        return f"{column!r} names no result column (the columns: {', '.join(names)})"
    values, diverged = cells(sweep, column, rows)
    log = column in sweep.log
    if log:
        values = np.where(values > 0, values, np.nan)
    names = list(sweep.grid)
    fig, ax = plt.subplots(figsize=(5.6, 4.2), dpi=100)
    legend = []
    if len(names) == 2:
        shown = np.ma.masked_where(diverged | np.isnan(values), values)
        norm = LogNorm() if log else None
        image = ax.imshow(
            shown.T, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest", norm=norm
        )
        fig.colorbar(image, ax=ax, label=column)
        for i, j in zip(*np.nonzero(diverged), strict=True):
            ax.add_patch(_hatched((i - 0.5, j - 0.5)))
        _ticks(ax, "x", sweep.grid[names[0]])
        _ticks(ax, "y", sweep.grid[names[1]])
        ax.set_ylabel(names[1])
    else:
        x = np.arange(len(values))
        ok = ~diverged & ~np.isnan(values)
        ax.plot(x[ok], values[ok], "o-", color="C0", label=column)
        if log:
            ax.set_yscale("log")
        for i in np.nonzero(diverged)[0]:
            ax.add_patch(_hatched((i - 0.5, 0), height=1, transform=ax.get_xaxis_transform()))
        ax.set_xlim(-0.5, len(values) - 0.5)
        _ticks(ax, "x", sweep.grid[names[0]])
        ax.set_ylabel(column)
        legend.append(ax.get_lines()[0])
    ax.set_xlabel(names[0])
    if diverged.any():
        legend.append(_hatched((0, 0), label=f"diverged ({int(diverged.sum())} points)"))
    missing = int((np.isnan(values) & ~diverged).sum())
    if missing:
        legend.append(Patch(facecolor="white", edgecolor="black", label=f"no value ({missing} points)"))
    if legend:
        ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(0, -0.14), ncol=3, frameon=False)
    fixed = ", ".join(f"{k}={v}" for k, v in sweep.fixed.items())
    ax.set_title(f"{sweep.command}: {column} (mean over {len(sweep.seeds)} seeds)\n{fixed}", fontsize=8)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return ""


def _hatched(xy: tuple[float, float], *, height: float = 1.0, **kw: Any) -> Any:
    return Rectangle(xy, 1, height, facecolor="0.75", edgecolor="0.35", hatch="///", linewidth=0, **kw)
