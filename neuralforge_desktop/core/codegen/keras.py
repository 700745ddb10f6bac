"""Readable Keras 3 source for a graph: one module with the model class, ``build_model()``, ``example_input()``
and ``load_torch_weights()``.

It prints the same :class:`ModelPlan` as the PyTorch generator, each step through its catalog entry's
:class:`~neuralforge_desktop.core.catalog.spec.KerasCall`: the same attribute names, blocks and statements in the
same order. Tensors keep PyTorch's layout (images (N, C, H, W) through channels_first layers, sequences
(N, T, E)), so every tensor has the shape the graph shows, and the weights of the PyTorch model generated from
the same graph load into it with the same outputs. A layer without a faithful Keras form is refused, by node
and type, before anything is written. TensorFlow is never imported here: this only writes text.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

from neuralforge_desktop.core.analysis.shapes import ShapeInference
from neuralforge_desktop.core.catalog.registry import Catalog, catalog
from neuralforge_desktop.core.catalog.spec import KerasCall
from neuralforge_desktop.core.codegen.plan import (
    BlockPlan,
    GeneratedCodeError,
    ModelPlan,
    PlanError,
    Step,
    helper_name,
    literal,
    plan_model,
    render,
)
from neuralforge_desktop.core.codegen.pytorch import (
    EXAMPLE_BATCH,
    LINE_LIMIT,
    GeneratedCode,
    _block_doc,
    _blocks_bottom_up,
    _docstring,
    _spec_text,
    _symbol_note,
    _Writer,
    check_source,
    index_high,
)
from neuralforge_desktop.core.ir.graph import Graph
from neuralforge_desktop.core.ir.naming import Namespace, sanitize
from neuralforge_desktop.core.ir.types import format_shape, resolve_dim

# Names the generated module imports or its methods use: no variable of call() may shadow them.
KERAS_LOCALS = frozenset({"keras", "layers", "ops", "np", "block", "state", "prefix", "kwargs"})
# What every keras.Model already has (a node id equal to one of these gets a suffix as its attribute) and the
# method generated classes add.
KERAS_RESERVED = frozenset({
    "add_loss", "add_metric", "add_variable", "add_weight", "build", "build_from_config", "call", "compile",
    "compile_from_config", "compiled_loss", "compiled_metrics", "compute_dtype", "compute_loss", "compute_mask",
    "compute_metrics", "compute_output_shape", "compute_output_spec", "count_params", "distribute_reduction_method",
    "distribute_strategy", "dtype", "dtype_policy", "evaluate", "export", "fit", "from_config", "get_build_config",
    "get_compile_config", "get_config", "get_layer", "get_metrics_result", "get_quantization_layer_structure",
    "get_state_tree", "get_weights", "input", "input_dtype", "input_spec", "jit_compile", "layers",
    "load_own_variables", "load_weights", "loss", "losses", "make_predict_function", "make_test_function",
    "make_train_function", "metrics", "metrics_names", "metrics_variables", "non_trainable_variables",
    "non_trainable_weights", "output", "path", "predict", "predict_on_batch", "predict_step", "quantization_mode",
    "quantize", "quantized_build", "quantized_call", "rematerialized_call", "reset_metrics", "run_eagerly", "save",
    "save_own_variables", "save_weights", "set_state_tree", "set_weights", "stateless_call",
    "stateless_compute_loss", "summary", "supports_masking", "symbolic_call", "test_on_batch", "test_step",
    "to_json", "train_on_batch", "train_step", "trainable", "trainable_variables", "trainable_weights",
    "variable_dtype", "variables", "weights", "name", "built", "inputs", "outputs", "optimizer",
    "load_torch_state", "self", "super",
})
_TENSOR = re.compile(r"\{([A-Za-z_][A-Za-z_0-9.]*)\}")
_LAYOUT_NOTE = (
    "Tensors keep the graph's PyTorch layout: images are (N, C, H, W), so convolution, pooling and normalisation "
    "layers run channels_first, and sequences are (N, T, E). Every tensor has the shape the graph shows, and "
    "load_torch_weights() copies the weights of the PyTorch model generated from the same graph, after which "
    "both compute the same outputs."
)


class KerasUnsupportedError(PlanError):
    """The graph holds layers (or settings, or shared weights) that Keras cannot express faithfully."""


def generate_keras(graph: Graph, shapes: ShapeInference | None = None, cat: Catalog | None = None,
                   example_batch: int = EXAMPLE_BATCH) -> GeneratedCode:
    """Generate the Keras module source. Raises ``PlanError`` when the graph has errors and
    :class:`KerasUnsupportedError`, naming every node at fault, when part of it has no Keras form."""
    cat = cat or catalog()
    plan = plan_model(graph, shapes, cat, reserved=KERAS_LOCALS | _helper_names(cat))
    problems = list(_problems(plan, ""))
    if problems:
        raise KerasUnsupportedError("no Keras form for " + "; ".join(problems))
    classes = [*_unique_blocks(plan), plan]
    rendered = {id(p): _Rendered(p) for p in classes}
    out = _Writer()
    title = graph.meta.get("title") or graph.name
    out.add(f'"""{plan.class_name}: Keras 3 model generated by NeuralForge from {literal(str(title))}.')
    out.add()
    for node, spec in zip(plan.input_nodes, plan.input_specs, strict=True):
        out.add(f"Input  {node.id}: {_spec_text(spec)}")
    for node, spec in zip(plan.output_nodes, plan.output_specs, strict=True):
        out.add(f"Output {node.id}: {_spec_text(spec)}")
    out.add()
    for line in textwrap.wrap(_LAYOUT_NOTE, LINE_LIMIT):
        out.add(line)
    out.add('"""')
    out.add()
    text = "\n".join(r.text() for r in rendered.values())
    helpers = _helpers_used(plan, text)
    text += "\n".join(helpers)
    out.add("import keras")
    out.add("import numpy as np")
    modules = [m for m in ("layers", "ops") if re.search(rf"\b{m}\.", text)]
    if modules:
        out.add(f"from keras import {', '.join(modules)}")
    for helper in helpers:
        out.add()
        out.add()
        out.add(helper.strip("\n"))
    for block in _unique_blocks(plan):
        out.add()
        out.add()
        rendered[id(block)].emit(out, "keras.layers.Layer", _block_doc(_block_of(plan, block)))
    out.add()
    out.add()
    rendered[id(plan)].emit(out, "keras.Model", str(graph.meta.get("description") or f"The {title} model."))
    out.add()
    out.add()
    _emit_build(out, plan, graph, example_batch)
    out.add()
    out.add()
    _emit_example(out, plan, graph, example_batch)
    out.add()
    out.add()
    _emit_loader(out, plan)
    source = "\n".join(out.lines).rstrip("\n") + "\n"
    check_source(source, plan.class_name)
    return GeneratedCode(source, plan.class_name, out.node_lines)


