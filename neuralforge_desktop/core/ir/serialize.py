"""The ``.nfg`` file format: one graph as pretty-printed UTF-8 JSON.

Layout (every key is always written, in this order, so diffs stay small)::

    {"format": "neuralforge-graph", "version": 1, "graph": GRAPH}
    GRAPH = {"name", "symbols", "meta", "nodes": [NODE…], "edges": [EDGE…], "ties": [TIE…]}
    NODE  = {"id", "type", "type_version", "params", "position": [x, y], "notes", "label", "trainable"}
            + "lr_mult" only when it is not 1 (files and graph hashes from before it existed stay the same)
            + "body": GRAPH for a Block
    EDGE  = {"src", "src_port", "dst", "dst_port"}
    TIE   = {"node", "param", "source", "source_param"}

The keys of ``params``, ``symbols`` and ``meta`` are sorted; short flat lists and objects (positions, edges,
simple params) stay on one line. A position that is a whole number is written without ``.0``.

Loading is strict about *structure* and lenient about *values*: a malformed file raises
:class:`GraphFileError` naming the file and the JSON path of the bad field (``nodes[3].position: …``), while
parameter values load as given for validation to report. Missing optional node and graph fields take their
defaults; a field this version does not know is an error (new fields come with a new format version).

Compatibility:

* File-format migrations (``register_format_migration``) turn a raw document of format ``k`` into ``k + 1``;
  they run in order on load. A file from a newer format is refused with a message saying so.
* Per-layer migrations: a node saved with ``type_version`` older than its catalog ``LayerDef.version`` has
  its params passed through ``LayerDef.migrate(old_version, params)`` and is given the current version.
* A node whose type no installed catalog knows keeps its whole saved record in ``Node.unknown`` (its edges
  are kept too). Saving writes that record back as it was; the fields the editor can change on any node
  (id, position, params, notes, label, trainable, type_version) are replaced only when they differ from
  the record, in place, so an untouched node is written back byte for byte and a moved one changes only its
  ``position``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import numbers
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from neuralforge_desktop.core.catalog.registry import Catalog
from neuralforge_desktop.core.catalog.registry import catalog as default_catalog
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.ir.graph import BLOCK, Graph, GraphError, Node, lr_mult_problem
from neuralforge_desktop.core.ir.identifiers import check_graph
from neuralforge_desktop.core.limits import DEFAULT_LIMITS, MAX_FILE_INT, Limits, over_limit

FORMAT_MARKER = "neuralforge-graph"
FORMAT_VERSION = 1
FILE_SUFFIX = ".nfg"

FormatMigration = Callable[[dict[str, Any]], dict[str, Any]]
_FORMAT_MIGRATIONS: dict[int, FormatMigration] = {}

_DOC_KEYS = ("format", "version", "graph")
_GRAPH_KEYS = ("name", "symbols", "meta", "nodes", "edges", "ties")
_NODE_KEYS = ("id", "type", "type_version", "params", "position", "notes", "label", "trainable", "lr_mult",
              "body")
_EDGE_KEYS = ("src", "src_port", "dst", "dst_port")
_TIE_KEYS = ("node", "param", "source", "source_param")
_NODE_DEFAULTS: dict[str, Any] = {
    "type_version": 1, "params": {}, "position": [0, 0], "notes": "", "label": "", "trainable": True,
    "lr_mult": 1.0,
}
_INLINE_WIDTH = 100


class GraphFileError(UserError):
    """A graph file that cannot be read or a graph that cannot be written.

    ``file`` is the path as given (the message shows its name), ``where`` the JSON path of the bad field
    (``nodes[2].position``; empty for the whole document), ``reason`` what is wrong; ``line`` and
    ``column`` are set for text that is not valid JSON.
    """

    def __init__(self, reason: str, where: str = "", file: str | os.PathLike[str] | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.where = where
        self.file = None if file is None else os.fspath(file)
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [Path(self.file).name if self.file else "", self.where, self.reason]
        return ": ".join(p for p in parts if p)


# -- file-format migrations ------------------------------------------------------------------------------
def register_format_migration(from_version: int, migration: FormatMigration, *,
                              replace: bool = False) -> FormatMigration:
    """Register the step from format ``from_version`` to ``from_version + 1``: it receives the raw document
    (a private copy) and returns it in the next format; the loader sets ``"version"`` afterwards."""
    if from_version in _FORMAT_MIGRATIONS and not replace:
        raise ValueError(f"a migration from format {from_version} is already registered")
    _FORMAT_MIGRATIONS[from_version] = migration
    return migration


def unregister_format_migration(from_version: int) -> None:
    _FORMAT_MIGRATIONS.pop(from_version, None)


def format_migrations() -> dict[int, FormatMigration]:
    """The registered steps, keyed by the format they read."""
    return dict(sorted(_FORMAT_MIGRATIONS.items()))


# -- reading ---------------------------------------------------------------------------------------------
def _at(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


class _Reader:
    def __init__(self, cat: Catalog, file: str | os.PathLike[str] | None, limits: Limits) -> None:
        self.catalog = cat
        self.file = file
        self.limits = limits
        self.node_count = 0
        self.depth = 0

    def fail(self, where: str, reason: str) -> NoReturn:
        raise GraphFileError(reason, where, self.file)

    def as_object(self, value: Any, where: str) -> dict[str, Any]:
        return value if isinstance(value, dict) else self.fail(where, f"expected an object, got {_show(value)}")

    def as_list(self, value: Any, where: str) -> list[Any]:
        return value if isinstance(value, list) else self.fail(where, f"expected a list, got {_show(value)}")

    def known_keys(self, obj: dict[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in obj:
            if key not in allowed:
                self.fail(_at(prefix, key), f"unknown field (expected one of {', '.join(allowed)})")

    def text(self, obj: dict[str, Any], key: str, where: str, default: str | None = None,
             identifier: bool = False) -> str:
        if key not in obj and default is not None:
            return default
        if key not in obj:
            self.fail(where, "missing")
        value = obj[key]
        if not isinstance(value, str) or (identifier and not value.isidentifier()):
            kind = "an identifier (letters, digits, underscores)" if identifier else "text"
            self.fail(where, f"expected {kind}, got {_show(value)}")
        return value

    def document(self, data: Any) -> Graph:
        data = self.as_object(data, "")
        marker = data.get("format")
        if marker != FORMAT_MARKER:
            self.fail("format", f"not a NeuralForge graph file (expected {FORMAT_MARKER!r}, got {_show(marker)})")
        version = data.get("version")
        if not _is_int(version):
            self.fail("version", f"expected an integer, got {_show(version)}")
        if version > FORMAT_VERSION:
            self.fail("", f"written by a newer NeuralForge (format {version}); this version reads up to "
                          f"{FORMAT_VERSION}")
        if version < FORMAT_VERSION:
            data = self.migrate(copy.deepcopy(data), version)
        self.known_keys(data, _DOC_KEYS, "")
        if "graph" not in data:
            self.fail("graph", "missing")
        return self.graph(self.as_object(data["graph"], "graph"), "")

    def migrate(self, data: dict[str, Any], version: int) -> dict[str, Any]:
        while version < FORMAT_VERSION:
            step = _FORMAT_MIGRATIONS.get(version)
            if step is None:
                self.fail("version", f"format {version} is not supported (no migration from format {version} "
                                     f"to {version + 1})")
            try:
                data = step(data)
            except Exception as exc:  # a broken migration must not surface as a random exception type
                self.fail("", f"migrating from format {version} to {version + 1} failed: {exc}")
            if not isinstance(data, dict):
                self.fail("", f"migrating from format {version} to {version + 1} did not produce an object")
            version += 1
            data["version"] = version
        return data

    def graph(self, obj: dict[str, Any], prefix: str) -> Graph:
        self.known_keys(obj, _GRAPH_KEYS, prefix)
        graph = Graph(self.text(obj, "name", _at(prefix, "name"), default="model"))
        for name, value in self.as_object(obj.get("symbols", {}), _at(prefix, "symbols")).items():
            where = f"{_at(prefix, 'symbols')}.{name}"
            if not name.isidentifier():
                self.fail(where, "a symbol name must be an identifier")
            if not _is_int(value):
                self.fail(where, f"expected an integer, got {_show(value)}")
            if not -MAX_FILE_INT - 1 <= value <= MAX_FILE_INT:  # a dimension size; larger breaks estimates
                self.fail(where, f"integer out of range (more than 64 bits): {_show(value)}")
            graph.symbols[name] = value
        graph.meta = copy.deepcopy(self.as_object(obj.get("meta", {}), _at(prefix, "meta")))
        if "nodes" not in obj:
            self.fail(_at(prefix, "nodes"), "missing")
        for i, record in enumerate(self.as_list(obj["nodes"], _at(prefix, "nodes"))):
            where = f"{_at(prefix, 'nodes')}[{i}]"
            self.node_count += 1
            if self.node_count > self.limits.nodes:
                self.fail(where, over_limit("the node count", self.node_count, self.limits.nodes, "nodes"))
            node = self.node(self.as_object(record, where), where)
            if node.id in graph.nodes:
                self.fail(f"{where}.id", f"duplicate node id {node.id!r}")
            graph.insert_node(node)
        for i, record in enumerate(self.as_list(obj.get("edges", []), _at(prefix, "edges"))):
            where = f"{_at(prefix, 'edges')}[{i}]"
            src, src_port, dst, dst_port = self.link(record, where, _EDGE_KEYS, graph, ("src", "dst"))
            try:
                graph.connect(src, src_port, dst, dst_port)
            except GraphError as exc:
                self.fail(where, str(exc))
        for i, record in enumerate(self.as_list(obj.get("ties", []), _at(prefix, "ties"))):
            where = f"{_at(prefix, 'ties')}[{i}]"
            node_id, param, source, source_param = self.link(record, where, _TIE_KEYS, graph, ("node", "source"))
            try:
                graph.tie(node_id, param, source, source_param)
            except GraphError as exc:
                self.fail(where, str(exc))
        check_graph(graph, self.catalog, prefix, self.fail)  # every name that generated code will hold
        return graph

    def link(self, record: Any, where: str, keys: tuple[str, ...], graph: Graph,
             node_keys: tuple[str, str]) -> tuple[str, str, str, str]:
        obj = self.as_object(record, where)
        self.known_keys(obj, keys, where)
        values = []
        for key in keys:
            value = self.text(obj, key, f"{where}.{key}")
            if not value:
                self.fail(f"{where}.{key}", "must not be empty")
            if key in node_keys and value not in graph.nodes:
                self.fail(f"{where}.{key}", f"no node {value!r}")
            values.append(value)
        return values[0], values[1], values[2], values[3]

    def node(self, obj: dict[str, Any], where: str) -> Node:
        self.known_keys(obj, _NODE_KEYS, where)
        node_id = self.text(obj, "id", f"{where}.id", identifier=True)
        type_name = self.text(obj, "type", f"{where}.type")
        if not type_name:
            self.fail(f"{where}.type", "must not be empty")
        version = obj.get("type_version", 1)
        if not _is_int(version) or version < 1:
            self.fail(f"{where}.type_version", f"expected a positive integer, got {_show(version)}")
        params = self.as_object(obj.get("params", {}), f"{where}.params")
        position = self.position(obj.get("position", [0, 0]), f"{where}.position")
        notes = self.text(obj, "notes", f"{where}.notes", default="")
        label = self.text(obj, "label", f"{where}.label", default="")
        trainable = obj.get("trainable", True)
        if not isinstance(trainable, bool):
            self.fail(f"{where}.trainable", f"expected true or false, got {_show(trainable)}")
        lr_mult = obj.get("lr_mult", 1.0)
        problem = lr_mult_problem(lr_mult)
        if problem is not None:
            self.fail(f"{where}.lr_mult", f"node {node_id!r}: {problem}")
        node = Node(node_id, type_name, copy.deepcopy(params), position=position, notes=notes, label=label,
                    trainable=trainable, lr_mult=float(lr_mult), type_version=version)
        layer = self.catalog.find(type_name)
        if layer is None and type_name != BLOCK:
            node.unknown = copy.deepcopy(obj)  # body (if any) stays raw inside the record
            return node
        if type_name == BLOCK:
            if "body" not in obj:
                self.fail(f"{where}.body", "a Block needs a body graph")
            repeat = params.get("repeat")
            if isinstance(repeat, int) and not isinstance(repeat, bool) and repeat > self.limits.repeat:
                self.fail(f"{where}.params.repeat", over_limit("repeat", repeat, self.limits.repeat, "repeat"))
            self.depth += 1
            if self.depth > self.limits.depth:
                self.fail(f"{where}.body", over_limit("block nesting", self.depth, self.limits.depth, "depth"))
            node.body = self.graph(self.as_object(obj["body"], f"{where}.body"), f"{where}.body")
            self.depth -= 1
        elif "body" in obj:
            self.fail(f"{where}.body", f"only Block nodes have a body, not {type_name}")
        if layer is not None and version < layer.version:
            if layer.migrate is not None:
                step = f"{type_name} params from version {version} to {layer.version}"
                try:
                    node.params = layer.migrate(version, copy.deepcopy(node.params))
                except Exception as exc:  # plugin code: report it against the node, whatever it raised
                    self.fail(where, f"cannot migrate {step}: {exc}")
                if not isinstance(node.params, dict):
                    self.fail(where, f"migrating {step} did not give a dict")
            node.type_version = layer.version
        return node

    def position(self, value: Any, where: str) -> tuple[float, float]:
        if isinstance(value, list) and len(value) == 2:
            x, y = value
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
                try:
                    fx, fy = float(x), float(y)
                except OverflowError:
                    fx = fy = math.inf
                if math.isfinite(fx) and math.isfinite(fy):
                    return fx, fy
        self.fail(where, f"expected [x, y] numbers, got {_show(value)}")


def graph_from_dict(data: Any, catalog: Catalog | None = None, *,
                    source: str | os.PathLike[str] | None = None, limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Build a graph from a parsed document (the whole ``{"format", "version", "graph"}`` object).

    ``catalog`` decides which types are known and which per-layer migrations apply (default: the
    process-wide catalog). ``source`` names the file in error messages; ``limits`` caps the node count,
    the nesting depth and block repeats. The input is never modified.
    """
    reader = _Reader(catalog if catalog is not None else default_catalog(), source, limits)
    try:
        return reader.document(data)
    except RecursionError:
        raise GraphFileError("blocks are nested too deeply", file=source) from None


