"""Custom layers and losses the user wrote in Python, kept as user plugins in the user data directory.

Each one is two files in :func:`default_layers_dir`: ``NAME.py``, the file as the user wrote it (kept so they
can read and edit it), and ``NAME.json``, its manifest: the class source to run and emit (the class plus what
it needs from its file, as the importer carries code), the parameters read from ``__init__``'s signature, the
input ports read from ``forward``'s and the sample shapes it was checked on. The catalog reads manifests at
start without importing torch; the source runs on first use, on the meta device, to infer shapes, count
parameters and MACs (FlopCounterMode). A user layer is code by the user's consent, like an installed plugin:
they wrote it and added it, so the builder runs it with no further prompt (see SECURITY.md).

A layer whose code raises, or returns something that is not a tensor of a usable rank, is a shape error on the
node (:class:`ShapeError`), never an exception out of the analysis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuralforge_desktop.core.catalog.spec import LayerDef, Params, ParamSpec, PortSpec, TorchCall
from neuralforge_desktop.core.diagnostics import ShapeError
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.atomic import write_text_atomic
from neuralforge_desktop.core.ir.identifiers import is_identifier
from neuralforge_desktop.core.ir.types import Dim, DType, TensorSpec, describe_shape, resolve_dim

if TYPE_CHECKING:
    from neuralforge_desktop.core.catalog.registry import Catalog

CATEGORY = "Custom"
PLUGIN = "user"  # LayerDef.plugin of every user layer: the palette and `neuralforge layers` say where it came from
MODULE = "module"
LOSS = "loss"
# Stand-ins for symbolic dims (N, T, …) on the meta device: primes far from real sizes, so an output dim equal
# to one (or to a product of them) is put back as the symbol (or the product).
_STAND_INS = (1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049)
log = logging.getLogger(__name__)


class CustomLayerError(UserError):
    """A custom layer could not be added, loaded or removed (the message says why)."""


def default_layers_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("neuralforge")) / "layers"


@dataclass(frozen=True)
class Manifest:
    """What the catalog needs to know of one user layer, saved as ``NAME.json``."""

    name: str  # the layer type: the class or function name in the user's file
    class_name: str  # the nn.Module class the source defines (a loss function gets a wrapper class)
    kind: str  # MODULE or LOSS
    source: str  # run by the builder and pasted into generated code (TorchCall.helpers)
    params: list[dict[str, Any]] = field(default_factory=list)  # name, kind, default, required
    inputs: list[str] = field(default_factory=lambda: ["x"])  # forward's tensor arguments, in order
    sample: list[list[Dim]] = field(default_factory=list)  # input shapes the layer was checked on
    dtypes: list[str] = field(default_factory=list)  # their dtypes (float32 where not given)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        manifest = cls(**known)
        if not is_identifier(manifest.name) or not is_identifier(manifest.class_name):
            raise CustomLayerError(f"manifest names {manifest.name!r}, which is no Python name")
        if manifest.kind not in (MODULE, LOSS):
            raise CustomLayerError(f"manifest kind {manifest.kind!r} is neither {MODULE!r} nor {LOSS!r}")
        return manifest

    def dtype_of(self, i: int) -> str:
        return self.dtypes[i] if i < len(self.dtypes) else "float32"

    @property
    def output(self) -> str:
        return "loss" if self.kind == LOSS else "y"

    def concrete_sample(self) -> list[tuple[int, ...]]:
        bindings = _bindings(self.sample)  # one stand-in per symbol across inputs: N is N in every one
        return [_concrete(shape, bindings) for shape in self.sample]


@dataclass(frozen=True)
class MetaResult:
    """One meta-device run: the output shape and dtype, and what ``measure`` counted."""

    out_shape: tuple[int, ...]
    out_dtype: str
    params: int
    buffers: int
    macs: int


def parse_input(text: str) -> tuple[tuple[Dim, ...], str]:
    """``"N, 16, 8, 8"`` → ``(("N", 16, 8, 8), "float32")``; ``"N: int64"`` gives the dtype after a colon."""
    shape, _, dtype = text.partition(":")
    dtype = dtype.strip() or "float32"
    try:
        DType(dtype)
    except ValueError:
        raise CustomLayerError(f"{dtype!r} in {text!r} is no dtype (float32, int64, …)") from None
    return parse_shape(shape), dtype


def parse_shape(text: str) -> tuple[Dim, ...]:
    """``"N, 16, 8, 8"`` → ``("N", 16, 8, 8)``; symbols are kept as they are written."""
    dims: list[Dim] = []
    for part in text.replace("(", "").replace(")", "").replace("×", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lstrip("-").isdigit():
            dims.append(int(part))
        elif is_identifier(part):
            dims.append(part)
        else:
            raise CustomLayerError(f"{part!r} in the shape {text!r} is neither a number nor a name like N or T")
    return tuple(dims)


def _bindings(shapes: list[list[Dim]] | list[tuple[Dim, ...]]) -> dict[str, int]:
    """A distinct stand-in for every symbol in ``shapes``, in order of appearance."""
    import re

    found: dict[str, int] = {}
    for shape in shapes:
        for dim in shape:
            if isinstance(dim, str):
                for name in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", dim):
                    if name not in found:
                        found[name] = _STAND_INS[len(found) % len(_STAND_INS)]
    return found


def _concrete(shape: tuple[Dim, ...] | list[Dim], bindings: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(resolve_dim(d, bindings) for d in shape)


def _put_back(size: int, known: Mapping[int, Dim], bindings: Mapping[str, int]) -> Dim:
    """The symbolic form of an output size: an input dim it equals, or a product of symbols (and a factor)."""
    if size in known:
        return known[size]
    factors: list[str] = []
    rest = size
    for name, value in bindings.items():
        while rest and rest % value == 0:
            factors.append(name)
            rest //= value
    if not factors:
        return size
    return "*".join(factors + ([str(rest)] if rest != 1 else []))


def meta_run(manifest: Manifest, kwargs: Mapping[str, Any], inputs: list[tuple[tuple[int, ...], Any]]) -> MetaResult:
    """Build the layer on the meta device with ``kwargs`` and run it on meta tensors of ``inputs`` (shape, torch
    dtype). Raises whatever the user's code raises; :class:`CustomLayerError` when it returns a non-tensor."""
    import torch

    from neuralforge_desktop.core.importers.custom import measure

    cls = _load_class(manifest)
    with torch.device("meta"):
        module = cls(**kwargs)
    tensors = [torch.empty(shape, dtype=dtype, device="meta") for shape, dtype in inputs]
    with torch.no_grad():
        out = module(*tensors)
    if not isinstance(out, torch.Tensor):
        raise CustomLayerError(f"{manifest.class_name}.forward returned a {type(out).__name__}, not one tensor")
    counted = measure(module, tensors, [out])
    batch = int(tensors[0].shape[0]) if tensors and tensors[0].dim() else 1
    return MetaResult(tuple(out.shape), str(out.dtype).removeprefix("torch."), int(counted["params"]),
                      int(counted["buffers"]), int(counted["macs"]) * max(1, batch))