def _helper_names(cat: Catalog) -> frozenset[str]:
    """Classes and functions Keras helpers define: no class or variable of the generated module may take them."""
    names = {helper_name(h) for layer in cat if layer.keras is not None for h in layer.keras.helpers}
    return frozenset(n for n in names if n)


def _problems(plan: ModelPlan, where: str) -> Iterator[str]:
    """Every step (blocks included) without a faithful Keras form, and every tie, as "Type 'node': why"."""
    for step in plan.steps:
        path = f"{where}{step.node.id}"
        if step.block is not None:
            yield from _problems(step.block.plan, f"{path}/")
            continue
        call = step.layer.keras
        if call is None:
            yield f"{step.layer.type} '{path}' (Keras has no equivalent layer)"
            continue
        reason = call.refusal(step.params, step.in_specs)
        if reason:
            yield f"{step.layer.type} '{path}' ({reason})"
    for attr, param, source, source_param in plan.ties:
        yield (f"the weight {where}{attr}.{param} shared with {where}{source}.{source_param} (tied weights: Keras "
               f"keeps a Dense kernel transposed against an Embedding table)")


def _unique_blocks(plan: ModelPlan) -> list[ModelPlan]:
    """Block classes, innermost first, each once."""
    seen: dict[str, ModelPlan] = {}
    for block in _blocks_bottom_up(plan):
        seen.setdefault(block.class_name, block.plan)
    return list(seen.values())


