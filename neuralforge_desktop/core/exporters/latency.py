"""Latency of an exported model on this CPU beside torch eager, measured side by side in one process.

For each batch size: one warm-up call of each, then rounds in which torch and the exported file each run the
same inputs once, until the time budget is spent (at least ``min_runs`` rounds, at most ``max_runs``). Taking
turns spreads any disturbance from other programs over both; the figures are the medians. How many cores other
programs used meanwhile is recorded with them: on a busy machine torch's threads wait for each other (see
``measure/cpu_busy.py``) far more than onnxruntime's, and the ratio says more about the load than the models.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def measure(model: Any, call: Callable[[Sequence[Any]], Any], make_inputs: Callable[[int], tuple[Any, ...]],
            batches: Sequence[int], *, budget: float = 2.0, min_runs: int = 3, max_runs: int = 50,
            progress: Callable[[float, str], None] | None = None) -> list[dict[str, Any]]:
    """Per batch size: the medians in ms of torch eager (``model``, eval, inference mode) and of ``call``
    (the exported file's session, on the same inputs as numpy), their ratio and the rounds run."""
    import torch

    from neuralforge_desktop.core.measure.cpu_busy import CpuMeter, is_busy

    results = []
    for i, batch in enumerate(batches):
        if progress is not None:
            progress(i / max(len(batches), 1), f"timing batch {batch}")
        inputs = make_inputs(batch)
        arrays = [t.numpy() for t in inputs]
        torch_ms: list[float] = []
        export_ms: list[float] = []
        with torch.inference_mode():
            model(*inputs)  # warm-up: first calls allocate and pick kernels
            call(arrays)
            meter = CpuMeter().start()
            start = time.perf_counter()
            while len(torch_ms) < max_runs and (len(torch_ms) < min_runs or time.perf_counter() - start < budget):
                t0 = time.perf_counter()
                model(*inputs)
                t1 = time.perf_counter()
                call(arrays)
                t2 = time.perf_counter()
                torch_ms.append((t1 - t0) * 1e3)
                export_ms.append((t2 - t1) * 1e3)
        others = meter.others()
        torch_median, export_median = statistics.median(torch_ms), statistics.median(export_ms)
        results.append({"batch": batch, "export_ms": round(export_median, 4), "torch_ms": round(torch_median, 4),
                        "ratio": round(export_median / torch_median, 4) if torch_median else None,
                        "runs": len(torch_ms), "other_cores": None if others is None else round(others, 2),
                        "busy": is_busy(others)})
    return results
