"""Hostile graph files for the fuzz tests: real documents (every zoo template, saved as ``.nfg``) mutated by
Hypothesis, and the check every one of them must pass.

A mutation picks a place anywhere in the document (a key of an object, an item of a list) and deletes it,
replaces it with a hostile value (numbers at the limits, lone surrogates, right-to-left marks, wrong types),
adds an unknown key, duplicates a node, adds an edge that closes a cycle, nests the graph in blocks deeply or
sets a huge ``repeat``. :func:`exercise` then runs what a user runs on a file from a stranger (load, validate,
summary, codegen) and lets only a result or a :class:`UserError` through, each step within a time bound.
"""

from __future__ import annotations

import ast
import copy
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import strategies as st

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.serialize import dumps

STEP_SECONDS = 5.0  # each of load, validate, summary and codegen must answer within this

HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 2**64 + 1, 10**40, 1e308, -1e308, 1e-320,
                   float("nan"), float("inf"), float("-inf"), 0.5, -0.0]
HOSTILE_TEXT = ["", " ", "\udc80", "x\ud800y", "\u202eabc", "שלום", "a" * 300, "0abc", "N", "T", "y", "x",
                "weight", "Block", "Input", "Linear", "__class__", "a.b", "a/b", "\x00", "e\u0301", "😀"]
HOSTILE_OTHER: list[Any] = [None, True, False, [], {}, [1, 2], {"a": 1}, [[[]]], ["N", 3], [-1, 0]]
PARAM_NAMES = ["out_features", "in_features", "out_channels", "kernel_size", "stride", "padding", "dilation",
               "groups", "p", "num_embeddings", "embedding_dim", "hidden_size", "num_layers", "num_heads",
               "shape", "dim", "repeat", "eps", "momentum", "scale_factor", "max_len", "bias", "dtype", "role"]
HOSTILE_KEYS = ["extra", "\udc80", "", "repeat", "body", "id", "params", "__proto__", "\u202e"]

hostile_values = st.sampled_from(HOSTILE_NUMBERS + HOSTILE_TEXT + HOSTILE_OTHER) | st.integers() | st.floats() \
    | st.text(max_size=8)


@cache
def seed_texts() -> tuple[tuple[str, str], ...]:
    """``(name, .nfg text)`` of every zoo template: the real files the mutations start from."""
    return tuple((entry.name, dumps(zoo.build(entry.name))) for entry in zoo.list_models())