def _block_of(plan: ModelPlan, inner: ModelPlan) -> BlockPlan:
    for block in _blocks_bottom_up(plan):
        if block.plan is inner:
            return block
    raise GeneratedCodeError(f"block class {inner.class_name} is not in the plan")


def _helpers_used(plan: ModelPlan, text: str) -> list[str]:
    """The helper sources of the Keras calls in use whose name the generated text (or another helper in use)
    mentions, in catalog order."""
    candidates: dict[str, None] = {}
    for step in plan.all_steps():
        if step.block is None and step.layer.keras is not None:
            candidates.update(dict.fromkeys(step.layer.keras.helpers))
    used: list[str] = []
    changed = True
    while changed:
        changed = False
        for helper in candidates:
            if helper not in used and re.search(rf"\b{helper_name(helper)}\b", text):
                used.append(helper)
                text += helper
                changed = True
    return [h for h in candidates if h in used]


class _Rendered:
    """One class's lines: the layers ``__init__`` constructs, the statements of ``call()``, the weight copies."""

    def __init__(self, plan: ModelPlan) -> None:
        self.plan = plan
        attrs = Namespace(KERAS_RESERVED)
        self.inits: list[tuple[str, str]] = []  # (node id, statement)
        self.calls: list[tuple[Step, str]] = []
        self.loads: list[tuple[str, str]] = []
        for step in plan.steps:
            if step.block is not None:
                self._block(step, attrs)
            else:
                self._layer(step, attrs)

    def text(self) -> str:
        return "\n".join(s for _, s in [*self.inits, *self.loads]) + "\n" + "\n".join(s for _, s in self.calls)

    def _block(self, step: Step, attrs: Namespace) -> None:
        block = step.block
        assert block is not None and step.attr is not None
        attr = attrs.name(step.attr)
        name = step.attr
        lhs, args = ", ".join(step.outputs), ", ".join(step.inputs)
        if block.repeat == 1:
            self.inits.append((step.node.id, f"self.{attr} = {block.class_name}(name={literal(name)})"))
            self.calls.append((step, f"{lhs} = self.{attr}({args})"))
            self.loads.append((step.node.id, f"self.{attr}.load_torch_state(state, prefix + {literal(name + '.')})"))
            return
        self.inits.append((step.node.id, f'self.{attr} = [{block.class_name}(name=f"{name}.{{i}}") '
                                         f"for i in range({block.repeat})]"))
        self.calls.append((step, f"{lhs} = {args}\nfor block in self.{attr}:\n    {lhs} = block({lhs})"))
        self.loads.append((step.node.id, f"for i, block in enumerate(self.{attr}):\n"
                                         f'    block.load_torch_state(state, f"{{prefix}}{name}.{{i}}.")'))

    def _layer(self, step: Step, attrs: Namespace) -> None:
        call = step.layer.keras
        assert call is not None  # refused earlier otherwise
        layer = call.layer_class(step.params, step.in_specs)
        names = dict(step.names)
        attr = None
        if layer is not None:
            attr = attrs.name(step.attr or step.node.id)
            names["self"] = f"self.{attr}"
            self.inits.append((step.node.id, _init_statement(call, step, attr, layer)))
        template = call.call_template(step.params, step.in_specs)
        if template:
            self.calls.append((step, render(template, names, step.params, step.unwired)))
        load = call.load_template(step.params, step.in_specs)
        if load:
            if attr is None or step.attr is None:
                raise GeneratedCodeError(f"{step.layer.type}: weights to load but no layer to hold them")
            self.loads.append((step.node.id, _render_load(load, attr, step.attr)))

    def emit(self, out: _Writer, base: str, doc: str) -> None:
        plan = self.plan
        out.add(f"class {plan.class_name}({base}):")
        out.add(_docstring(doc, 4))
        out.add()
        out.add("    def __init__(self, **kwargs):")
        out.add("        super().__init__(**kwargs)")
        for node, statement in self.inits:
            out.add(_indent(_wrap(statement, 8), 8), node=node)
        out.add()
        signature = f"    def call(self{''.join(f', {v}' for v in plan.input_vars)}):"
        if len(signature) > LINE_LIMIT:
            arguments = "".join(f"        {v},\n" for v in plan.input_vars)
            signature = f"    def call(\n        self,\n{arguments}    ):"
        out.add(signature)
        if not plan.input_vars:
            out.add("        # the graph has no Input node yet: add one to give call() its arguments")
        for step, statement in self.calls:
            out.add(_indent(_with_shape_comment(statement, step), 8), node=step.node.id)
        if len(plan.output_vars) == 1:
            out.add(f"        return {plan.output_vars[0]}")
        elif not plan.output_vars:
            out.add("        # the graph has no Output node yet: connect one to return what it computes")
            out.add("        return ()")
        else:
            out.add(f"        return {', '.join(plan.output_vars)}")
        out.add()
        out.add('    def load_torch_state(self, state, prefix=""):')
        out.add('        """Weights from the PyTorch state_dict (numpy arrays); keys here start with prefix."""')
        for node, statement in self.loads:
            out.add(_indent("\n".join(_wrap(line, 8) for line in statement.split("\n")), 8), node=node)


