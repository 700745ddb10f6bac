"""From what the command line names (registry references, or ONNX files given directly) to a
:class:`~.spec.ServeConfig`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.serving.inputs import describe_onnx
from neuralforge_desktop.core.serving.spec import ServeConfig, ServedVersion, TrafficPlan, split_ref

DEFAULT_FILE_VERSION = "1"


def parse_onnx_options(values: list[str], model_ref: str) -> dict[str, Path]:
    """``--onnx FILE`` (the served reference's version, or 1) or ``--onnx VERSION=FILE``, repeatable."""
    _, selector = split_ref(model_ref, "model")
    files: dict[str, Path] = {}
    for value in values:
        version, eq, file = value.partition("=")
        if not eq:
            version, file = selector or DEFAULT_FILE_VERSION, value
        version, file = version.strip(), file.strip()
        if not version or not file:
            raise UserError(f"--onnx: expected FILE or VERSION=FILE, got {value!r}")
        if version in files:
            raise UserError(f"--onnx: version {version} is given twice ({files[version]} and {file})")
        files[version] = Path(file).expanduser()
    return files


def resolve_plan(plan: TrafficPlan, *, onnx_files: dict[str, Path] | None = None,
                 store_path: Path | None = None, **settings: Any) -> ServeConfig:
    """Each reference of the plan → a served version: from ``onnx_files`` (version label → file) when given,
    else from the model registry in the store. ``settings`` are the other :class:`ServeConfig` fields."""
    locate = _from_files(onnx_files) if onnx_files else _from_registry(store_path)
    model_name, _ = split_ref(plan.refs[0], "model")
    versions: list[ServedVersion] = []
    weights: dict[str, float] = {}
    for ref, percent in zip(plan.refs, plan.percents, strict=True):
        label, path = locate(ref)
        if label in weights:
            raise UserError(f"{ref} is version {label}, which the split already names: list each version once")
        input_spec, outputs = describe_onnx(path)
        versions.append(ServedVersion(label=label, onnx_path=path, input=input_spec, output_names=outputs))
        weights[label] = float(percent)
    return ServeConfig(model_name=model_name, versions=tuple(versions), weights=weights,
                       primary=versions[0].label, **settings)


def _from_files(files: dict[str, Path]) -> Callable[[str], tuple[str, Path]]:
    def locate(ref: str) -> tuple[str, Path]:
        _, selector = split_ref(ref, "model")
        label = selector or next(iter(files))  # NAME alone: the first file given
        if label not in files:
            given = ", ".join(f"{v}={p}" for v, p in files.items())
            raise UserError(f"{ref}: no --onnx file for this version (given: {given}); "
                            "use --onnx VERSION=FILE for each version served")
        return label, files[label]

    return locate


def _from_registry(store_path: Path | None) -> Callable[[str], tuple[str, Path]]:
    def locate(ref: str) -> tuple[str, Path]:
        from neuralforge_desktop.core.registry import resolve
        from neuralforge_desktop.core.store.sqlite_store import Store

        with Store(store_path) as store:
            model_version = resolve(store, ref)
        return str(model_version.version), Path(model_version.onnx_path)

    return locate