_CLASSES: dict[str, Any] = {}


def _load_class(manifest: Manifest) -> Any:
    """The class the manifest's source defines, run once per source text in the namespace generated code has."""
    found = _CLASSES.get(manifest.source)
    if found is None:
        import math

        import torch
        from torch import nn
        from torch.nn import functional as F

        ns: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math}
        # the user's own code, added by them (their consent, as for a plugin): see the module docstring
        exec(compile(manifest.source, f"<custom layer {manifest.name}>", "exec"), ns)  # trusted: a layer the user added
        found = ns.get(manifest.class_name)
        if not (isinstance(found, type) and issubclass(found, nn.Module)):
            raise CustomLayerError(f"the source of {manifest.name} defines no nn.Module {manifest.class_name!r}")
        _CLASSES[manifest.source] = found
    return found


class _Rules:
    """Shape, count and cost rules of one user layer, each a meta run (memoised: inference asks often)."""

    def __init__(self, manifest: Manifest) -> None:
        self.m = manifest
        self._memo: dict[Any, MetaResult] = {}

    def _run(self, p: Params, specs: list[TensorSpec], bindings: Mapping[str, int]) -> MetaResult:
        import torch

        key = (hash(p), tuple((s.shape, s.dtype) for s in specs), tuple(bindings.items()))
        if key not in self._memo:
            if len(self._memo) >= 256:  # an editing session tries many shapes; keep the memo small
                self._memo.clear()
            inputs = [(_concrete(s.shape, bindings), getattr(torch, s.dtype.value)) for s in specs]
            self._memo[key] = meta_run(self.m, dict(p), inputs)
        return self._memo[key]

    def _specs(self, x: Mapping[str, TensorSpec]) -> list[TensorSpec]:
        missing = [port for port in self.m.inputs if port not in x]
        if missing:
            raise ShapeError(missing[0], "a connected input", "nothing")
        return [x[port] for port in self.m.inputs]

    def shape(self, p: Params, x: Mapping[str, TensorSpec]) -> dict[str, TensorSpec]:
        specs = self._specs(x)
        bindings = _bindings([s.shape for s in specs])
        try:
            result = self._run(p, specs, bindings)
        except Exception as exc:  # the user's code: whatever it raises is the node's error, never the app's
            shapes = ", ".join(describe_shape(s.shape) for s in specs)
            raise ShapeError(None, f"{self.m.name}'s forward to run on {shapes}",
                             f"{type(exc).__name__}: {exc}".strip()) from exc
        known = {resolve_dim(d, bindings): d for s in specs for d in s.shape if isinstance(d, str)}
        out = tuple(_put_back(int(d), known, bindings) for d in result.out_shape)
        if self.m.kind == MODULE and (not out or out[0] != specs[0].shape[0]):
            raise ShapeError(self.m.output, f"an output that keeps the batch axis {specs[0].shape[0]} first "
                             f"(rank ≥ 1)", f"{describe_shape(out)} from {self.m.name}'s forward")
        return {self.m.output: TensorSpec(out, _dtype(result.out_dtype))}

    def count(self, which: str) -> Any:
        def rule(p: Params, x: Mapping[str, TensorSpec]) -> int:
            specs = self._specs(x)
            return int(getattr(self._run(p, specs, _bindings([s.shape for s in specs])), which))
        return rule

    def macs(self, p: Params, x: Mapping[str, tuple[int, ...]], y: Mapping[str, tuple[int, ...]]) -> int:
        # cost rules see shapes only: each input takes the dtype it was checked with (integer labels stay integers)
        specs = [TensorSpec(tuple(x[port]), DType(self.m.dtype_of(i))) for i, port in enumerate(self.m.inputs)]
        return self._run(p, specs, {}).macs