def _places(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in ``value``, depth first."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _places(value[key], out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((value, i))
            _places(item, out)
    return out


def _graphs(value: Any, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every graph object (one with a ``nodes`` list) in the document."""
    if isinstance(value, dict):
        if isinstance(value.get("nodes"), list):
            out.append(value)
        for item in value.values():
            _graphs(item, out)
    elif isinstance(value, list):
        for item in value:
            _graphs(item, out)
    return out


def _node_ids(graph: dict[str, Any]) -> list[str]:
    return [n["id"] for n in graph["nodes"] if isinstance(n, dict) and isinstance(n.get("id"), str)]


@st.composite
def mutated_documents(draw: st.DrawFn, max_mutations: int = 4) -> str:
    """The text of a zoo template with 1 to ``max_mutations`` hostile changes."""
    _, text = draw(st.sampled_from(seed_texts()))
    doc = json.loads(text)
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(["replace", "replace", "delete", "extra", "param", "param", "param", "param",
                                     "shape", "duplicate", "cycle", "nest", "repeat", "repeat", "tie", "symbol"]))
        _mutate(draw, doc, kind)
    return json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)


def _mutate(draw: st.DrawFn, doc: dict[str, Any], kind: str) -> None:
    places = _places(doc, [])
    graphs = _graphs(doc, [])
    if kind in ("replace", "delete", "extra") and places:
        container, key = draw(st.sampled_from(places))
        if kind == "replace":
            container[key] = draw(hostile_values)
        elif kind == "delete":
            del container[key]
        elif isinstance(container[key], dict):
            container[key][draw(st.sampled_from(HOSTILE_KEYS) | st.text(max_size=4))] = draw(hostile_values)
        return
    if not graphs:
        return
    graph = draw(st.sampled_from(graphs))
    ids = _node_ids(graph)
    nodes = [n for n in graph["nodes"] if isinstance(n, dict) and isinstance(n.get("params"), dict)]
    if kind == "param" and nodes:  # most mutations that load change a value only validation judges
        params = draw(st.sampled_from(nodes))["params"]
        key = draw(st.sampled_from(sorted(params) + PARAM_NAMES) if params else st.sampled_from(PARAM_NAMES))
        params[key] = draw(hostile_values)
    elif kind == "shape" and nodes:
        inputs = [n for n in nodes if n.get("type") == "Input"] or nodes
        draw(st.sampled_from(inputs))["params"]["shape"] = draw(st.lists(
            st.sampled_from([0, -1, 1, 3, 2**20, 2**40, 2**62, "T", "N", "S", 1.5, None]), max_size=5))
    if kind == "duplicate" and graph["nodes"]:
        graph["nodes"].append(copy.deepcopy(draw(st.sampled_from(graph["nodes"]))))
    elif kind == "cycle" and len(ids) >= 2 and isinstance(graph.get("edges"), list):
        src, dst = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        graph["edges"].append({"src": src, "src_port": "y", "dst": dst, "dst_port": draw(st.sampled_from(
            ["x", "y", "a", "b", "x2"]))})
    elif kind == "nest" and len(graphs) < 40:  # deeper than the limit, not deeper than this generator recurses
        depth = draw(st.sampled_from([2, 10, 40]))
        inner = copy.deepcopy(graph)
        for level in range(depth):
            inner = {"name": f"level{level}", "nodes": [
                {"id": "i", "type": "Input", "params": {"shape": [8]}},
                {"id": "b", "type": "Block", "params": {"repeat": draw(st.sampled_from([1, 2, 10**6]))},
                 "body": inner},
                {"id": "o", "type": "Output"}],
                "edges": [{"src": "i", "src_port": "y", "dst": "b", "dst_port": "i"},
                          {"src": "b", "src_port": "o", "dst": "o", "dst_port": "x"}]}
        graph.clear()
        graph.update(inner)
    elif kind == "repeat":
        blocks = [n for n in graph["nodes"] if isinstance(n, dict) and n.get("type") == "Block"]
        if blocks:
            node = draw(st.sampled_from(blocks))
            if isinstance(node.get("params"), dict):
                node["params"]["repeat"] = draw(st.sampled_from([0, 2, 1000, 10**6, 10**9, 2**63, 10**30]))
    elif kind == "tie" and ids:
        ties = graph.setdefault("ties", [])
        if isinstance(ties, list):
            ties.append({"node": draw(st.sampled_from(ids)), "param": draw(st.sampled_from(HOSTILE_TEXT)),
                         "source": draw(st.sampled_from(ids)), "source_param": draw(st.sampled_from(
                             ["weight", "bias", "\udc80", "nope"]))})
    elif kind == "symbol":
        symbols = graph.setdefault("symbols", {})
        if isinstance(symbols, dict):
            symbols[draw(st.sampled_from(["T", "N", "S", "\udc80", "x"]))] = draw(hostile_values)


class StepTimeout(Exception):
    """A step ran past :data:`STEP_SECONDS`: a hang, as far as a user can tell."""


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`StepTimeout` in the block after ``seconds`` (main thread, POSIX: SIGALRM)."""
    def expire(signum: int, frame: Any) -> None:
        raise StepTimeout(f"{what} took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    """What :func:`exercise` saw: the steps that ran, the user errors and the slowest step."""

    steps: list[str] = field(default_factory=list)
    user_errors: list[str] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def timed(self, what: str, started: float) -> None:
        self.steps.append(what)
        took = time.perf_counter() - started
        if took > self.slowest[0]:
            self.slowest = (took, what)


def exercise(text: str | bytes, seconds: float = STEP_SECONDS) -> Outcome:
    """Load, validate, summarise and generate code for ``text``: each step gives a result or a
    :class:`UserError` within ``seconds``; anything else propagates. Generated source must parse."""
    from neuralforge_desktop.core.analysis.cost import estimate_cost
    from neuralforge_desktop.core.analysis.lint import lint
    from neuralforge_desktop.core.analysis.shapes import infer_shapes
    from neuralforge_desktop.core.codegen.pytorch import generate_pytorch
    from neuralforge_desktop.core.ir.serialize import loads

    outcome = Outcome()

    def step(what: str, run: Any) -> Any:
        started = time.perf_counter()
        try:
            with time_limit(seconds, what):
                return run()
        except UserError as exc:
            str(exc).encode("utf-8", "backslashreplace")  # the message itself must be printable
            outcome.user_errors.append(f"{what}: {exc}")
            return None
        finally:
            outcome.timed(what, started)

    graph = step("load", lambda: loads(text, source="fuzz.nfg"))
    if graph is None:
        return outcome
    shapes = step("validate", lambda: infer_shapes(graph))
    if shapes is None:
        return outcome
    if not shapes.errors:
        step("lint", lambda: lint(graph, shapes))
    step("summary", lambda: estimate_cost(graph, shapes, batch_size=1, device="cpu"))
    code = step("codegen", lambda: generate_pytorch(graph, shapes))
    if code is not None:
        check_parses(code.source)
    return outcome


class UnparsableSource(AssertionError):
    """Generated code that is not Python: the message shows the offending line."""


def check_parses(source: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        lines = source.splitlines()
        line = lines[exc.lineno - 1] if exc.lineno and exc.lineno <= len(lines) else ""
        raise UnparsableSource(f"{exc.msg}: {line.strip()!a}") from None
    except (UnicodeEncodeError, ValueError) as exc:  # lone surrogates, null bytes
        start = getattr(exc, "start", 0)
        line = source[:start].count("\n")
        raise UnparsableSource(f"{exc}: {source.splitlines()[line].strip()!a}") from None
