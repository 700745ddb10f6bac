"""Everything a plugin needs to add layer types to NeuralForge; plugins import this module only.

Writing a plugin
----------------

1. Describe each layer with a :class:`LayerDef`: its parameter schema (:class:`ParamSpec`), ports
   (:class:`PortSpec`), a shape rule ``shape(params, inputs) -> {port: TensorSpec}`` that raises
   :class:`ShapeError` saying what it expected and what it received, a parameter count, a cost rule and a
   :class:`TorchCall` saying how the layer becomes PyTorch. ``TorchCall.module`` names either a ``torch.nn``
   class (``"nn.Mish"``) or a class whose source you give in ``TorchCall.helpers``: that source is run in a
   namespace holding ``torch``, ``nn``, ``F`` and ``math`` and pasted into generated code, so it must not
   import anything and should pass a linter on its own. Give a few :class:`Example` cases; the catalog-wide
   conformance test builds each one with torch and compares shapes and parameter counts with your rules.
   Optionally a :class:`KerasCall` (``keras=``) says how it becomes Keras 3 for ``neuralforge codegen
   --framework keras``: the layer or ``keras.ops`` call, in PyTorch's tensor layout, and how its weights come
   from the PyTorch module's (``"{self}.set_weights([{weight}.T])"``); without one, Keras code generation
   refuses graphs that use the layer.
2. Expose the definitions from a function returning a list of ``LayerDef`` (or from a plain list)::

       def layers() -> list[LayerDef]:
           return [MISH, SQUEEZE_EXCITE]

3. Point an entry point in the group ``PLUGIN_GROUP`` (``"neuralforge.layers"``) at it, in your
   ``pyproject.toml``::

       [project.entry-points."neuralforge.layers"]
       example = "my_package:layers"

4. ``pip install`` the package into the environment NeuralForge runs in; the catalog picks it up on start.
   A plugin that fails to load is reported in the catalog's ``plugin_errors`` and never stops the app.

A single layer of your own needs no package: write it as an ``nn.Module`` (or a loss) and add it with Edit ▸
New Custom Layer or ``neuralforge layers add FILE.py:Name``; NeuralForge derives its ``LayerDef`` (parameters
from ``__init__``, shapes and costs from meta-device runs) and keeps it in the user data directory (see
:mod:`neuralforge_desktop.core.catalog.user_layers`). Write a plugin when you want hand-written shape and cost
rules, Keras forms, traits or to share layers as a package.

Declare what the analyses need to know as data on the ``LayerDef``, and your layer is costed, linted, hinted
and summarised on the canvas like a built-in: ``traits`` (:class:`Trait` roles: ``NO_KERNEL`` for a view,
``CONVOLUTION``, ``DROPOUT``, ``CANCELS_BIAS``, ``SOFTMAX`` …), ``param_sizes`` (``{"weight": rule}``, the
element count of a parameter tensor, so ties to it are counted once), ``loss_checks`` on a loss
(:class:`LossCheck`: an activation that must not feed it, with the advice lint gives), ``summary`` (the
one line a node shows, ``"8 filters"``) and ``latency`` (the kernels it runs at inference, as :class:`Kernel`
values of a :class:`KernelKind` — ``linear_kernel``, ``conv_kernel``, ``runs_elementwise`` … build them — which
the CPU latency model predicts from measured kernels of the same kind; without it the layer is costed as one
generic kernel). The :class:`LayerDef` docstring lists what reads each of them.

Bump ``LayerDef.version`` when the meaning of saved params changes and give ``LayerDef.migrate(old_version,
params) -> params``; files saved with the old version are migrated as they load. A file that uses your layer
still opens where the plugin is missing: the node is kept, reported as unknown, and saved back unchanged.

Shape rules receive validated params (:class:`Params`, attribute access) and a mapping of input port to
:class:`TensorSpec`; dimensions are ints or symbols such as ``"N"`` (the batch). The helpers below
(``concrete``, ``window_out``, ``normalize_axis``, ``broadcast`` …) cover the usual cases and phrase errors
the way built-in layers do.
"""

from __future__ import annotations

from neuralforge_desktop.core.catalog.kernels import (
    Kernel,
    KernelKind,
    LatencyRule,
    attention_kernel,
    conv_kernel,
    linear_kernel,
    matmul_kernel,
    pool_kernel,
    recurrent_kernel,
    runs_copy,
    runs_elementwise,
    runs_elementwise_math,
    runs_gather,
    runs_norm_affine,
    runs_norm_stats,
    runs_reduce,
    runs_view,
)
from neuralforge_desktop.core.catalog.memory_spec import (
    Autograd,
    Layout,
    Placement,
    Saved,
    elementwise,
    same_view,
    saves_input,
    saves_nothing,
    saves_output,
)
from neuralforge_desktop.core.catalog.registry import PLUGIN_GROUP
from neuralforge_desktop.core.catalog.shape_utils import (
    broadcast,
    concrete,
    mul_dims,
    normalize_axis,
    numel,
    prod,
    total_numel,
    transposed_out,
    window_out,
)
from neuralforge_desktop.core.catalog.spec import (
    CostRule,
    CountRule,
    Example,
    KerasCall,
    LayerDef,
    LossCheck,
    Params,
    ParamSpec,
    PortSpec,
    ShapeRule,
    SizeRule,
    SummaryRule,
    TorchCall,
    Trait,
    float_dtype,
    no_params,
    zero_cost,
)
from neuralforge_desktop.core.diagnostics import ParamError, ShapeError
from neuralforge_desktop.core.ir.types import BATCH, Dim, DType, TensorSpec, describe_shape, dim_expr

__all__ = [
    "BATCH",
    "Autograd",
    "Layout",
    "Placement",
    "Saved",
    "PLUGIN_GROUP",
    "CostRule",
    "CountRule",
    "DType",
    "Dim",
    "Example",
    "KerasCall",
    "Kernel",
    "KernelKind",
    "LatencyRule",
    "LayerDef",
    "LossCheck",
    "ParamError",
    "ParamSpec",
    "Params",
    "PortSpec",
    "ShapeError",
    "ShapeRule",
    "SizeRule",
    "SummaryRule",
    "TensorSpec",
    "TorchCall",
    "Trait",
    "attention_kernel",
    "broadcast",
    "concrete",
    "conv_kernel",
    "describe_shape",
    "dim_expr",
    "elementwise",
    "float_dtype",
    "linear_kernel",
    "matmul_kernel",
    "mul_dims",
    "no_params",
    "normalize_axis",
    "numel",
    "pool_kernel",
    "prod",
    "recurrent_kernel",
    "runs_copy",
    "runs_elementwise",
    "runs_elementwise_math",
    "runs_gather",
    "runs_norm_affine",
    "runs_norm_stats",
    "runs_reduce",
    "runs_view",
    "same_view",
    "saves_input",
    "saves_nothing",
    "saves_output",
    "total_numel",
    "transposed_out",
    "window_out",
    "zero_cost",
]
