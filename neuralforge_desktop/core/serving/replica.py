"""The model replica: one ONNX version run by onnxruntime inside a Ray Serve replica, with request batching.

Imported only when an application is built (it needs Ray). The ONNX file travels as bytes in the deployment's
arguments, so replicas on other nodes of a cluster need no shared file system.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ray import serve

from neuralforge_desktop.core.serving.spec import InputSpec


class ModelReplica:
    """Runs one version. ``predict`` takes one request's batch (N, *shape) and returns its outputs; requests
    that arrive within the batch wait are run together in one onnxruntime call."""

    def __init__(self, label: str, onnx_bytes: bytes, input_spec: InputSpec, output_names: tuple[str, ...],
                 max_batch_size: int, batch_wait_s: float, intra_op_threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        # one thread per replica: replicas, not threads, are what scales (each replica asks Ray for one CPU)
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self._label = label
        self._input = input_spec
        self._outputs = list(output_names)
        batched: Any = self.predict_batched  # Serve's batch wrapper, which the type of the method hides
        batched.set_max_batch_size(max_batch_size)
        batched.set_batch_wait_timeout_s(batch_wait_s)

    async def predict(self, batch: np.ndarray) -> list[np.ndarray]:
        """Outputs for one request's instances (one array per model output, first axis = instance)."""
        result: list[np.ndarray] = await self.predict_batched(batch)
        return result

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def predict_batched(self, batches: list[np.ndarray]) -> list[list[np.ndarray]]:
        sizes = [len(b) for b in batches]
        outputs = self._run(np.concatenate(batches, axis=0))
        answers, start = [], 0
        for size in sizes:
            answers.append([out[start:start + size] for out in outputs])
            start += size
        return answers

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        fixed = self._input.batch
        if fixed is None:
            return list(self._session.run(self._outputs, {self._input.name: batch}))
        # a file exported with a fixed batch size: run in chunks of that size, the last one padded with zeros
        parts: list[list[np.ndarray]] = []
        for start in range(0, len(batch), fixed):
            chunk = batch[start:start + fixed]
            real = len(chunk)
            if real < fixed:
                pad = np.zeros((fixed - real, *chunk.shape[1:]), dtype=chunk.dtype)
                chunk = np.concatenate([chunk, pad], axis=0)
            parts.append([out[:real] for out in self._session.run(self._outputs, {self._input.name: chunk})])
        return [np.concatenate([p[i] for p in parts], axis=0) for i in range(len(self._outputs))]

    def describe(self) -> dict[str, Any]:
        return {"version": self._label, "input": self._input.name, "outputs": self._outputs}
