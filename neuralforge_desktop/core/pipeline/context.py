"""What a stage is given (its resolved inputs and options, the store, its own folder) and what it gives back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.pipeline.spec import _REFERENCE_BODY, REFERENCE, PipelineSpec, StageSpec


class StageFailure(UserError):
    """A stage could not do its work; the message says why (and is recorded as the stage's failure)."""


@dataclass
class StageContext:
    pipeline: PipelineSpec
    pipeline_id: str
    stage: StageSpec
    inputs: dict[str, Any]  # references resolved
    options: dict[str, Any]
    store: Any  # the Store
    work_dir: Path  # this stage's own folder (made for it)
    say: Callable[[str], None] = lambda text: None

    def path_input(self, key: str) -> Path:
        """An input that names a file: relative paths are read from the pipeline file's folder."""
        return (self.pipeline.base_dir / str(self.inputs[key])).expanduser()


@dataclass
class StageResult:
    outputs: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)  # files the stage wrote


def resolve(stage: StageSpec, values: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``values`` with every ``${stage.output}`` replaced by that earlier stage's output: a value that is one
    reference keeps the output's type, references inside text are written into it."""
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        if not isinstance(value, str) or not REFERENCE.search(value):
            resolved[key] = value
            continue
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            resolved[key] = _lookup(stage, key, whole.group(1), outputs)
        else:
            resolved[key] = REFERENCE.sub(_writer(stage, key, outputs), value)
    return resolved


def _writer(stage: StageSpec, key: str, outputs: Mapping[str, Mapping[str, Any]]) -> Callable[[Any], str]:
    return lambda match: str(_lookup(stage, key, match.group(1), outputs))


def _lookup(stage: StageSpec, key: str, body: str, outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    match = _REFERENCE_BODY.fullmatch(body.strip())
    assert match is not None  # the file was checked when it was loaded
    source, name = match.group(1), match.group(2)
    given = outputs.get(source, {})
    if name not in given:
        listed = ", ".join(sorted(given)) or "none"
        raise StageFailure(f"stage '{stage.name}': key '{key}' refers to ${{{source}.{name}}}, but stage '{source}' "
                           f"gave no output '{name}' (its outputs: {listed})")
    return given[name]
