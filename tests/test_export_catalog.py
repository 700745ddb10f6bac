"""The export support matrix against the truth: every layer's catalog examples, each built as a one-layer model
(``layer_harness``), converted by every export format of this installation.

Where the matrix says a target takes the layer, the conversion must succeed: a TFLite file must run in the
LiteRT interpreter, use builtin ops only and match torch within the precision's tolerance; a Core ML package
must pass its spec check; an ONNX file must match torch in onnxruntime. Every example is converted at each
format's first precision (fp32); the other precisions are converted for each layer's first example. Where the
matrix says a target does not take it, converting must really fail: those cases run in a child process, since
some converters crash instead of raising (the pre-flight check keeps them from ever being converted in the app).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralforge_desktop.core.build.torch_builder import build_model
from neuralforge_desktop.core.catalog.registry import catalog
from neuralforge_desktop.core.exporters.base import ConvertJob, ExportError
from neuralforge_desktop.core.exporters.support import STRUCTURAL, exporters

from export_cases import diff
from layer_harness import example_tensors, infer, layer_graph

pytestmark = pytest.mark.slow

LAYERS = [layer for layer in catalog() if layer.type not in STRUCTURAL and not layer.is_loss]
FORMATS = {fmt.name: fmt for fmt in exporters()}
CALIBRATION_SEEDS = range(1, 5)


def _case_id(case: tuple) -> str:
    return f"{case[0].type}-{case[1]}"


def _combos(index: int) -> list[tuple[str, str]]:
    """(format, precision) pairs an example is converted at: all of them for a layer's first example."""
    return [(name, precision) for name, fmt in FORMATS.items()
            for precision in (fmt.precisions if index == 0 else fmt.precisions[:1])]


def _limits(layer, example, target, precision):
    inferred = infer(layer, example.inputs, example.params)
    return [limit for limit in layer.export_limits
            if limit.applies(target, precision, inferred.params, inferred.inputs)]


def _job(layer, example, target, precision, folder: Path) -> tuple[ConvertJob, list]:
    torch.manual_seed(0)
    model = build_model(layer_graph(layer, example.inputs, example.params)).eval()
    tensors = list(example_tensors(example).values())

    def representative():
        for seed in CALIBRATION_SEEDS:
            yield tuple(t.numpy() for t in example_tensors(example, seed=seed).values())

    output = folder / f"{layer.type}-{target}-{precision}{FORMATS[target].suffix}"
    job = ConvertJob(model=model, example=tuple(tensors), input_names=list(model.input_names),
                     output_names=list(model.output_names), output=output, precision=precision,
                     representative=representative)
    return job, tensors


CASES = [(layer, i) for layer in LAYERS for i in range(len(layer.examples))]
COMBOS = [(layer, i, t, p) for layer, i in CASES for t, p in _combos(i)]
SUPPORTED = [combo for combo in COMBOS if not _limits(combo[0], combo[0].examples[combo[1]], *combo[2:])]
REFUSED = [combo for combo in COMBOS if _limits(combo[0], combo[0].examples[combo[1]], *combo[2:])]


def attempt(layer, index: int, target: str, precision: str, folder: Path) -> str:
    """Convert one example to one target: "" when it converted and verified, else what went wrong."""
    example = layer.examples[index]
    fmt = FORMATS[target]
    job, tensors = _job(layer, example, target, precision, folder)
    try:
        fmt.convert(job)
    except ExportError as exc:
        return f"conversion failed: {exc}"
    if fmt.run is None:
        assert fmt.check is not None
        try:
            fmt.check(job.output, job)
        except ExportError as exc:
            return f"spec check failed: {exc}"
    else:
        with torch.no_grad():
            expected = job.model(*tensors)
        expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
        result = diff(expected, [np.asarray(g) for g in fmt.run(job.output, [t.numpy() for t in tensors])])
        if not result.within(fmt.tolerances[precision]):
            return f"differs from torch beyond the {precision} tolerance: {result}"
    if target == "tflite":
        from neuralforge_desktop.core.exporters.tflite import op_histogram

        custom = [op for op in op_histogram(job.output.read_bytes()) if op.startswith("CUSTOM")]
        if custom:
            return f"needs ops beyond TFLite's builtins: {custom}"
    return ""


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_supported_examples_convert_and_match(tmp_path, case):
    layer, index = case
    problems = [f"{FORMATS[t].title} {p}: {problem}" for layer_, index_, t, p in SUPPORTED
                if layer_ is layer and index_ == index and (problem := attempt(layer, index, t, p, tmp_path))]
    assert not problems, f"{layer.type} example {index}, which the matrix says is supported: {problems}"


_CHILD = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_export_catalog as t
from neuralforge_desktop.core.catalog.registry import catalog
for line in sys.stdin:
    kind, index, target, precision = json.loads(line)
    layer = catalog().get(kind)
    print(json.dumps(["start", kind, index, target, precision]), flush=True)
    problem = t.attempt(layer, index, target, precision, Path(tempfile.mkdtemp()))
    outcome = "failed: " + problem if problem else "converted and verified"
    print(json.dumps(["done", kind, index, target, precision, outcome]), flush=True)
"""


def _run_refused(cases: list[tuple[str, int, str, str]]) -> dict[tuple, str]:
    """Convert and verify each case in a child process; a crash counts as a failure and the child is restarted
    after it."""
    outcomes: dict[tuple, str] = {}
    todo = list(cases)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    tests = str(Path(__file__).parent)
    while todo:
        feed = "".join(json.dumps(list(case)) + "\n" for case in todo)
        proc = subprocess.run([sys.executable, "-c", _CHILD.format(tests=tests)], input=feed, text=True,
                              capture_output=True, env=env, timeout=600)
        started = None
        for line in proc.stdout.splitlines():
            if not line.startswith("["):
                continue
            record = json.loads(line)
            if record[0] == "start":
                started = tuple(record[1:5])
            elif record[0] == "done":
                outcomes[tuple(record[1:5])] = record[5]
                started = None
        if started is not None:  # the converter took the child process down with it
            outcomes[started] = f"failed: the converter crashed (exit status {proc.returncode})"
        elif proc.returncode != 0:
            raise AssertionError(f"the child process failed: {proc.stderr[-2000:]}")
        todo = [case for case in todo if case not in outcomes]
    return outcomes


@pytest.mark.skipif(not REFUSED, reason="the catalog declares no export limits")
def test_declared_limits_really_fail():
    cases = [(layer.type, index, target, precision) for layer, index, target, precision in REFUSED]
    outcomes = _run_refused(cases)
    converted = [case for case in cases if not outcomes[case].startswith("failed")]
    assert not converted, f"declared unsupported but converted (drop or narrow the limit): {converted}"
