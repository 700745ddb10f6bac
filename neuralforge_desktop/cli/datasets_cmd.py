"""``neuralforge datasets list`` and ``neuralforge datasets show NAME|PATH``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.fmt import plural
from neuralforge_desktop.cli.graph_source import CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser("datasets", help="built-in datasets and datasets on disk",
                        description="Built-in offline datasets, and datasets read from files or folders.")
    dsub = ds.add_subparsers(dest="datasets_command", metavar="COMMAND", required=True)
    ls = dsub.add_parser("list", help="list the built-in datasets",
                         description="List the built-in datasets, whether each is available here and how to get it.")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_datasets_list)

    show = dsub.add_parser("show", help="load a dataset and describe it",
                           description="Load a built-in dataset or the dataset at PATH (idx, CIFAR-10 batches, "
                                       "aclImdb, image folder, CSV/Parquet, .npz) and show its splits.")
    show.add_argument("dataset", metavar="NAME|PATH", type=opt.non_empty,
                      help="a built-in name (see `datasets list`) or a path")
    show.add_argument("--val-fraction", type=opt.fraction, default=0.1, metavar="F",
                      help="validation share (default 0.1)")
    show.add_argument("--test-fraction", type=opt.fraction, default=None, metavar="F",
                      help="hold out this share as the test split (default: the dataset's own test split)")
    show.add_argument("--seed", type=opt.seed, default=0, help="seed of the split (default 0)")
    show.add_argument("--limit", type=opt.positive_int, default=None, metavar="N", help="use at most N examples")
    show.add_argument("--no-normalize", action="store_true", help="leave inputs unnormalised")
    show.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                      help="a loader option, e.g. -o window=24 -o size=[32,32] (values are read as JSON when "
                           "they parse, else as text)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=cmd_datasets_show)


def _shape(shape: tuple[int, ...] | None) -> str:
    return "×".join(str(d) for d in shape) if shape else ""


def cmd_datasets_list(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.training.datasets import list_datasets

    infos = list_datasets()
    if args.json:
        print(json.dumps([{"name": i.name, "title": i.title, "task": i.task, "description": i.description,
                           "examples": i.num_examples, "input_shape": list(i.input_shape or ()),
                           "num_classes": i.num_classes, "available": i.available, "source": i.source,
                           "how_to_get": i.how_to_get,
                           "fields": {f.name: {"shape": list(f.shape), "dtype": f.dtype} for f in i.fields or ()}}
                          for i in infos], indent=2))
        return 0
    from neuralforge_desktop.cli.fmt import table

    rows = [[i.name, i.task, f"{i.num_examples:,}" if i.num_examples else "", _shape(i.input_shape),
             str(i.num_classes or ""), "yes" if i.available else "no", i.source] for i in infos]
    print(table(["NAME", "TASK", "EXAMPLES", "SHAPE", "CLASSES", "AVAILABLE", "SOURCE"], rows, right=[2, 4]))
    missing = [i for i in infos if not i.available]
    if missing:
        print("\nNot available here:")
        for i in missing:
            print(f"  {i.name}: {i.how_to_get}")
    print("\nLoad one, or a dataset on disk:  neuralforge datasets show NAME|PATH")
    return 0


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["window=24", "target=label"]`` → ``{"window": 24, "target": "label"}``."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--option {pair!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def cmd_datasets_show(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.training.datasets import DatasetError, load_dataset

    try:
        bundle = load_dataset(args.dataset, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                              seed=args.seed, normalize=not args.no_normalize, limit=args.limit,
                              options=parse_options(args.option))
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    splits = {name: len(split) for name, split in bundle.splits().items()}
    if args.json:
        print(json.dumps({
            "name": bundle.name, "task": bundle.task, "source": bundle.source,
            "input_shape": list(bundle.input_shape), "input_dtype": bundle.input_dtype,
            "num_classes": bundle.num_classes, "class_names": bundle.class_names, "splits": splits,
            "target_shape": list(bundle.train.y.shape[1:]), "fingerprint": bundle.fingerprint,
            "normalization": bundle.normalization, "vocab_size": bundle.vocab_size,
            "fields": {f.name: {"shape": list(f.shape), "dtype": f.dtype} for f in bundle.fields()},
            "notes": bundle.notes}, indent=2))
        return 0
    lines = [
        f"{bundle.name}  ({bundle.task})",
        f"  source       {bundle.source}",
        f"  input        {_shape(bundle.input_shape) or 'scalar'} {bundle.input_dtype} per example",
    ]
    fields = bundle.fields()
    if len(fields) > 1:
        lines.append("  fields       " + ", ".join(f.describe() for f in fields)
                     + "; a graph's data Inputs read the fields named like them")
    if bundle.task == "language-modeling":
        lines.append(f"  target       the next token at each of {_shape(bundle.train.y.shape[1:])} positions "
                     f"(int64; -100 after the text ends)")
    elif bundle.num_classes is not None:
        names = bundle.class_names or [str(i) for i in range(bundle.num_classes)]
        shown = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
        lines.append(f"  classes      {bundle.num_classes}: {shown}")
    else:
        lines.append(f"  target       {_shape(bundle.train.y.shape[1:])} float32 per example")
    lines.append("  splits       " + ", ".join(f"{name} {n:,}" for name, n in splits.items()))
    norm = bundle.normalization or {}
    if "over" in norm:
        lines.append(f"  normalised   {norm['over']}, statistics of the train split ({_stats(norm)})")
    for name, field_norm in norm.get("fields", {}).items():
        lines.append(f"  normalised   {name}: {field_norm['over']}, statistics of the train split "
                     f"({_stats(field_norm)})")
    if bundle.vocab:
        lines.append(f"  vocabulary   {plural(len(bundle.vocab), 'token')} (<pad> = 0, <unk> = 1)")
    elif bundle.vocab_size:
        from neuralforge_desktop.core.training.datasets.tokenizer import load_tokenizer

        kind = load_tokenizer(bundle.tokenizer).kind if bundle.tokenizer else "token"
        lines.append(f"  vocabulary   {plural(bundle.vocab_size, 'token')} ({kind} tokenizer, <pad> = 0)")
    lines.append(f"  fingerprint  {bundle.fingerprint}")
    lines.extend(f"  note         {note}" for note in bundle.notes)
    print("\n".join(lines))
    return 0


def _stats(norm: dict[str, Any]) -> str:
    mean, std = norm["mean"], norm["std"]
    if isinstance(mean, list) and len(mean) > 3:
        return f"{len(mean)} means and stds"
    fmt = lambda v: ", ".join(f"{x:.4g}" for x in v) if isinstance(v, list) else f"{v:.4g}"
    return f"mean {fmt(mean)}, std {fmt(std)}"
