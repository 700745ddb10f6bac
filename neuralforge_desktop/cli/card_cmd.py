"""``neuralforge card NAME@V``: a registered version's model card (Hugging Face format), regenerated from what
the store knows and keeping the human sections; ``--set``/``--edit`` write those sections; ``card check NAME@V``
exits 1 listing the required fields still missing (or saying the card is stale)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from neuralforge_desktop.cli.graph_source import CliError
from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store

FORMATS = ("md", "html", "pdf")
_SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".pdf": "pdf"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from neuralforge_desktop.core.cards.fields import DEFAULT_REQUIRED, FIELD_KEYS

    card = sub.add_parser(
        "card", help="a model version's model card: generate, edit, export (md, html, pdf), check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Regenerate NAME@V's model card from the store (architecture, params/MACs, training data and its "
            "fingerprint, settings, metrics with intervals, fairness and explanation results, export targets, "
            "lineage), keeping its human sections, and print it (Markdown) or write it with -o.", 100) +
        "\n\n`neuralforge card check NAME@V` exits 1 listing the required fields that are missing.\n\n" +
        textwrap.fill(f"Human fields: {', '.join(FIELD_KEYS)}.", 100),
        epilog="examples:\n  neuralforge card mnist@1 -o card.md\n"
        "  neuralforge card mnist@1 --set intended_use='Digit reading in forms' --set limitations='…'\n"
        "  neuralforge card mnist@1 --edit\n  neuralforge card mnist@1 -o card.pdf\n"
        "  neuralforge card check mnist@1 --policy policy.yaml")
    card.add_argument("ref", metavar="NAME@V", help="the version (or `check` followed by the version)")
    card.add_argument("check_ref", nargs="?", metavar="", help=argparse.SUPPRESS)
    card.add_argument("-o", "--output", metavar="FILE", help="write the card here (.md, .html or .pdf)")
    card.add_argument("--format", choices=FORMATS, help="md, html or pdf (default: from -o's suffix, else md)")
    card.add_argument("--set", action="append", default=[], metavar="FIELD=TEXT", dest="assignments",
                      help="write a human field (repeatable)")
    card.add_argument("--edit", action="store_true", help="edit the human sections in $EDITOR (Markdown)")
    card.add_argument("--policy", metavar="FILE", help="check: the required fields are the policy's model_card ones")
    card.add_argument("--require", metavar="FIELD,…",
                      help=f"check: the required fields (default {','.join(DEFAULT_REQUIRED)})")
    card.add_argument("--json", action="store_true", help="print JSON (the card with its facts, or the check)")
    add_store_arg(card)
    card.set_defaults(func=cmd_card)


def cmd_card(args: argparse.Namespace) -> int:
    if args.ref == "check" and args.check_ref:
        return _check(args, args.check_ref)
    if args.check_ref:
        raise CliError(f"unexpected argument {args.check_ref!r}: give one NAME@V (or `card check NAME@V`)")
    return _write(args)


def _required(args: argparse.Namespace) -> list[str]:
    from neuralforge_desktop.core.cards.fields import DEFAULT_REQUIRED, field_by_key

    if args.require:
        return [field_by_key(key.strip()).key for key in args.require.split(",") if key.strip()]
    if args.policy:
        from neuralforge_desktop.core.registry import load_policy

        policy = load_policy(args.policy)
        if "model_card" in policy.checks:
            return list(policy.checks["model_card"]["required"])
    return list(DEFAULT_REQUIRED)


def _check(args: argparse.Namespace, ref: str) -> int:
    from neuralforge_desktop.core.cards import card_status

    required = _required(args)
    with open_store(args.store) as store:
        status = card_status(store, ref, required)
    if args.json:
        print(json.dumps({"ref": status.ref, "complete": status.complete, "exists": status.exists,
                          "required": required, "missing": status.missing, "stale": status.stale}, indent=2))
    elif status.complete:
        print(f"the model card of {status.ref} is complete ({', '.join(required)}) and current")
    else:
        for problem in status.problems():
            print(problem, file=sys.stderr)
    return 0 if status.complete else 1


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix not in _SUFFIXES:
            raise CliError(f"-o {args.output}: give a .md, .html or .pdf file, or --format")
        return _SUFFIXES[suffix]
    return "md"


def _write(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import cards
    from neuralforge_desktop.core.cards.fields import parse_assignment

    kind = _format(args)
    if kind == "pdf" and not args.output:
        raise CliError("a PDF card needs a file: -o FILE.pdf")
    edits = dict(parse_assignment(text) for text in args.assignments)
    with open_store(args.store) as store:
        if args.edit:
            current = cards.get_card(store, args.ref)
            edits = {**(current.fields if current else {}), **edits}
            edits = cards.markdown_to_fields(_edit_text(cards.fields_to_markdown(edits)))
        card = cards.generate_card(store, args.ref, edits)
        status = cards.card_status(store, args.ref)
    if args.json:
        print(json.dumps(card.to_json(), indent=2))
    elif not args.output:
        print(card.markdown if kind == "md" else cards.render_html(card.markdown, f"Model card {card.ref}"), end="")
    if args.output:
        _export(card, kind, Path(args.output))
    if status.missing and not args.json:
        print(f"note: {card.ref}'s card lacks {', '.join(status.missing)} (`neuralforge card {card.ref} --edit`)",
              file=sys.stderr)
    return 0


def _export(card: Any, kind: str, target: Path) -> None:
    from neuralforge_desktop.core import cards
    from neuralforge_desktop.core.ir.atomic import write_text_atomic

    if kind == "md":
        write_text_atomic(target, card.markdown)
        print(f"wrote {target} (Markdown)", file=sys.stderr)
    elif kind == "html":
        write_text_atomic(target, cards.render_html(card.markdown, f"Model card {card.ref}"))
        print(f"wrote {target} (HTML)", file=sys.stderr)
    else:
        pages = cards.write_pdf(cards.render_html(card.markdown, f"Model card {card.ref}"), target)
        print(f"wrote {target} (PDF, {pages} page{'s' if pages != 1 else ''})", file=sys.stderr)


def _edit_text(text: str) -> str:
    """Open ``text`` in $VISUAL or $EDITOR and return what was saved."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise CliError("--edit needs an editor: set $EDITOR (e.g. EDITOR=nano), or use --set FIELD=TEXT")
    with tempfile.TemporaryDirectory(prefix="nf-card-") as tmp:
        path = Path(tmp) / "model-card.md"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except OSError as exc:
            raise CliError(f"$EDITOR {editor!r} could not be started: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise CliError(f"the editor exited with status {done.returncode}; the card was not changed", 1)
        return path.read_text(encoding="utf-8")