def loads(text: str | bytes, catalog: Catalog | None = None, *,
          source: str | os.PathLike[str] | None = None, limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Parse ``.nfg`` text (a leading byte-order mark is ignored)."""
    if len(text) > limits.file_bytes:
        raise GraphFileError(over_limit("the file size", len(text), limits.file_bytes, "file_bytes"), file=source)
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GraphFileError(f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})",
                                 file=source) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise GraphFileError("the file is empty", file=source)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphFileError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=source,
                             line=exc.lineno, column=exc.colno) from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise GraphFileError(f"invalid JSON: {exc}", file=source) from None
    except RecursionError:
        raise GraphFileError("invalid JSON: nested too deeply", file=source) from None
    return graph_from_dict(data, catalog, source=source, limits=limits)


def load_graph(path: str | os.PathLike[str], catalog: Catalog | None = None, *,
               limits: Limits = DEFAULT_LIMITS) -> Graph:
    """Read a ``.nfg`` file. ``OSError`` (missing file, no permission) propagates as is."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > limits.file_bytes:
            raise GraphFileError(over_limit("the file size", size, limits.file_bytes, "file_bytes"), file=path)
        data = file.read(limits.file_bytes + 1)  # never more than the limit, whatever the size said
    return loads(data, catalog, source=path, limits=limits)


# -- writing ---------------------------------------------------------------------------------------------
def _json(value: Any, where: str, file: str | os.PathLike[str] | None) -> Any:
    """A JSON-ready copy: tuples become lists, object keys are sorted, anything else is refused by path."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list | tuple):
        return [_json(v, f"{where}[{i}]", file) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise GraphFileError(f"cannot save a non-text key {_show(key)}", where, file)
        return {k: _json(value[k], _at(where, k), file) for k in sorted(value)}
    raise GraphFileError(f"cannot save a value of type {type(value).__name__}", where, file)


def _coord(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _node_fields(node: Node, where: str, file: str | os.PathLike[str] | None) -> dict[str, Any]:
    try:
        x, y = (float(v) for v in node.position)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise GraphFileError(f"cannot save position {_show(node.position)}", f"{where}.position", file)
    problem = lr_mult_problem(node.lr_mult)
    if problem is not None:
        raise GraphFileError(f"node {node.id!r}: {problem}", f"{where}.lr_mult", file)
    return {
        "id": node.id,
        "type": node.type,
        "type_version": int(node.type_version),
        "params": _json(node.params, f"{where}.params", file),
        "position": [_coord(x), _coord(y)],
        "notes": str(node.notes),
        "label": str(node.label),
        "trainable": bool(node.trainable),
        "lr_mult": _coord(float(node.lr_mult)),
    }


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0, object key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _node_dict(node: Node, where: str, file: str | os.PathLike[str] | None) -> dict[str, Any]:
    fields = _node_fields(node, where, file)
    if node.unknown is not None:
        record = copy.deepcopy(node.unknown)
        for key, value in fields.items():
            if key in record:
                if not _json_equal(record[key], value):
                    record[key] = value
            elif key not in _NODE_DEFAULTS or not _json_equal(_NODE_DEFAULTS[key], value):
                record[key] = value
        return record
    if _json_equal(fields["lr_mult"], _NODE_DEFAULTS["lr_mult"]):
        del fields["lr_mult"]  # the usual case: not written, so files from before lr_mult read the same
    if node.is_block:
        if node.body is None:
            raise GraphFileError("a Block needs a body graph", f"{where}.body", file)
        fields["body"] = _graph_dict(node.body, f"{where}.body", file)
    return fields


def _graph_dict(graph: Graph, prefix: str, file: str | os.PathLike[str] | None) -> dict[str, Any]:
    return {
        "name": str(graph.name),
        "symbols": _json(graph.symbols, _at(prefix, "symbols"), file),
        "meta": _json(graph.meta, _at(prefix, "meta"), file),
        "nodes": [_node_dict(n, f"{_at(prefix, 'nodes')}[{i}]", file) for i, n in enumerate(graph.nodes.values())],
        "edges": [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port} for e in graph.edges],
        "ties": [{"node": t.node, "param": t.param, "source": t.source, "source_param": t.source_param}
                 for t in graph.ties],
    }


def graph_to_dict(graph: Graph, *, source: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The whole document as plain JSON data; a value JSON cannot hold raises :class:`GraphFileError`."""
    return {"format": FORMAT_MARKER, "version": FORMAT_VERSION, "graph": _graph_dict(graph, "", source)}


_encode_text = json.encoder.encode_basestring
_encode_ascii = json.encoder.encode_basestring_ascii


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: escape them so the file stays valid UTF-8
                return _encode_ascii(value)
        return _encode_text(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value)


def _flat(value: Any) -> bool:
    """Holds no objects, and lists only of scalars: short enough values of this kind go on one line."""
    children = value.values() if isinstance(value, dict) else value
    return not any(isinstance(v, dict) or (isinstance(v, list) and not _flat(v)) for v in children)


def _format(value: Any, level: int = 0) -> str:
    if isinstance(value, dict | list) and (not value or (level and _flat(value))):
        inline = _inline(value)
        if len(inline) <= _INLINE_WIDTH or not value:
            return inline
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        body = ",\n".join(f"{pad}{_scalar(k)}: {_format(v, level + 1)}" for k, v in value.items())
        return "{\n" + body + "\n" + "  " * level + "}"
    if isinstance(value, list):
        return "[\n" + ",\n".join(pad + _format(v, level + 1) for v in value) + "\n" + "  " * level + "]"
    return _scalar(value)


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def dumps(graph: Graph, *, source: str | os.PathLike[str] | None = None) -> str:
    """The ``.nfg`` text of ``graph`` (ends with a newline)."""
    return _format(graph_to_dict(graph, source=source)) + "\n"


def save_graph(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` to ``path`` atomically.

    The text goes to a temporary file in the same directory, is flushed to disk and then renamed over the
    target, so a crash leaves either the old file or the new one, never a mix, and no temporary file. An
    existing file keeps its permission bits; a new one gets the usual ones (0o666 less the umask). Saving
    through a symbolic link replaces the file it points to and keeps the link.
    """
    data = dumps(graph, source=path).encode("utf-8")
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = -1
    while fd < 0:
        temp = target.with_name(f".{target.name}.tmp{secrets.token_hex(4)}")  # matches *.nfg.tmp* in .gitignore
        with contextlib.suppress(FileExistsError):
            fd = os.open(temp, flags, 0o666)  # 0o666 less the umask, like any new file
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); best effort, since not every file system allows it."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
