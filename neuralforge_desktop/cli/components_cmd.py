"""``neuralforge components list|show|save|add|export|remove``: the component library from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.graph_source import CliError, load_graph_arg
from neuralforge_desktop.core.components.component import Component

if TYPE_CHECKING:
    from neuralforge_desktop.core.ir.graph import Node

SAVE_EPILOG = """\
examples:
  neuralforge components save model.nfg block --name my_stage \\
      --expose width=conv1.out_channels,conv2.out_channels --expose heads=attn.num_heads:4
  neuralforge components save zoo:resnet18 layer2/block0 --name basic -o basic.nfcomp \\
      --expose width=conv1.out_channels,conv2.out_channels

NODE is a block's id (a nested one as OUTER/INNER), or several layer ids joined by commas, which are grouped
into a block first. Each --expose is NAME=NODE.PARAM[,NODE.PARAM…][:DEFAULT]; the targets are inside the
block (nested as BLOCK/NODE.PARAM) and DEFAULT, read as JSON, is the first target's value when left out."""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser("components", help="reusable blocks with exposed parameters (the component library)",
                          description="Built-in and saved components: named blocks whose exposed parameters "
                          "(width, heads …) set their inner layers.")
    csub = comp.add_subparsers(dest="components_command", metavar="COMMAND", required=True)
    ls = csub.add_parser("list", help="list built-in and saved components")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_list)
    show = csub.add_parser("show", help="a component's parameters, inputs and layers")
    show.add_argument("name", metavar="NAME", help="a component name or a .nfcomp file")
    show.set_defaults(func=cmd_show)
    save = csub.add_parser("save", help="save a block (or layers) of a graph as a component",
                           epilog=SAVE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    save.add_argument("graph", metavar="GRAPH", help="a .nfg file or zoo:NAME")
    save.add_argument("node", metavar="NODE", help="the block id, or layer ids joined by commas")
    save.add_argument("--name", required=True, help="the component's name (letters, digits, _ and -)")
    save.add_argument("--expose", action="append", default=[], metavar="NAME=NODE.PARAM,…[:DEFAULT]",
                      help="an exposed parameter and the inner params it sets (repeatable)")
    save.add_argument("--title", default="", help="the name shown in the palette")
    save.add_argument("--description", default="", help="one or two sentences for the tooltip")
    save.add_argument("-o", "--output", metavar="FILE", type=opt.output_file,
                      help="write this .nfcomp file instead of adding it to your library")
    save.add_argument("--replace", action="store_true", help="replace a saved component of the same name")
    save.set_defaults(func=cmd_save)
    add = csub.add_parser("add", help="add a .nfcomp file (someone shared it) to your library")
    add.add_argument("file", metavar="FILE")
    add.add_argument("--replace", action="store_true", help="replace a saved component of the same name")
    add.set_defaults(func=cmd_add)
    export = csub.add_parser("export", help="write a saved component to a .nfcomp file to share")
    export.add_argument("name", metavar="NAME")
    export.add_argument("-o", "--output", required=True, metavar="FILE", type=opt.output_file)
    export.set_defaults(func=cmd_export)
    remove = csub.add_parser("remove", help="delete a saved component from your library")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=cmd_remove)


def _resolve(name: str) -> Component:
    from neuralforge_desktop.core.components import library

    if name.endswith(library.FILE_SUFFIX) or "/" in name:
        return library.load_component(name)
    return library.find_component(name)


def cmd_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.cli.fmt import table
    from neuralforge_desktop.core.components import library

    builtins = library.builtin_components()
    users, problems = library.user_components()
    rows = [(c, "built-in") for c in builtins] + [(c, "saved") for c in users]
    if args.json:
        print(json.dumps([{"name": c.name, "title": c.title, "kind": kind, "description": c.description,
                           "params": {p.name: p.default for p in c.params}} for c, kind in rows], indent=2))
    else:
        print(table(["NAME", "KIND", "PARAMETERS", "TITLE"],
                    [[c.name, kind, ", ".join(f"{p.name}={p.default}" for p in c.params), c.title]
                     for c, kind in rows]))
        print(f"\nSaved components live in {library.library_dir()}")
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.ir.graph import INPUT, OUTPUT

    c = _resolve(args.name)
    print(f"{c.name}: {c.title}" + (" (built-in)" if c.builtin else ""))
    if c.description:
        print(f"  {c.description}")
    print("parameters:")
    for p in c.params:
        sets = ", ".join(p.targets) or "the block's structure"
        print(f"  {p.name} = {json.dumps(p.default)}  → {sets}" + (f"  ({p.help})" if p.help else ""))
    shapes = ", ".join(f"{n.id} {n.params.get('shape')}" for n in c.body.input_nodes)
    print(f"inputs: {shapes}  (shapes adapt to what the block is connected to)")
    print(f"outputs: {', '.join(n.id for n in c.body.output_nodes)}")
    layers = [f"{n.id}:{n.type}" for n in c.body if n.type not in (INPUT, OUTPUT)]
    print(f"layers: {' '.join(layers)}")
    return 0


def _block_of(graph_arg: str, node: str) -> Node:
    from neuralforge_desktop.core.analysis.shapes import infer_shapes
    from neuralforge_desktop.core.components.component import block_from_selection
    from neuralforge_desktop.core.ir.graph import GraphError

    graph = load_graph_arg(graph_arg)
    ids = [n.strip() for n in node.split(",") if n.strip()]
    if len(ids) == 1 and "/" in ids[0]:
        found = dict(graph.walk()).get(ids[0])
        if found is None:
            raise CliError(f"no node {ids[0]!r} in {graph_arg}")
        return found
    missing = [n for n in ids if n not in graph.nodes]
    if missing or not ids:
        raise CliError(f"no node {', '.join(missing) or node!r} in {graph_arg}")
    try:
        return block_from_selection(graph, infer_shapes(graph), ids)
    except GraphError as exc:
        raise CliError(f"cannot group {node}: {exc}") from None


def cmd_save(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.components import component as comp
    from neuralforge_desktop.core.components import library

    block = _block_of(args.graph, args.node)
    if not block.is_block or block.body is None:
        raise CliError(f"'{block.id}' is a {block.type}, not a block")
    specs = comp.parse_expose(args.expose)
    params = comp.exposed_with_defaults(block.body, specs)
    problem = library.name_problem(args.name)
    if problem:
        raise CliError(problem)
    component = comp.from_block(block, args.name, params, title=args.title, description=args.description)
    if args.output:
        path = library.save_component(component, args.output)
    else:
        path = library.add_to_library(component, replace=args.replace)
    print(f"saved component {component.name} ({plural(len(params), 'exposed parameter')}) to {path}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.components import library

    component = library.load_component(Path(args.file))
    path = library.add_to_library(component, replace=args.replace)
    print(f"added component {component.name} to {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.components import library

    path = library.save_component(library.find_component(args.name), args.output)
    print(f"wrote {path}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.components import library

    path = library.remove_from_library(args.name)
    print(f"removed {path}")
    return 0
