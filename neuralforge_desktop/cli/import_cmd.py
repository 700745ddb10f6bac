"""``neuralforge import`` (a PyTorch model in your code, an ONNX file or a Keras file → an editable graph) and
``neuralforge trust``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a PyTorch model from your code, or an ONNX or Keras file, as an "
                       "editable graph",
                       description="Import SOURCE: model.onnx (checked against onnxruntime) or model.keras "
                       "(checked against Keras; TensorFlow is loaded only then) with the weights the file holds, "
                       "their layers mapped to the catalog's and other ONNX ops kept as generated PyTorch code; or "
                       "path/to/file.py:Name (with --framework keras, a Keras model or a function returning one) or "
                       "package.module:Name, where Name is an "
                       "nn.Module class (constructed with --kwargs) or a function returning a module. The model is "
                       "traced with torch.fx: layers the catalog knows become its layers, submodules become blocks "
                       "(identical ones in a row one repeated block), and what cannot be traced or mapped becomes a "
                       "custom-code node that carries its source. Writes OUT.nfg and its weights beside it as "
                       "OUT.safetensors (the module's own init, seeded, or --weights), after checking that the graph "
                       "computes what the module computes. Your code runs in this process.")
    p.add_argument("source", metavar="SOURCE", help="model.onnx, model.keras, path/to/file.py:Name or "
                   "package.module:Name")
    p.add_argument("-o", "--output", required=True, metavar="OUT.nfg", help="the graph file to write")
    p.add_argument("--input", action="append", default=[], metavar="NAME=SHAPE[:DTYPE]",
                   help="a forward argument's shape per example, batch excluded (x=3,32,32 or tokens=20:int64); "
                   "repeat for each argument; without it the file's example_input() is used")
    p.add_argument("--kwargs", default="{}", metavar="JSON", help="constructor arguments as a JSON object")
    p.add_argument("--weights", metavar="FILE", help="a state_dict to import instead of the init "
                   "(.safetensors, or a torch file read with weights_only=True)")
    p.add_argument("--framework", choices=("torch", "keras"), default="torch",
                   help="what a file.py:Name source builds: a torch module (default) or a Keras model (Name is a "
                   "model or a function returning one)")
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.set_defaults(func=cmd_import)

    t = sub.add_parser("trust", help="allow the Python code a graph carries to run here",
                       description="A graph's custom-code nodes carry Python source, which runs when the model is "
                       "built (to train, export or preview). Graphs you import are trusted as they are written; "
                       "read a graph from someone else (neuralforge codegen GRAPH shows the code) before trusting it.")
    t.add_argument("graph", metavar="GRAPH", help="a .nfg file")
    t.set_defaults(func=cmd_trust)


def cmd_import(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.importers.dispatch import import_model
    from neuralforge_desktop.core.importers.import_torch import write_import
    from neuralforge_desktop.core.importers.source import parse_input

    try:
        kwargs = json.loads(args.kwargs)
    except ValueError as exc:
        raise CliError(f"--kwargs is not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise CliError("--kwargs must be a JSON object, e.g. '{\"width\": 32}'")
    out = Path(args.output)
    if out.suffix != ".nfg":
        raise CliError(f"-o {out}: the graph file must end in .nfg")
    inputs = [parse_input(text) for text in args.input]
    result = import_model(args.source, inputs, kwargs=kwargs, weights=args.weights, framework=args.framework)
    graph_path, weights_path = write_import(result, out)
    if args.json:
        print(json.dumps({**result.report.to_json(), "graph": str(graph_path), "weights": str(weights_path)},
                         indent=2))
        return 0
    for line in result.report.lines():
        print(line)
    print(f"wrote {graph_path} and {weights_path.name}")
    print(f"next: neuralforge summary {graph_path}  ·  neuralforge codegen {graph_path}  ·  "
          f"neuralforge train {graph_path} --init {weights_path}")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.build.code_trust import trust
    from neuralforge_desktop.core.catalog.custom_code import TYPE

    graph = load_graph_arg(args.graph)
    found = [(path, node.params.get("source", "")) for path, node in graph.walk() if node.type == TYPE]
    if not found:
        print(f"{args.graph} carries no code: nothing to trust")
        return 0
    new = trust(source for _, source in found)
    print(f"trusted the code of {len(found)} custom-code node(s) ({new} new): {', '.join(p for p, _ in found)}")
    return 0