def _init_statement(call: KerasCall, step: Step, attr: str, layer: str) -> str:
    kwargs = call.init(step.params, step.in_specs) if call.init else {}
    positional = call.positional_count(step.params, step.in_specs)
    args: list[str] = []
    for i, (key, value) in enumerate(kwargs.items()):
        if i >= positional and key in call.defaults and call.defaults[key] == value:
            continue
        args.append(literal(value) if i < positional else f"{key}={literal(value)}")
    args.append(f"name={literal(step.attr or step.node.id)}")
    return f"self.{attr} = {layer}({', '.join(args)})"


def _render_load(template: str, attr: str, torch_attr: str) -> str:
    """``{self}`` → the Keras layer, ``{prefix}`` → the torch module's key prefix, ``{tensor}`` → that tensor."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "self":
            return f"self.{attr}"
        if name == "prefix":
            return f"prefix + {literal(torch_attr + '.')}"
        return f"state[prefix + {literal(f'{torch_attr}.{name}')}]"

    return _TENSOR.sub(replace, template)


def _wrap(line: str, indent: int) -> str:
    """Break a too-long ``head(args)tail`` after its first outermost bracket, one argument per line, again
    inside an argument that is still too long; a lone list argument hugs the call's parentheses."""
    if indent + len(line) <= LINE_LIMIT:
        return line
    found = _outer_brackets(line)
    if found is None:
        return line
    start, end = found
    head, tail = line[: start + 1], line[end:]
    parts = _split_arguments(line[start + 1 : end])
    if len(parts) == 1 and parts[0].startswith("[") and parts[0].endswith("]"):
        head, tail = head + "[", "]" + tail
        parts = _split_arguments(parts[0][1:-1])
    body = "\n".join(_indent(_wrap(part, indent + 4) + ",", 4) for part in parts)
    return f"{head}\n{body}\n{tail}"


def _outer_brackets(line: str) -> tuple[int, int] | None:
    """Where the first bracket at depth 0 opens and where it closes (outside string literals)."""
    depth, start, quote = 0, -1, ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            if depth == 0 and start < 0:
                start = i
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0 and start >= 0:
                return start, i
    return None


