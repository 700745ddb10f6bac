"""The pipeline file: YAML read with ``yaml.safe_load`` (data only, never objects), checked whole before anything
runs. Every error names the stage and the key at fault::

    name: mnist-release
    stages:
      - name: train
        kind: train
        inputs: {graph: mnist.nfg, dataset: mnist-10k}
        options: {epochs: 1}
      - name: validate
        kind: validate
        inputs: {run: "${train.run_id}"}
        pass: ["val/acc >= 0.9"]

A stage has a ``name`` (letters, digits, ``_`` and ``-``), a ``kind`` (:data:`.kinds.STAGE_KINDS`, in that
order), ``inputs`` (values, or ``${stage.output}`` references to an earlier stage's outputs), ``options`` and
``pass`` conditions (``OUTPUT OP NUMBER``: the stage fails unless every one holds); ``skip: true`` leaves a stage
out of a run.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.pipeline.kinds import KIND_ALIASES, KINDS, STAGE_KINDS, KindSpec

MAX_FILE_BYTES = 1 << 20  # a pipeline file is a page of YAML; anything this large is not one
STAGE_KEYS = ("name", "kind", "inputs", "options", "pass", "skip")
PIPELINE_KEYS = ("name", "description", "stages")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
REFERENCE = re.compile(r"\$\{([^}]*)\}")
_REFERENCE_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z0-9_/.@-]+)")
_CONDITION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_/.@-]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


class PipelineFileError(UserError):
    """The pipeline file is not usable; the message names the file, the stage and the key."""


@dataclass(frozen=True)
class Condition:
    """``output OP threshold``, e.g. ``val/acc >= 0.9``."""

    text: str
    output: str
    op: str
    threshold: float

    def check(self, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """The condition as evaluated on a stage's outputs: ``passed`` False (with the reason) when the output is
        missing or not a number."""
        actual = outputs.get(self.output)
        result: dict[str, Any] = {"condition": self.text, "output": self.output, "actual": actual}
        if isinstance(actual, bool) or not isinstance(actual, int | float) or math.isnan(actual):
            given = ", ".join(sorted(k for k, v in outputs.items() if isinstance(v, int | float)
                                     and not isinstance(v, bool))) or "none"
            why = "no such output" if self.output not in outputs else f"not a number ({actual!r})"
            return {**result, "passed": False, "reason": f"{why}; numeric outputs: {given}"}
        return {**result, "passed": bool(_OPERATORS[self.op](float(actual), self.threshold))}


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: str
    inputs: dict[str, Any]
    options: dict[str, Any]  # with the kind's defaults filled in
    conditions: tuple[Condition, ...]
    skip: bool
    fingerprint: str  # this stage's definition and every earlier one's, hashed (what a resume compares)

    @property
    def kind_spec(self) -> KindSpec:
        return KINDS[self.kind]


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    file: Path  # absolute
    content_sha256: str  # of the file's bytes
    data: dict[str, Any]  # the file as parsed
    stages: tuple[StageSpec, ...]

    @property
    def base_dir(self) -> Path:
        """Where relative paths in the file are read from: the file's folder."""
        return self.file.parent

    def stage(self, name: str) -> StageSpec:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Read and check a pipeline file; :class:`PipelineFileError` names the stage and key of the first problem."""
    file = Path(path).expanduser().resolve()
    try:
        if not file.is_file():
            raise PipelineFileError(f"{path}: no such pipeline file" if not file.exists()
                                    else f"{path}: not a file; give a pipeline .yaml file")
        if file.stat().st_size > MAX_FILE_BYTES:
            raise PipelineFileError(f"{path}: too large for a pipeline file ({file.stat().st_size:,} bytes)")
        raw = file.read_bytes()
    except OSError as exc:
        raise PipelineFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return parse_pipeline(raw, file)


def parse_pipeline(raw: bytes, file: Path) -> PipelineSpec:
    import yaml  # type: ignore[import-untyped]

    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PipelineFileError(f"{file}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PipelineFileError(f"{file}{where}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise PipelineFileError(f"{file}: expected a mapping with `stages:` at the top, got {_type(data)}")
    # Plain JSON from here on: YAML's dates and timestamps become their text, so the file can be stored as is.
    data = json.loads(json.dumps(data, default=str))
    unknown = [k for k in data if k not in PIPELINE_KEYS]
    if unknown:
        raise PipelineFileError(f"{file}: unknown key {unknown[0]!r} at the top; expected {', '.join(PIPELINE_KEYS)}")
    name = data.get("name", file.stem)
    if not isinstance(name, str) or not name.strip():
        raise PipelineFileError(f"{file}: `name` must be text, got {_type(name)}")
    stages_data = data.get("stages")
    if not isinstance(stages_data, list) or not stages_data:
        raise PipelineFileError(f"{file}: `stages` must be a non-empty list of stages, got {_type(stages_data)}")
    stages: list[StageSpec] = []
    previous = hashlib.sha256(b"neuralforge-pipeline/1").hexdigest()
    for index, item in enumerate(stages_data):
        stage = _stage(file, index, item, stages, previous)
        stages.append(stage)
        previous = stage.fingerprint
    return PipelineSpec(name.strip(), file, hashlib.sha256(raw).hexdigest(), data, tuple(stages))


def _stage(file: Path, index: int, item: Any, earlier: list[StageSpec], previous: str) -> StageSpec:
    where = f"{file}: stage {index + 1}"
    if not isinstance(item, dict):
        raise PipelineFileError(f"{where}: expected a mapping with name and kind, got {_type(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PipelineFileError(f"{where}: key 'name' must be letters, digits, _ or - (starting with a letter), "
                                f"got {name!r}")
    where = f"{file}: stage '{name}'"
    if any(s.name == name for s in earlier):
        raise PipelineFileError(f"{where}: key 'name': another stage already has this name")
    unknown = [k for k in item if k not in STAGE_KEYS]
    if unknown:
        raise PipelineFileError(f"{where}: unknown key {unknown[0]!r}; a stage takes {', '.join(STAGE_KEYS)}")
    kind = item.get("kind")
    kind = KIND_ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind not in KINDS:
        raise PipelineFileError(f"{where}: key 'kind': unknown stage kind {item.get('kind')!r}; expected one of "
                                f"{', '.join(STAGE_KINDS)}")
    later = [s for s in earlier if STAGE_KINDS.index(s.kind) > STAGE_KINDS.index(kind)]
    if later:
        raise PipelineFileError(f"{where}: key 'kind': a {kind} stage cannot come after the {later[0].kind} stage "
                                f"'{later[0].name}'; stages run in the order {' → '.join(STAGE_KINDS)}")
    spec = KINDS[kind]
    inputs = _section(where, "inputs", item.get("inputs"), spec.inputs, False)
    options = _section(where, "options", item.get("options"), spec.options, spec.open_options)
    _check_references(where, inputs, earlier)
    _check_references(where, options, earlier)
    conditions = _conditions(where, item.get("pass"))
    skip = item.get("skip", False)
    if not isinstance(skip, bool):
        raise PipelineFileError(f"{where}: key 'skip' must be true or false, got {skip!r}")
    for stage in earlier:
        if stage.skip and any(ref[0] == stage.name for ref in _references({**inputs, **options})):
            raise PipelineFileError(f"{where}: key 'inputs' refers to stage '{stage.name}', which is skipped")
    definition = {"name": name, "kind": kind, "inputs": inputs, "options": options,
                  "pass": [c.text for c in conditions], "skip": skip, "after": previous,
                  "graph_file": _graph_file_hash(file.parent, inputs) if kind == "train" else None}
    fingerprint = hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()
    return StageSpec(name, kind, inputs, options, conditions, skip, fingerprint)


def _section(where: str, key: str, value: Any, allowed: Mapping[str, Any], open_keys: bool) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise PipelineFileError(f"{where}: key '{key}' must be a mapping, got {_type(value)}")
    result: dict[str, Any] = {}
    for name, given in value.items():
        if not isinstance(name, str):
            raise PipelineFileError(f"{where}: key '{key}' has a key that is not text: {name!r}")
        option = allowed.get(name)
        if option is None:
            if not open_keys or not _NAME.fullmatch(name):
                names = ", ".join(allowed) or "none"
                raise PipelineFileError(f"{where}: unknown key '{key}.{name}'; it takes {names}")
            if not isinstance(given, str | int | float | bool):
                raise PipelineFileError(f"{where}: key '{key}.{name}' must be text, a number or true/false, "
                                        f"got {_type(given)}")
        elif not (isinstance(given, str) and REFERENCE.search(given)) and not _fits(given, option.types):
            raise PipelineFileError(f"{where}: key '{key}.{name}' must be {option.type_text()}, got {given!r}")
        result[name] = given
    for name, option in allowed.items():
        if name not in result:
            if option.required:
                raise PipelineFileError(f"{where}: key '{key}.{name}' is missing ({option.help or 'required'})")
            if option.default is not None:
                result[name] = option.default
    return result


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _references(values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(stage, output, key) of every ``${stage.output}`` in ``values``; a malformed one as (body, "", key)."""
    found = []
    for key, value in values.items():
        if isinstance(value, str):
            for match in REFERENCE.finditer(value):
                body = _REFERENCE_BODY.fullmatch(match.group(1).strip())
                found.append((body.group(1), body.group(2), key) if body else (match.group(1), "", key))
    return found