def _dtype(name: str) -> DType:
    try:
        return DType(name)
    except ValueError:
        return DType.float32


def _port_dtype(manifest: Manifest, i: int) -> str:
    """Ports take any dtype, except a loss's target checked on floats: training reads that as a regression
    loss (a target checked on integers is taken as class labels)."""
    if manifest.kind == LOSS and manifest.inputs[i] == "target" and DType(manifest.dtype_of(i)).is_float:
        return "float"
    return "any"


def layer_def(manifest: Manifest) -> LayerDef:
    """The catalog entry for a user layer: params from its manifest, rules from meta runs, its class emitted."""
    rules = _Rules(manifest)
    params = tuple(ParamSpec(p["name"], p["kind"], p["default"], "required by __init__" if p.get("required")
                             else "from __init__'s signature") for p in manifest.params)
    names = [p["name"] for p in manifest.params]
    args = ", ".join("{" + port + "}" for port in manifest.inputs)
    sample = "; ".join(describe_shape(s) for s in manifest.sample)
    return LayerDef(
        type=manifest.name,
        category=CATEGORY,
        title=manifest.name,
        description=f"your own {'loss' if manifest.kind == LOSS else 'layer'}, written in Python",
        math=r"$y = f(x)$" if manifest.kind == MODULE else r"$\mathrm{loss} = f(\mathrm{input}, \mathrm{target})$",
        help=f"A custom {manifest.kind} you added from Python source (checked on {sample}). Shapes, parameters "
        "and MACs come from running it on the meta device; edit it by adding it again.",
        params=params,
        inputs=tuple(PortSpec(port, dtype=_port_dtype(manifest, i), layout="(N, …)")
                     for i, port in enumerate(manifest.inputs)),
        outputs=(PortSpec(manifest.output, dtype="any"),),
        shape=rules.shape,
        param_count=rules.count("params"),
        buffer_count=rules.count("buffers"),
        macs=rules.macs,
        torch=TorchCall(module=manifest.class_name, init=lambda p, x: {n: p[n] for n in names},
                        forward="{" + manifest.output + "} = {self}(" + args + ")",
                        helpers=(manifest.source,)),
        is_loss=manifest.kind == LOSS,
        plugin=PLUGIN,
        simple=True,  # the user added it to use it: listed in the essential palette too
    )


