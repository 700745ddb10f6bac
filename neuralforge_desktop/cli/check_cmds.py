"""``neuralforge validate`` and ``neuralforge codegen``."""

from __future__ import annotations

import argparse
import json
import sys

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.core.ir.graph import Graph


def add_parsers(sub: argparse._SubParsersAction) -> None:
    val = sub.add_parser("validate", help="check a graph: shapes, params, connections",
                         description="Check every node of GRAPH (a .nfg file or zoo:NAME). Exits 1 when there "
                         "are errors and lists all of them; warnings do not fail.")
    val.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    val.add_argument("--json", action="store_true", help="print JSON")
    val.set_defaults(func=cmd_validate)

    gen = sub.add_parser("codegen", help="generate model source code",
                         description="Generate a standalone module with the model class, build_model() and "
                         "example_input(). Keras code keeps PyTorch's tensor layout (channels_first) and adds "
                         "load_torch_weights(), which takes the PyTorch model's weights.")
    gen.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    gen.add_argument("--framework", choices=["pytorch", "keras"], default="pytorch",
                     help="target framework: pytorch (default) or keras (Keras 3)")
    gen.add_argument("-o", "--output", type=opt.output_file, metavar="FILE",
                     help="write here instead of standard output")
    gen.set_defaults(func=cmd_codegen)


_FRAMEWORKS = {"pytorch": "PyTorch", "keras": "Keras"}


def cmd_validate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.analysis.lint import lint
    from neuralforge_desktop.core.analysis.shapes import infer_shapes

    graph = load_graph_arg(args.graph)
    shapes = infer_shapes(graph)
    errors = shapes.errors
    warnings = [d for d in shapes.diagnostics if not d.is_error] + (lint(graph, shapes) if not errors else [])
    if args.json:
        print(json.dumps({"graph": graph.name, "ok": not errors, "errors": [d.to_json() for d in errors],
                          "warnings": [d.to_json() for d in warnings]}, indent=2))
        return 1 if errors else 0
    for d in errors:
        print(f"error: {d.message}")
    for d in warnings:
        print(f"warning: {d.message}")
    if errors:
        print(f"{graph.name}: {len(errors)} error(s), {len(warnings)} warning(s)", file=sys.stderr)
        return 1
    outputs = ", ".join(f"{k} {v}" for k, v in shapes.graph_outputs().items())
    print(f"{graph.name}: ok ({plural(len(graph), 'node')}; outputs: {outputs or 'none'}; "
          f"{plural(len(warnings), 'warning')})")
    return 0


def cmd_codegen(args: argparse.Namespace) -> int:
    return write_code(load_graph_arg(args.graph), args.output, args.framework)


def write_pytorch(graph: Graph, output: str | None) -> int:
    """Generate ``graph``'s PyTorch module into the file ``output`` (saying so), or onto standard output."""
    return write_code(graph, output, "pytorch")


def write_code(graph: Graph, output: str | None, framework: str) -> int:
    """Generate ``graph``'s module for ``framework`` into the file ``output`` (saying so), or onto standard
    output. A graph with errors, or (for Keras) with layers Keras cannot express, is one line and status 1."""
    from neuralforge_desktop.core.codegen.plan import PlanError

    if framework == "keras":
        from neuralforge_desktop.core.codegen.keras import generate_keras as generate
    else:
        from neuralforge_desktop.core.codegen.pytorch import generate_pytorch as generate
    try:
        code = generate(graph)
    except PlanError as exc:
        raise CliError(f"{graph.name}: cannot generate {_FRAMEWORKS[framework]} code: {exc}", status=1) from None
    if output:
        code.write(output)
        extra = ", load_torch_weights()" if framework == "keras" else ""
        print(f"wrote {output} (class {code.class_name}; build_model(), example_input(){extra})")
    else:
        sys.stdout.write(code.source)
    return 0