def _check_references(where: str, values: Mapping[str, Any], earlier: list[StageSpec]) -> None:
    names = [s.name for s in earlier]
    for stage, output, key in _references(values):
        if not output:
            raise PipelineFileError(f"{where}: key '{key}': ${{{stage}}} is not a reference; write ${{STAGE.OUTPUT}}, "
                                    "e.g. ${train.run_id}")
        if stage not in names:
            hint = (f"earlier stages: {', '.join(names)}" if names else "there is no earlier stage")
            raise PipelineFileError(f"{where}: key '{key}' refers to ${{{stage}.{output}}}, but no earlier stage is "
                                    f"called '{stage}' ({hint})")


def _conditions(where: str, value: Any) -> tuple[Condition, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise PipelineFileError(f"{where}: key 'pass' must be a list of conditions such as \"val/acc >= 0.9\", "
                                f"got {_type(value)}")
    conditions = []
    for index, text in enumerate(items):
        match = _CONDITION.fullmatch(text) if isinstance(text, str) else None
        threshold = _number(match.group(3)) if match else None
        if match is None or threshold is None:
            raise PipelineFileError(f"{where}: key 'pass[{index}]': {text!r} is not a condition; write OUTPUT OP "
                                    f"NUMBER with OP one of {' '.join(_OPERATORS)}, e.g. \"val/acc >= 0.9\"")
        conditions.append(Condition(" ".join(text.split()), match.group(1), match.group(2), threshold))
    return tuple(conditions)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _graph_file_hash(base: Path, inputs: Mapping[str, Any]) -> str | None:
    """The bytes of a train stage's graph file take part in its fingerprint: an edited graph is trained again."""
    graph = inputs.get("graph")
    if not isinstance(graph, str) or graph.startswith("zoo:") or REFERENCE.search(graph):
        return None
    path = (base / graph).expanduser()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None


def _type(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]
