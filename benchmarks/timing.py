"""Wall-clock timing shared by the benchmarks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``run``: the one least disturbed by the machine."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
