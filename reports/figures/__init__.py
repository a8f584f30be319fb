"""The figures of specs R (§6) and L (§5), each made from a TOML config that records every parameter and the
seed; the PDF (vector, for the report) and the PNG (for the README) carry that config in their metadata.

``build(names, out_dir, quick=False, progress=None)`` makes them; ``maml-theory figures`` is its command line.
A figure module holds ``compute(config, progress) -> data`` (every number, from the project's simulators and
closed forms), ``draw(data, config) -> Figure`` and ``caption(data, config) -> str``.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import matplotlib

from maml_theory.numerics import validation as v
from maml_theory.reports.figures import config as configs
from maml_theory.reports.figures.progress import Progress

FIGURES: dict[str, str] = {
    "r-figure1": "distance_curves",
    "r-diversity": "task_diversity",
    "r-contraction": "contraction",
    "l-gain-vs-r": "gain_vs_separation",
    "l-heatmap": "gain_heatmap",
    "l-clusters": "clusters",
    "l-gain-vs-m": "gain_vs_samples",
    "l-gain-vs-alpha-train": "gain_vs_alpha_train",
    "r-baselines": "sample_cost",
}
"""Figure name → its module in this package, imported when the figure is drawn (the modules import the
theories, seconds of sympy that a command drawing one figure, or none, should not pay for); the config of a
figure is ``configs/<name>.toml``."""

NAMES = tuple(FIGURES)

PNG_DPI = 150

STYLE = {"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8}
"""Applied only while a figure is drawn and saved (``rc_context``), never to the caller's matplotlib state."""


@dataclass(frozen=True)
class FigureResult:
    """One figure written: its name, files, caption (a LaTeX-safe plain sentence naming the instance and the
    seed), the config it was made from (as embedded in both files) and the seconds it took."""

    name: str
    title: str
    pdf: Path
    png: Path
    caption: str
    config: dict[str, Any]
    seconds: float


def check_names(names: Sequence[str] | None) -> list[str]:
    """``names`` (None: every figure, in registry order) if each is a figure name, else ParameterError
    naming ``only``."""
    if names is None:
        return list(NAMES)
    for name in names:
        if name not in FIGURES:
            raise v.ParameterError("only", f"one of {', '.join(NAMES)}", name)
    return list(dict.fromkeys(names))


def output_folder(path: Path, name: str = "out") -> Path:
    """``path`` as a folder this process can write into: created with its parents where missing, and a
    scratch file made and removed in it, so that a command stops before its work rather than after it. Else
    ParameterError naming ``name``, with the system's reason (read-only, a file in the way, no such place)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        reason = f"{e.strerror}: {e.filename}" if e.filename else str(e)
        raise v.ParameterError(
            name, f"a folder that can be created and written ({reason})", str(path)
        ) from None
    return path


def make(name: str, out_dir: Path, quick: bool = False, progress: bool | None = None) -> FigureResult:
    """Compute, draw and save figure ``name`` into ``out_dir`` as ``<name>.pdf`` and ``<name>.png``."""
    start = time.perf_counter()
    module: ModuleType = importlib.import_module(f"{__name__}.{FIGURES[name]}")
    config = configs.load(name, quick)
    data = module.compute(config, Progress(name, progress))
    text = configs.dumps(config)
    caption = module.caption(data, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf, png = out_dir / f"{name}.pdf", out_dir / f"{name}.png"
    with matplotlib.rc_context(STYLE):
        fig = module.draw(data, config)
        # No creation date and no software version: the same config gives the same bytes.
        fig.savefig(
            pdf,
            metadata={"Title": config["title"], "Subject": caption, "Keywords": text, "CreationDate": None},
        )
        fig.savefig(
            png,
            dpi=PNG_DPI,
            metadata={"Title": config["title"], "Description": text, "Comment": caption, "Software": None},
        )
    return FigureResult(name, config["title"], pdf, png, caption, config, time.perf_counter() - start)


def build(
    names: Sequence[str] | None, out_dir: Path, quick: bool = False, progress: bool | None = None
) -> list[FigureResult]:
    """Write the figures ``names`` (None: all) into ``out_dir``; ``quick`` uses each config's ``[quick]``
    variant; ``progress`` draws a bar on stderr (None: when stderr is a terminal). The names and the folder
    are checked before any figure is computed."""
    names = check_names(names)
    out_dir = output_folder(Path(out_dir))
    return [make(name, out_dir, quick, progress) for name in names]