def manifests(folder: Path | None = None) -> list[Manifest]:
    """Every saved user layer, in name order; unreadable ones are logged and left out."""
    found, _ = _read_all(folder or default_layers_dir())
    return found


def _read_all(folder: Path) -> tuple[list[Manifest], list[str]]:
    found: list[Manifest] = []
    errors: list[str] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(Manifest.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError, CustomLayerError) as exc:
            errors.append(f"custom layer {path.stem!r} failed to load: {exc}")
    return found, errors


def load_into(cat: Catalog, folder: Path | None = None) -> None:
    """Register every saved user layer (at start); a broken one is reported like a broken plugin."""
    found, errors = _read_all(folder or default_layers_dir())
    for manifest in found:
        if manifest.name in cat and cat.get(manifest.name).plugin != PLUGIN:
            errors.append(f"custom layer {manifest.name!r} is not loaded: a built-in or plugin layer has that name")
            continue
        cat.register(layer_def(manifest), replace=True)
    for message in errors:
        cat.plugin_errors.append(message)
        log.warning(message)


def save(manifest: Manifest, original: str, cat: Catalog, folder: Path | None = None) -> LayerDef:
    """Write the layer's files and register it in ``cat`` (the palette shows it at once)."""
    existing = cat.find(manifest.name)
    if existing is not None and existing.plugin != PLUGIN:
        raise CustomLayerError(f"{manifest.name!r} is already a {existing.category} layer: rename your class")
    folder = folder or default_layers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / f"{manifest.name}.py", original)
    write_text_atomic(folder / f"{manifest.name}.json", json.dumps(manifest.to_json(), indent=2) + "\n")
    return cat.register(layer_def(manifest), replace=True)


def remove(name: str, cat: Catalog, folder: Path | None = None) -> None:
    """Delete a user layer's files and take it out of ``cat``."""
    folder = folder or default_layers_dir()
    files = [folder / f"{name}.json", folder / f"{name}.py"]
    if not files[0].exists():
        names = ", ".join(m.name for m in manifests(folder)) or "none"
        raise CustomLayerError(f"no custom layer {name!r} (custom layers: {names})")
    for path in files:
        path.unlink(missing_ok=True)
    layer = cat.find(name)
    if layer is not None and layer.plugin == PLUGIN:
        cat.unregister(name)


def add_file(path: Path, name: str, cat: Catalog, *, inputs: list[str] | None = None,
             init: dict[str, Any] | None = None, loss: bool | None = None, folder: Path | None = None) -> LayerDef:
    """Check ``name`` in the user's file ``path`` (imports it and runs forward on meta tensors) and save it."""
    from neuralforge_desktop.core.catalog.user_probe import describe

    try:
        original = path.read_text()
    except OSError as exc:
        raise CustomLayerError(f"cannot read {path}: {exc.strerror or exc}") from exc
    manifest = describe(path, name, inputs=inputs, init=init, loss=loss)
    return save(manifest, original, cat, folder)


def add_source(source: str, name: str, cat: Catalog, **options: Any) -> LayerDef:
    """:func:`add_file` for source typed into the dialog: it is checked from a scratch file first, so nothing
    is saved unless it imports and runs."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="neuralforge-layer-") as scratch:
        path = Path(scratch) / f"{name if is_identifier(name) else 'layer'}.py"
        path.write_text(source)
        return add_file(path, name, cat, **options)
