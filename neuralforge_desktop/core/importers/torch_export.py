"""A module level torch.fx cannot trace, traced with ``torch.export`` on its real inputs instead.

Symbolic tracing fails on Python that reads shapes (``if x.shape[1] == 3``, ``len(x.shape)``, a loop over
``range(x.size(1))``, a helper that does arithmetic on sizes). ``torch.export`` runs the same forward with the
level's example inputs, so every size except the batch is a number and such Python simply runs; the batch stays
symbolic, so ``x.view(x.size(0), -1)`` keeps meaning "this batch" (a batch frozen at the example's size would
pass the import's check and break on any other batch). Code that branches on tensor values still cannot be
exported: the level stays custom code, as before.

The exported graph (ATen operations) is rewritten into the graph torch.fx would have given, which the importer
already converts: the operations of each direct submodule call collapse back into one ``call_module`` (its
arguments and results from the call signatures ``preserve_module_call_signature`` keeps), and the level's own
ATen operations become the torch calls the function rules read (``aten.relu`` → ``F.relu``, ``aten.view`` →
``x.view``, ``aten.sym_size(x, 0)`` → ``x.size(0)`` …). An operation with no such counterpart makes the whole
level custom code; so does a rewritten graph that does not compute what the module computes.

A submodule torch.export cannot trace (one that branches on values) would fail its parent's export too: on a
second try, such submodules run as one opaque operation with the shapes they returned, so the parent still
becomes a graph and only the submodule stays code.
"""

from __future__ import annotations

import io
import itertools
import logging
import operator
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from typing import Any

from neuralforge_desktop.core.importers.aten_functions import RULES
from neuralforge_desktop.core.importers.torch_fx import NotGraphable, _run, _trace, flatten

_ROOT_KEY = "L__self__"


def trace_level(module: Any, autowrap: tuple[Any, ...], inputs: list[Any],
                recorded: dict[int, Any]) -> tuple[Any, str | None]:
    """The level's torch.fx graph, and None; or, where torch.fx fails, the exported one and why fx failed."""
    try:
        return _trace(module, autowrap), None
    except NotGraphable as failure:
        return export_level(module, inputs, recorded, str(failure)), str(failure)


def export_level(module: Any, inputs: list[Any], recorded: dict[int, Any], fx_failure: str) -> Any:
    """The level as a torch.fx graph of torch-level calls (see the module docstring), or NotGraphable saying
    why neither tracer can make it one. ``recorded``: what submodules returned when the model ran (their shapes
    stand in for submodules that cannot be exported)."""
    program = _export(module, inputs, recorded, fx_failure)
    graph = _Rewrite(program, fx_failure).graph()
    _check(module, graph, inputs, fx_failure)
    return graph


def _export(module: Any, inputs: list[Any], recorded: dict[int, Any], fx_failure: str) -> Any:
    """Export the level; where that fails (inside a submodule whose code branches on values, say), once more with
    its containers and the user's submodules as opaque operations: the level's graph only calls them anyway."""
    import torch

    batch = inputs[0].shape[0] if inputs and inputs[0].dim() else None
    dim = torch.export.Dim("batch") if batch is not None and batch >= 2 else None  # 0 and 1 are always fixed
    shapes = tuple({0: dim} if dim is not None and t.dim() and t.shape[0] == batch else None for t in inputs)
    children = tuple(name for name, _ in module.named_modules() if name)

    def attempt(opaque: list[tuple[Any, Any]]) -> Any:
        with warnings.catch_warnings(), _quiet_logs(), _opaque(opaque, batch):  # nn.LSTM reassigns its flat weights
            warnings.simplefilter("ignore")  # while traced (harmless here); a failed export prints its graph
            return torch.export.export(module, tuple(inputs), dynamic_shapes=shapes if dim is not None else None,
                                       strict=False, preserve_module_call_signature=children)

    try:
        return attempt([])
    except Exception as exc:
        failure = exc
    opaque = _opaque_candidates(module, recorded)
    if opaque:
        try:
            return attempt(opaque)
        except Exception:  # the first failure is the one to report
            pass
    first = str(failure).strip().splitlines()[0] if str(failure).strip() else ""
    detail = f"{type(failure).__name__}: {first[:200]}"
    if dim is not None and "Constraints violated (batch)" in first:
        detail = f"the code fixes the batch size to the example's {batch}"
    raise NotGraphable(f"{fx_failure}; torch.export cannot trace it either ({detail})") from None


# An opaque submodule: key → (module, [(shape, dtype, batch-first)] of what it returned, one tensor or a tuple)
_OPAQUE: dict[int, tuple[Any, list[tuple[tuple[int, ...], Any, bool]], bool]] = {}
_opaque_op: list[Any] = []  # the custom operation standing for them, registered once
_KEYS = itertools.count()


