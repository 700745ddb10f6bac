"""The export support matrix against the truth: every layer's catalog examples, each built as a one-layer model
(``layer_harness``), converted by every export format of this installation at every precision it offers.

Where the matrix says a target takes an example, it must convert: a TFLite file must run in the LiteRT
interpreter, use builtin ops only and match torch within the precision's tolerance; a Core ML package must pass
its spec check; an ONNX file must match torch in onnxruntime. To keep the converters' fixed cost per file down,
the examples a target takes of one layer are converted together, as one model whose inputs and outputs are the
examples' side by side (``e0_x``, ``e1_x`` …), so a difference still names its example; the weight-only
precisions are made from the fp32 file just converted, by the same functions the formats' ``convert`` calls.
That takes about three minutes. The two precisions that need a conversion of their own and cost seconds per layer
(TFLite's calibrated int8, Core ML's fp16 program) are converted for each layer's first example by a second test,
marked ``exhaustive`` and run only when asked for (``pytest -m exhaustive``, three more minutes).

Where the matrix says a target does not take an example, converting it must really fail (or differ from torch),
at the limit's first precision: those cases run one by one in a child process, since some converters crash
instead of raising (the pre-flight check keeps such nodes from ever reaching a converter in the app).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
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
SOURCE = "fp32"  # the file the weight-only precisions are made from
DERIVED = {("tflite", "fp16"), ("tflite", "int8-weights"), ("coreml", "int8-weights")}
OWN_CONVERSION = {("tflite", "int8"), ("coreml", "fp16")}  # the exhaustive test's, for the first example


def planned(layer, target: str, precision: str) -> list[int]:
    """The examples converted at this target and precision: those it takes (the first alone, if any, for the
    precisions that need their own conversion)."""
    indices = [0] if (target, precision) in OWN_CONVERSION else range(len(layer.examples))
    return [i for i in indices if not refused(layer, i, target, precision)]


def refused(layer, index: int, target: str, precision: str) -> bool:
    example = layer.examples[index]
    inferred = infer(layer, example.inputs, example.params)
    return any(limit.applies(target, precision, inferred.params, inferred.inputs) for limit in layer.export_limits)


class _SideBySide(torch.nn.Module):
    """Several one-layer models as one: their inputs and outputs one after the other."""

    def __init__(self, models: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.parts = torch.nn.ModuleList(models)
        self.arity = [len(m.input_names) for m in models]

    def forward(self, *inputs):
        outs, start = [], 0
        for part, arity in zip(self.parts, self.arity, strict=True):
            out = part(*inputs[start:start + arity])
            start += arity
            outs.extend(out if isinstance(out, tuple) else (out,))
        return tuple(outs)


def examples_job(layer, indices: Sequence[int], target: str, precision: str, folder: Path
                 ) -> tuple[ConvertJob, list[torch.Tensor]]:
    models, tensors, inputs, outputs = [], [], [], []
    for index in indices:
        example = layer.examples[index]
        torch.manual_seed(index)
        model = build_model(layer_graph(layer, example.inputs, example.params)).eval()
        models.append(model)
        tensors.extend(example_tensors(example).values())
        inputs += [f"e{index}_{name}" for name in model.input_names]
        outputs += [f"e{index}_{name}" for name in model.output_names]

    def representative():
        for seed in CALIBRATION_SEEDS:
            yield tuple(t.numpy() for i in indices for t in example_tensors(layer.examples[i], seed=seed).values())

    output = folder / f"{layer.type}-{'-'.join(map(str, indices))}-{precision}{FORMATS[target].suffix}"
    job = ConvertJob(model=_SideBySide(models).eval(), example=tuple(tensors), input_names=inputs,
                     output_names=outputs, output=output, precision=precision, representative=representative)
    return job, tensors


def verify(job: ConvertJob, tensors: Sequence[torch.Tensor], target: str) -> list[str]:
    """What is wrong with the converted file (empty when it passes), naming the example of each problem."""
    fmt = FORMATS[target]
    problems = []
    if fmt.run is None:
        assert fmt.check is not None
        try:
            fmt.check(job.output, job)
        except ExportError as exc:
            problems.append(f"spec check failed: {exc}")
        return problems
    with torch.no_grad():
        expected = [t.numpy() for t in job.model(*tensors)]
    got = fmt.run(job.output, [t.numpy() for t in tensors])
    for name, want, have in zip(job.output_names, expected, got, strict=True):
        result = diff([want], [np.asarray(have)])
        if not result.within(fmt.tolerances[job.precision]):
            problems.append(f"{name} differs from torch beyond the {job.precision} tolerance: {result}")
    if target == "tflite":
        from neuralforge_desktop.core.exporters.tflite import op_histogram

        custom = [op for op in op_histogram(job.output.read_bytes()) if op.startswith("CUSTOM")]
        if custom:
            problems.append(f"needs ops beyond TFLite's builtins: {custom}")
    return problems


def convert(job: ConvertJob, target: str, source: Path | None) -> None:
    """Convert as the format does; the weight-only precisions from ``source``, the fp32 file of the same examples
    when there is one (by the functions ``convert`` runs, without converting the model again)."""
    if (target, job.precision) not in DERIVED or source is None:
        FORMATS[target].convert(job)
    elif target == "tflite":
        from neuralforge_desktop.core.exporters.tflite import quantize_weights

        job.output.write_bytes(quantize_weights(source.read_bytes(), job.precision))
    else:
        import coremltools as ct

        from neuralforge_desktop.core.exporters.coreml import quantize_weights

        quantize_weights(ct.models.MLModel(str(source), skip_model_load=True)).save(str(job.output))


def _check_layer(layer, folder: Path, own_conversion: bool) -> None:
    problems = []
    for target, fmt in FORMATS.items():
        made: dict[tuple[int, ...], Path] = {}  # examples → their fp32 file
        for precision in sorted(fmt.precisions, key=lambda p: p != SOURCE):  # fp32 first
            if ((target, precision) in OWN_CONVERSION) != own_conversion:
                continue
            indices = planned(layer, target, precision)
            if not indices:
                continue
            job, tensors = examples_job(layer, indices, target, precision, folder)
            where = f"{fmt.title} {precision} (examples {indices})"
            try:
                convert(job, target, made.get(tuple(indices)))
            except ExportError as exc:
                problems.append(f"{where}: conversion failed: {exc}")
                continue
            if precision == SOURCE:
                made[tuple(indices)] = job.output
            problems += [f"{where}: {problem}" for problem in verify(job, tensors, target)]
    assert not problems, f"{layer.type}, which the matrix says these targets take: {problems}"


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.type)
def test_supported_examples_convert_and_match(tmp_path, layer):
    _check_layer(layer, tmp_path, own_conversion=False)


@pytest.mark.exhaustive
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.type)
def test_first_example_at_int8_and_as_fp16_program(tmp_path, layer):
    _check_layer(layer, tmp_path, own_conversion=True)


def _refused_cases() -> list[tuple[str, int, str, str]]:
    """Each example a limit refuses, at the limit's first precision (the format's first when it names none: a
    limit without precisions is the same failure at each)."""
    cases = []
    for layer in LAYERS:
        for limit in layer.export_limits:
            if limit.target not in FORMATS:
                continue
            precision = (limit.precisions or FORMATS[limit.target].precisions)[0]
            for i in range(len(layer.examples)):
                case = (layer.type, i, limit.target, precision)
                if refused(layer, i, limit.target, precision) and case not in cases:
                    cases.append(case)
    return cases


REFUSED = _refused_cases()

_CHILD = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_export_catalog as t
from neuralforge_desktop.core.catalog.registry import catalog
for line in sys.stdin:
    kind, index, target, precision = json.loads(line)
    print(json.dumps(["start", kind, index, target, precision]), flush=True)
    job, tensors = t.examples_job(catalog().get(kind), [index], target, precision, Path(tempfile.mkdtemp()))
    try:
        t.FORMATS[target].convert(job)
        problems = t.verify(job, tensors, target)
        outcome = "failed: " + "; ".join(problems) if problems else "converted and verified"
    except t.ExportError as exc:
        outcome = "failed: " + str(exc)
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


@pytest.mark.skipif(not REFUSED, reason="the catalog declares no export limits that the examples meet")
def test_declared_limits_really_fail():
    outcomes = _run_refused(REFUSED)
    converted = [case for case in REFUSED if not outcomes[case].startswith("failed")]
    assert not converted, f"declared unsupported but converted and verified (drop or narrow the limit): {converted}"