def _split_arguments(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _indent(text: str, width: int) -> str:
    return "\n".join(" " * width + line for line in text.split("\n"))


def _with_shape_comment(statement: str, step: Step) -> str:
    text = "\n".join(_wrap(line, 8) for line in statement.split("\n"))
    if "\n" in text or not step.out_specs:
        return text
    first = next(iter(step.out_specs.values()))
    comment = f"  # {format_shape(first.shape)}"
    return text + comment if len(text) + len(comment) + 8 <= LINE_LIMIT else text


def _batch_shapes(plan: ModelPlan, graph: Graph, batch: int) -> list[tuple[str, str]]:
    """Each input's concrete shape (batch ``batch``, named sizes from the graph's symbols) and dtype."""
    bindings = {"N": batch, **graph.symbols}
    found = []
    for node, spec in zip(plan.input_nodes, plan.input_specs, strict=True):
        try:
            dims = [str(resolve_dim(d, bindings)) for d in spec.shape]
        except (KeyError, ValueError) as exc:  # a named dimension the graph's symbols leave without a value
            raise PlanError(f"Input '{node.id}' has shape {format_shape(spec.shape)}: cannot write example_input(): "
                            f"{exc.args[0] if exc.args else exc}; give it a value in the graph's symbols") from None
        found.append(("(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")", spec.dtype.value))
    return found


def _emit_build(out: _Writer, plan: ModelPlan, graph: Graph, batch: int) -> None:
    name = plan.class_name
    out.add(f"def build_model() -> {name}:")
    out.add(f'    """A freshly initialised {name}; a symbolic call on example-shaped inputs creates its weights."""')
    out.add(f"    model = {name}(name={literal(sanitize(graph.name, 'model'))})")
    inputs = [f"keras.Input(batch_shape={shape}, dtype={literal(dtype)})"
              for shape, dtype in _batch_shapes(plan, graph, batch)]
    if inputs:
        out.add(_indent(_wrap(f"model({', '.join(inputs)})", 4), 4))
    out.add("    return model")


def _emit_example(out: _Writer, plan: ModelPlan, graph: Graph, batch: int) -> None:
    shapes = _batch_shapes(plan, graph, batch)
    returns = "np.ndarray" if len(shapes) == 1 else "tuple[np.ndarray, ...]"
    out.add(f"def example_input() -> {returns}:")
    out.add(f'    """A valid input batch of {batch}{_symbol_note(graph)}."""')
    if shapes:
        out.add("    rng = np.random.default_rng()")
    exprs = []
    for node, (shape, dtype) in zip(plan.input_nodes, shapes, strict=True):
        if dtype in ("float32", "float64"):
            exprs.append(f"rng.standard_normal({shape}, dtype=np.{dtype})")
        elif dtype == "bool":
            exprs.append(f"rng.random({shape}) > 0.5")
        elif dtype in ("int32", "int64"):
            exprs.append(f"rng.integers(0, {index_high(graph, node.id)}, {shape}, dtype=np.{dtype})")
        else:  # float16, bfloat16: numpy may lack the type, Keras casts
            exprs.append(f"ops.cast(rng.standard_normal({shape}), {literal(dtype)})")
    if len(exprs) == 1:
        out.add(f"    return {exprs[0]}")
    elif not exprs:
        out.add("    return ()  # the graph has no Input node yet")
    else:
        out.add("    return (")
        for expr in exprs:
            out.add(f"        {expr},")
        out.add("    )")


def _emit_loader(out: _Writer, plan: ModelPlan) -> None:
    out.add(f"def load_torch_weights(model: {plan.class_name}, state_dict) -> None:")
    out.add('    """Copy the weights of the PyTorch model generated from the same graph into model (build_model()).')
    out.add()
    out.add("    state_dict: that model's state_dict() (tensors on the CPU) or a checkpoint read with")
    out.add("    safetensors.numpy.load_file; its keys and shapes are the PyTorch model's.")
    out.add('    """')
    out.add("    model.load_torch_state({name: np.asarray(value) for name, value in state_dict.items()})")