def _opaque_candidates(module: Any, recorded: dict[int, Any]) -> list[tuple[Any, Any]]:
    """(submodule, what it returned) for the level's direct submodules that are more than one catalog layer
    (containers, the user's modules) and ran once, returning a tensor or a tuple of tensors."""
    import torch
    from torch import nn

    found = []
    for _, child in module.named_children():
        items = list(child.children()) if isinstance(child, nn.ModuleList | nn.ModuleDict) else [child]
        for item in items:
            leaf = type(item).__module__.startswith("torch.") and not isinstance(item, nn.Sequential)
            leaf = leaf or "forward" in vars(item)  # a forward set on the instance: not ours to swap
            out = recorded.get(id(item))
            outs = list(out) if isinstance(out, tuple) else [out]
            if not leaf and out is not None and all(isinstance(t, torch.Tensor) and t.dim() for t in outs):
                found.append((item, out))
    return found


@contextmanager
def _opaque(children: list[tuple[Any, Any]], batch: int | None) -> Iterator[None]:
    """While exporting, each of ``children`` runs as one operation whose result has the shapes it had (the batch
    following the input's): its own code, which may branch on values, is not traced. Its submodule call stays
    in the graph, which is all the level's graph needs; the submodule itself is converted on its own."""
    import torch

    if children and not _opaque_op:
        _opaque_op.append(_register_opaque_op())
    keys = []
    try:
        for child, out in children:
            key = next(_KEYS)
            outs = list(out) if isinstance(out, tuple) else [out]
            _OPAQUE[key] = (child, [(tuple(t.shape), t.dtype, t.shape[0] == batch) for t in outs],
                            isinstance(out, tuple))
            keys.append(key)

            def forward(*args: Any, _key: int = key, _child: Any = child, **kwargs: Any) -> Any:
                if kwargs or not all(isinstance(a, torch.Tensor) for a in args):
                    return type(_child).forward(_child, *args, **kwargs)
                results = _opaque_op[0](list(args), _key)
                return tuple(results) if _OPAQUE[_key][2] else results[0]

            child.forward = forward
        yield
    finally:
        for child, _ in children:
            child.__dict__.pop("forward", None)
        for key in keys:
            del _OPAQUE[key]


def _register_opaque_op() -> Any:
    import torch

    @torch.library.custom_op("neuralforge_import::opaque_submodule", mutates_args=(),
                             schema="(Tensor[] xs, int key) -> Tensor[]")
    def opaque_submodule(xs: list[torch.Tensor], key: int) -> list[torch.Tensor]:
        child, _, _ = _OPAQUE[key]
        return [t.clone() for t in flatten(type(child).forward(child, *xs))]

    @opaque_submodule.register_fake
    def _(xs: list[torch.Tensor], key: int) -> list[torch.Tensor]:
        batch = xs[0].shape[0] if xs and xs[0].dim() else None
        return [torch.empty((batch, *shape[1:]) if follows and batch is not None else shape, dtype=dtype,
                            device=xs[0].device if xs else "cpu")
                for shape, dtype, follows in _OPAQUE[key][1]]

    return opaque_submodule


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """torch's warnings while exporting, and the partial graph a failed export prints, are no news for the user:
    the report says what happened."""
    logging.disable(logging.WARNING)
    try:
        with redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)


def _check(module: Any, graph: Any, inputs: list[Any], fx_failure: str) -> None:
    """The rewritten graph must compute what the module computes on the example, or the level is no graph.
    Both run afresh on copies: what the whole model's run recorded may since have been changed in place
    (``out = self.conv(x); out += x`` changes the convolution's recorded output)."""
    import torch

    env = _run(module, graph, [t.clone() for t in inputs], {})
    got = next(value for node, value in env.items() if node.op == "output")
    want = module(*[t.clone() for t in inputs])
    have, expect = flatten(got), flatten(want)
    same = len(have) == len(expect) and all(
        isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
        and torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(have, expect, strict=False))
    if not same:
        raise NotGraphable(f"{fx_failure}; torch.export traced it, but its operations, read back, do not "
                           "compute what the module computes")


