"""``neuralforge serve``: serve a registered model (or ONNX files) over HTTP on Ray Serve, in the foreground
until Ctrl+C; ``serve promote NAME`` / ``serve rollback NAME`` shift the traffic of a running server."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from neuralforge_desktop.cli import option_types as opt
from neuralforge_desktop.cli.train_cmds import add_store_arg
from neuralforge_desktop.core.errors import UserError

ADMIN_ACTIONS = ("promote", "rollback")
ADMIN_TIMEOUT_S = 30.0

EPILOG = """\
examples:
  neuralforge serve mnist@production --port 8000
  neuralforge serve mnist@1 --canary mnist@2 --canary-percent 20 --replicas 1:4
  neuralforge serve mnist --ab mnist@1=50,mnist@2=50
  neuralforge serve digits --onnx 1=digits_v1.onnx --onnx 2=digits_v2.onnx --canary digits@2
  neuralforge serve promote mnist --port 8000        (all traffic to the canary)
  neuralforge serve rollback mnist --port 8000       (back to the version before)
  curl -s localhost:8000/v1/models/mnist:predict -d '{"instances": [[...]]}'"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP on Ray Serve (canary, A/B, promote, rollback)",
                       description="Serve MODEL (NAME, NAME@VERSION or NAME@production from the model registry, "
                       "or ONNX files with --onnx) over HTTP: POST /v1/models/NAME:predict with "
                       '{"instances": [...]}, GET /v1/models/NAME, GET /healthz. Without --address a local Ray '
                       "instance is started and stopped with the server; Ctrl+C stops it. "
                       "`serve promote NAME` and `serve rollback NAME` change the traffic of a running server "
                       "without dropping requests.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="MODEL|promote|rollback", type=opt.non_empty,
                   help="the model to serve, or promote/rollback followed by NAME")
    p.add_argument("name", metavar="NAME", nargs="?", help="with promote or rollback: the served model's name")
    p.add_argument("--port", type=opt.port, default=8000, metavar="P", help="HTTP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1", metavar="HOST",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--replicas", default="1", metavar="MIN:MAX",
                   help="replicas per version, autoscaled by ongoing requests between MIN and MAX (default 1)")
    p.add_argument("--target-ongoing-requests", type=opt.positive_float, default=8.0, metavar="N",
                   help="requests in flight per replica that autoscaling aims for (default 8)")
    p.add_argument("--canary", metavar="NAME@V", help="a version that gets --canary-percent of the traffic")
    p.add_argument("--canary-percent", type=opt.positive_float, metavar="P",
                   help="the canary's share in percent (default 10)")
    p.add_argument("--ab", metavar="NAME@V1=W1,NAME@V2=W2", help="split traffic between versions by weight")
    p.add_argument("--onnx", action="append", default=[], metavar="[VERSION=]FILE",
                   help="serve this ONNX file as VERSION (default: the version in MODEL, or 1) instead of the "
                        "registry's; repeat for each version (MODEL without @VERSION is the first one given)")
    p.add_argument("--max-batch-size", type=opt.positive_int, default=32, metavar="N",
                   help="requests a replica runs together (default 32)")
    p.add_argument("--batch-wait-ms", type=opt.non_negative_float, default=5.0, metavar="MS",
                   help="how long a replica waits to fill a batch (default 5)")
    p.add_argument("--address", metavar="RAY_ADDRESS", help="deploy to this running Ray cluster")
    p.add_argument("--cpus", type=opt.positive_int, metavar="N", help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--no-record", action="store_true", help="do not record requests in the store's monitoring")
    p.add_argument("--sample-rate", type=opt.non_negative_float, default=0.1, metavar="R",
                   help="share of requests whose inputs and predictions are kept for drift (0 to 1, default 0.1; "
                        "every request's latency, version and outcome is recorded)")
    p.add_argument("--version", dest="promote_version", metavar="V",
                   help="with promote: the version to promote (needed when an A/B split has several)")
    add_store_arg(p)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.target in ADMIN_ACTIONS:
        if not args.name:
            raise UserError(f"serve {args.target} needs the served model's NAME: neuralforge serve {args.target} "
                            "NAME --port P")
        status = admin_action(args.target, args.name, args.host, args.port, args.promote_version)
        # The traffic change happens in the server's router; it is recorded from here, where the user acted.
        _audit(args.store, f"serving.{args.target}", args.name, {"port": args.port, "version": args.promote_version})
        return status
    if args.name:
        raise UserError(f"serve takes one MODEL, got {args.target!r} and {args.name!r}")
    return serve_foreground(args)


def serve_foreground(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.serving.lifecycle import RayServe, cpus_needed
    from neuralforge_desktop.core.serving.recording import store_recorder_factory
    from neuralforge_desktop.core.serving.resolve import parse_onnx_options, resolve_plan
    from neuralforge_desktop.core.serving.spec import Replicas, parse_replicas, plan_traffic

    if args.sample_rate > 1:
        raise UserError(f"--sample-rate: a share from 0 to 1, got {args.sample_rate:g}")
    plan = plan_traffic(args.target, args.canary, args.canary_percent, args.ab)
    minimum, maximum = parse_replicas(args.replicas)
    store = Path(args.store).expanduser() if args.store else None
    config = resolve_plan(plan, onnx_files=parse_onnx_options(args.onnx, args.target), store_path=store,
                          replicas=Replicas(minimum, maximum, args.target_ongoing_requests), host=args.host,
                          port=args.port, max_batch_size=args.max_batch_size, batch_wait_s=args.batch_wait_ms / 1000)
    recorder = None
    if not args.no_record:
        from neuralforge_desktop.core.store.sqlite_store import default_store_path

        recorder = store_recorder_factory(store or default_store_path(), config.model_name,
                                          sample_rate=args.sample_rate)
    _stop_on_terminate()
    server = RayServe(host=args.host, port=args.port, address=args.address, num_cpus=args.cpus)
    where = f"the Ray cluster at {args.address}" if args.address else "a local Ray instance"
    print(f"starting {where} …", file=sys.stderr, flush=True)
    url = ""
    try:
        server.start(cpus_needed(config))
        url = server.deploy(config, recorder)
        _audit(store, "serving.started", config.model_name, {"url": url, "weights": config.weights})
        split = ", ".join(f"version {v}: {w:g} %" for v, w in config.weights.items())
        print(f"serving {config.model_name} ({split}) at {url}\n"
              f"  metadata: {server.base_url()}/v1/models/{config.model_name}\n"
              f"  Ctrl+C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping …", file=sys.stderr, flush=True)
    finally:
        server.stop()
        if url:
            _audit(store, "serving.stopped", config.model_name, {"url": url})
    return 0


def _audit(store: str | Path | None, kind: str, name: str, details: dict[str, Any]) -> None:
    from neuralforge_desktop.core.audit import record_event_at

    record_event_at(Path(store).expanduser() if store else None, kind, name, details)


def admin_action(action: str, name: str, host: str, port: int, version: str | None) -> int:
    """POST to the running server's admin endpoint and print the traffic it answers with."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown}:{port}/admin/models/{name}:{action}"
    body = json.dumps({"version": version} if version else {}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise UserError(f"serve {action} {name}: {_error_text(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(f"no server answers on {shown}:{port} ({reason}): start one with "
                        f"`neuralforge serve {name} --port {port}`, or give the server's --port") from None
    weights = answer["traffic"]["weights"]
    split = ", ".join(f"version {v}: {w:g} %" for v, w in weights.items())
    print(f"{name}: traffic now {split}")
    return 0


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"


def _stop_on_terminate() -> None:
    """SIGTERM (a service manager, `kill`) stops the server as Ctrl+C does, so Ray is shut down cleanly."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
