"""Quantisation-aware fine-tuning of a convolutional classifier with ``torch.ao`` (FX graph mode), then an int8
ONNX model.

The parent's model is traced with fake-quantisation modules (``prepare_qat_fx``, the x86 backend's default
mapping: per-channel int8 weights, convolutions fused with their ReLU and batch norm), trained for
``finetune_epochs`` on the run's training split at a tenth of the run's learning rate so the weights adapt to
int8 rounding, converted to torch's quantised modules (``convert_fx``) and exported to ONNX, where the quantised
convolutions and linear layers become QuantizeLinear/DequantizeLinear pairs around int8 weights, which onnxruntime
runs as int8 kernels. ``torch.ao``'s FX quantisation is deprecated in favour of torchao's PT2E flow, whose
quantised programs the ONNX exporter does not yet lower to QDQ; the FX flow still ships with torch and exports.

The graph's model takes its inputs as ``*inputs``, which FX cannot trace; a one-input wrapper gives it a fixed
signature, so quantisation-aware training takes graphs with one data input.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.optimize.flow import export_float, finish, place_file, work_dir
from neuralforge_desktop.core.optimize.lineage import ParentRun, child_run, load_parent
from neuralforge_desktop.core.optimize.options import OptimizeOptions
from neuralforge_desktop.core.optimize.result import OptimizeResult
from neuralforge_desktop.core.store.sqlite_store import Store

METHOD = "qat-int8"
CONVOLUTIONS = ("Conv1d", "Conv2d", "Conv3d")
LR_FACTOR = 0.1  # fine-tuning starts from trained weights: a tenth of the run's learning rate
ONNX_OPSET = 17


def check_convolutional(graph: Graph) -> str:
    """The id of the graph's one data input; a graph that is not a one-input convolutional network is refused."""
    from neuralforge_desktop.core.catalog.node_params import is_data_input

    inputs = [n.id for n in graph.input_nodes if is_data_input(n)]
    convolutions = [path for path, node in graph.walk() if node.type in CONVOLUTIONS]
    if len(inputs) != 1 or not convolutions:
        found = f"{len(inputs)} data inputs and {len(convolutions)} convolutions"
        raise UserError(f"{METHOD} fine-tunes convolutional networks with one data input (the CNN templates); "
                        f"graph '{graph.name}' has {found}. Use quantize-static-int8 for other models")
    return inputs[0]


def optimize_qat_int8(store: Store, run_id: str, options: OptimizeOptions) -> OptimizeResult:
    options.validate()
    if options.runtime != "onnxruntime":
        raise UserError(f"{METHOD} makes an onnxruntime model; for LiteRT use quantize-static-int8 --runtime litert")
    parent = load_parent(store, run_id)
    input_id = check_convolutional(parent.graph)
    settings = {"method": METHOD, "runtime": options.runtime, "finetune_epochs": options.finetune_epochs}
    with child_run(store, parent, METHOD, settings) as (new_run, folder), work_dir(options, folder) as (work, out):
        before = export_float(parent, work / f"{parent.graph.name}-fp32.onnx", options.runtime)
        after = work / f"{parent.graph.name}-int8-qat.onnx"
        notes = finetune_and_export(parent, input_id, options, after, lambda loss, epoch: store.log_metric(
            new_run, "train/loss", loss, epoch))
        files = {"before": place_file(before, out), "after": place_file(after, out)}
        return finish(store, parent, new_run, options, METHOD, files, notes, settings)
    raise AssertionError("unreachable")  # the block returns or raises; mypy cannot tell


def finetune_and_export(parent: ParentRun, input_id: str, options: OptimizeOptions, output: Path,
                        log_loss: Any) -> list[str]:
    """Fine-tune with fake quantisation, convert to int8 and export to ``output``; notes on what was done."""
    import torch
    from torch.ao.quantization import get_default_qat_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_qat_fx

    from neuralforge_desktop.core.exporters.source import load_model
    from neuralforge_desktop.core.optimize.measure import run_dataset
    from neuralforge_desktop.core.training.config import TrainConfig
    from neuralforge_desktop.core.training.setup import build_setup

    graph = parent.graph.copy()
    bundle, _ = run_dataset(graph, parent.config)
    config = TrainConfig.from_json(dict(parent.config))
    setup = build_setup(graph, bundle)  # the loss training used, and which output it reads
    model = load_model(graph, parent.weights)
    engine = "x86" if "x86" in torch.backends.quantized.supported_engines else "qnnpack"
    torch.backends.quantized.engine = engine
    torch.manual_seed(config.seed)
    x = torch.from_numpy(bundle.train.x)
    y = torch.from_numpy(bundle.train.y).to(torch.int64)
    with warnings.catch_warnings():  # torch.ao's deprecation notices (see the module docs)
        warnings.simplefilter("ignore")
        prepared = prepare_qat_fx(one_input(model).train(), get_default_qat_qconfig_mapping(engine),
                                  example_inputs=(x[:2],))
        if options.finetune_epochs == 0:  # no training: the observers still need the activations' ranges
            with torch.no_grad():
                for start in range(0, min(len(x), options.calibration_samples), config.batch_size):
                    prepared(x[start:start + config.batch_size])
        optimizer = torch.optim.Adam(prepared.parameters(), lr=config.lr * LR_FACTOR)
        for epoch in range(options.finetune_epochs):
            order = torch.randperm(len(x))
            total, count = 0.0, 0
            for start in range(0, len(x), config.batch_size):
                index = order[start:start + config.batch_size]
                out = prepared(x[index])
                out = out[setup.output_index] if isinstance(out, tuple) else out
                loss = setup.loss_fn(out, y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total, count = total + float(loss) * len(index), count + len(index)
            log_loss(total / max(count, 1), epoch + 1)
        prepared.eval()
        quantized = convert_fx(prepared)
        outputs = list(model.output_names)
        torch.onnx.export(quantized, (x[:2],), os.fspath(output), input_names=[input_id], output_names=outputs,
                          dynamic_axes={name: {0: "N"} for name in (input_id, *outputs)},
                          opset_version=ONNX_OPSET, dynamo=False)
    _add_metadata(output, parent, input_id)
    trained = (f"fine-tuned {options.finetune_epochs} epoch(s) on {len(x)} training examples" if
               options.finetune_epochs else "not fine-tuned (--finetune-epochs 0): observers calibrated only")
    return [f"{trained} with fake quantisation (torch.ao, {engine} backend), exported as int8 QDQ ONNX"]


def _add_metadata(path: Path, parent: ParentRun, input_id: str) -> None:
    import onnx

    from neuralforge_desktop.core.exporters.onnx import INPUTS_KEY

    model = onnx.load(os.fspath(path))
    props = {"neuralforge.graph": parent.graph.name, "neuralforge.run_id": parent.run.id,
             "neuralforge.precision": "int8 (quantisation-aware)", INPUTS_KEY: json.dumps([input_id])}
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))


def _one_input_class() -> type:
    from torch import nn

    class OneInput(nn.Module):
        """The graph's model behind a one-argument ``forward``, which FX can trace."""

        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner(x)

    return OneInput


def one_input(model: Any) -> Any:
    return _one_input_class()(model)