class _Rewrite:
    """One exported program → the torch.fx graph of its level (direct submodules as leaves)."""

    def __init__(self, program: Any, fx_failure: str) -> None:
        from torch import fx

        self.program, self.fx_failure = program, fx_failure
        self.new = fx.Graph()
        self.env: dict[str, Any] = {}  # exported node name → new node (or the literal it stands for)
        self.lifted: dict[str, str] = {}  # placeholder of a parameter, buffer or constant → its attribute
        self.calls = {entry.fqn: entry.signature for entry in program.module_call_graph
                      if entry.fqn and entry.signature is not None}
        self.emitted: set[str] = set()

    def fail(self, why: str) -> NotGraphable:
        return NotGraphable(f"{self.fx_failure}; torch.export traced it, but {why}")

    def graph(self) -> Any:
        signature = self.program.graph_signature
        user_inputs = set(signature.user_inputs)
        for spec in signature.input_specs:
            if spec.arg.name not in user_inputs:
                self.lifted[spec.arg.name] = str(spec.target)
        for node in self.program.graph.nodes:
            if node.op == "placeholder":
                if node.name in user_inputs:
                    self.env[node.name] = self.new.placeholder(node.name)
            elif node.op == "output":
                self._output(node)
            elif (call := _child_call(node)) is not None:
                if call not in self.emitted:
                    self._module_call(call)
            else:
                self._operation(node)
        for node in reversed(list(self.new.nodes)):  # items of a result nobody reads (fx has no node for them)
            if node.op == "call_function" and node.target is operator.getitem and not node.users:
                self.new.erase_node(node)
        self.new.lint()
        return self.new

    def _lookup(self, value: Any) -> Any:
        from torch import fx

        def one(node: Any) -> Any:
            if node.name in self.lifted:
                raise self.fail(f"its forward uses the tensor self.{self.lifted[node.name]} directly")
            if node.name not in self.env:
                raise self.fail(f"{node.name} is computed inside a submodule and used outside its call")
            return self.env[node.name]

        return fx.node.map_arg(value, one)

    def _module_call(self, call: str) -> None:
        """All operations of one submodule call → ``self.<child>(args…)`` and the items of its result."""
        from torch.export.graph_signature import ConstantArgument
        from torch.utils import _pytree as pytree

        self.emitted.add(call)
        signature = self.calls.get(call)
        if signature is None:
            raise self.fail(f"the call of {call} keeps no signature")
        leaves = []
        for argument in signature.inputs:
            if isinstance(argument, ConstantArgument):
                leaves.append(argument.value)
            elif argument.name in self.env:
                leaves.append(self.env[argument.name])
            else:
                raise self.fail(f"{call} is called with a value NeuralForge cannot follow")
        args, kwargs = pytree.tree_unflatten(leaves, signature.in_spec)
        target = call.split("@")[0]  # the second call of ``fc`` is ``fc@1``
        result = self.new.call_module(target, tuple(args), dict(kwargs))
        positions = pytree.tree_unflatten(list(range(len(signature.outputs))), signature.out_spec)
        for index, item in _items(positions, result, self.new):
            argument = signature.outputs[index]
            if not isinstance(argument, ConstantArgument):
                self.env[argument.name] = item

    def _operation(self, node: Any) -> None:
        if node.op != "call_function":
            raise self.fail(f"its graph has a {node.op} node")
        if not node.users and _is_bookkeeping(node.target):
            return
        if node.target is operator.getitem or getattr(node.target, "__module__", "") in ("_operator", "operator"):
            self.env[node.name] = self.new.call_function(node.target, self._lookup(node.args))
            return
        rule = RULES.get(str(node.target))
        if rule is None:
            raise self.fail(f"no catalog layer does {node.target}")
        args = self._lookup(node.args)
        kwargs = self._lookup(dict(node.kwargs))
        made = rule(args, kwargs)
        if made is None:
            raise self.fail(f"no catalog layer does {node.target} as called here")
        if made[0] == "same":  # a copy or a view that changes nothing the graph sees
            self.env[node.name] = made[1]
            return
        op, target, new_args, new_kwargs = made
        create = self.new.call_method if op == "method" else self.new.call_function
        self.env[node.name] = create(target, tuple(new_args), new_kwargs)

    def _output(self, node: Any) -> None:
        from torch.export.graph_signature import OutputKind
        from torch.utils import _pytree as pytree

        flat = node.args[0]
        specs = self.program.graph_signature.output_specs
        user = [value for value, spec in zip(flat, specs, strict=True) if spec.kind == OutputKind.USER_OUTPUT]
        root = next(e.signature for e in self.program.module_call_graph if e.fqn == "")
        out_spec = root.out_spec if root is not None else None
        items = [self._lookup(v) for v in user]
        self.new.output(pytree.tree_unflatten(items, out_spec) if out_spec is not None else tuple(items))


def _child_call(node: Any) -> str | None:
    """``fc`` / ``fc@1`` / ``blocks.0``: the direct submodule call this exported node belongs to, or None."""
    stack = node.meta.get("nn_module_stack") or {}
    keys = list(stack)
    if len(keys) < 2 or not keys[0].startswith(_ROOT_KEY) or stack[keys[0]][0] != "":
        return None
    key = keys[1]
    path = stack[key][0]
    suffix = key.rpartition("@")[2] if "@" in key else ""
    return f"{path}@{suffix}" if suffix.isdigit() else path


def _items(positions: Any, value: Any, graph: Any) -> list[tuple[int, Any]]:
    """(output index, node) for each leaf of a call's result: ``out, (h, c) = lstm(x)`` indexes twice."""
    if isinstance(positions, int):
        return [(positions, value)]
    if positions is None:  # ``attn(q, k, v, need_weights=False)`` returns (out, None)
        return []
    if isinstance(positions, tuple | list):
        found = []
        for i, inner in enumerate(positions):
            found += _items(inner, graph.call_function(operator.getitem, (value, i)), graph)
        return found
    raise NotGraphable("a submodule returns a dict")


def _is_bookkeeping(target: Any) -> bool:
    """Assertions and grad-mode switches export records and a forward's result does not depend on."""
    name = str(target)
    return "_assert" in name or "sym_constrain_range" in name or "set_grad_enabled" in name
