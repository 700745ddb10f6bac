"""The stages that call other ``neuralforge`` commands in a child process: optimise (``neuralforge optimize RUN
--method M --json``), register (``neuralforge registry register RUN --name NAME --json``) and serve
(``neuralforge serve MODEL --port P``, started detached; the stage waits until ``GET /healthz`` answers).

A child is this interpreter running this very package with nothing from the working directory importable
(:mod:`neuralforge_desktop.core.training.child_python`). A command given ``--json`` prints its result as one JSON
object on its last line of output (or pretty-printed as its whole output); :func:`run_json_command` returns
that object, or fails with the command's
own error line."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.pipeline.context import StageContext, StageFailure, StageResult
from neuralforge_desktop.core.training.child_python import child_environment, python_command, run_main_code

CLI_MODULE = "neuralforge_desktop.cli.main"
OUTPUT_TAIL = 2000  # characters of a failed command's output kept in the stage's failure message
HEALTH_POLL_SECONDS = 0.5


def cli_command(*args: str) -> list[str]:
    """argv that runs ``neuralforge ARGS`` with this interpreter and this package."""
    return python_command(run_main_code(CLI_MODULE), *args)


def option_args(options: Mapping[str, Any], handled: Sequence[str]) -> list[str]:
    """The options a stage does not handle itself, as ``--key-name value`` (``true`` as a bare flag, ``false``
    left out), for the command it calls."""
    args: list[str] = []
    for key, value in options.items():
        if key in handled or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    return args


def last_json_object(text: str) -> dict[str, Any] | None:
    """A command's --json result: the last line of ``text`` that is a JSON object, else the pretty-printed object
    that ends the text; None when there is none."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    return value
    # Pretty-printed (as `optimize --json` and `registry register --json` print): from the last line that opens an
    # object at the margin, so that a line a library printed before the result does not hide it.
    lines = text.strip().splitlines()
    for start in reversed([i for i, line in enumerate(lines) if line.rstrip() == "{"]):
        with contextlib.suppress(ValueError):
            value = json.loads("\n".join(lines[start:]))
            if isinstance(value, dict):
                return value
    return None


def run_json_command(args: Sequence[str], *, timeout: float, log: Path) -> dict[str, Any]:
    """Run ``neuralforge ARGS`` (which should include --json) to its end; its JSON result. The command's whole
    output goes to ``log``; a failure quotes the command and the end of its standard error."""
    command = cli_command(*args)
    shown = "neuralforge " + " ".join(args)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**child_environment(), "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired as exc:
        _write_log(log, shown, _text(exc.stdout), _text(exc.stderr))
        raise StageFailure(f"`{shown}` did not finish within {timeout:g} s (its output: {log})") from None
    _write_log(log, shown, done.stdout, done.stderr)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip())[-OUTPUT_TAIL:]
        raise StageFailure(f"`{shown}` failed (exit status {done.returncode}): {tail or 'no output'}")
    result = last_json_object(done.stdout)
    if result is None:
        raise StageFailure(f"`{shown}` printed no JSON object on its last line (its output: {log})")
    return result


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def _write_log(log: Path, shown: str, stdout: str, stderr: str) -> None:
    log.write_text(f"$ {shown}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n", encoding="utf-8")


def _scalars(result: Mapping[str, Any]) -> dict[str, Any]:
    """A command's JSON result as stage outputs: its top-level values, with the numbers of nested mappings
    (e.g. ``after: {size_mb: …}``) also as ``after/size_mb`` so pass conditions can name them."""
    outputs: dict[str, Any] = {}
    for key, value in result.items():
        outputs[key] = value
        if isinstance(value, dict):
            for inner, number in value.items():
                if isinstance(number, int | float | str) and not isinstance(number, bool):
                    outputs[f"{key}/{inner}"] = number
    return outputs


def _store_args(ctx: StageContext) -> list[str]:
    return ["--store", str(ctx.store.path)]


# -- optimise ------------------------------------------------------------------------------------------------
def run_optimise(ctx: StageContext) -> StageResult:
    run_id = str(ctx.inputs["run"])
    method = str(ctx.options["method"])
    args = ["optimize", run_id, "--method", method, *option_args(ctx.options, ("method", "timeout_s")),
            "--json", *_store_args(ctx)]
    ctx.say(f"optimising run {run_id} ({method}) in a child process")
    result = run_json_command(args, timeout=float(ctx.options["timeout_s"]), log=ctx.work_dir / "optimize.log")
    outputs = _scalars(result)
    new_run = result.get("run_id") or result.get("run")
    if isinstance(new_run, dict):
        new_run = new_run.get("id")
    if not isinstance(new_run, str):
        raise StageFailure(f"`neuralforge optimize` gave no run id in its JSON result (keys: {', '.join(result)})")
    outputs["run_id"] = new_run
    outputs["parent_run"] = run_id
    return StageResult(outputs, [str(ctx.work_dir / "optimize.log")])


# -- register ------------------------------------------------------------------------------------------------
def run_register(ctx: StageContext) -> StageResult:
    run_id = str(ctx.inputs["run"])
    name = str(ctx.options["name"])
    args = ["registry", "register", run_id, "--name", name, *option_args(ctx.options, ("name", "timeout_s")),
            "--json", *_store_args(ctx)]
    ctx.say(f"registering run {run_id} as model {name}")
    result = run_json_command(args, timeout=float(ctx.options["timeout_s"]), log=ctx.work_dir / "register.log")
    outputs = _scalars(result)
    version = result.get("version")
    outputs["name"] = str(result.get("name") or name)
    if isinstance(version, int | str) and not isinstance(version, bool):
        outputs["version"] = version
        outputs["ref"] = f"{outputs['name']}@{version}"
    elif not isinstance(result.get("ref"), str):
        raise StageFailure(f"`neuralforge registry register` gave no version in its JSON result (keys: "
                           f"{', '.join(result)})")
    outputs["run_id"] = run_id
    return StageResult(outputs, [str(ctx.work_dir / "register.log")])


# -- serve ---------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """None once ``GET url`` answers 200 within ``timeout``; else why not (the process ended, or time ran out)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return f"the server exited (status {code}) before {url} answered"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return None
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(HEALTH_POLL_SECONDS)
    return f"{url} did not answer within {timeout:g} s ({last})"


def run_serve(ctx: StageContext) -> StageResult:
    """Start the server in its own session (it outlives the pipeline, as a deployment should) with its output in
    the stage's folder; wait for its health check; record where it listens and its pid (stop it with
    ``kill PID``). A server that does not come up is stopped and the stage fails with its log's end."""
    model = str(ctx.inputs["model"])
    port = int(ctx.options["port"]) or free_port()
    args = ["serve", model, "--port", str(port), *option_args(ctx.options, ("port", "timeout_s")),
            *_store_args(ctx)]
    log = ctx.work_dir / "serve.log"
    ctx.say(f"starting `neuralforge {' '.join(args)}`")
    with open(log, "wb") as out:
        process = subprocess.Popen(cli_command(*args), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**child_environment(), "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        problem = wait_healthy(f"{base}/healthz", process, float(ctx.options["timeout_s"]))
    except BaseException:  # interrupted while waiting: a server nobody recorded must not stay behind
        stop_server(process)
        raise
    if problem is not None:
        stop_server(process)
        tail = log.read_text(encoding="utf-8", errors="replace")[-OUTPUT_TAIL:].strip()
        raise StageFailure(f"`neuralforge {' '.join(args)}`: {problem}" + (f"\n{tail}" if tail else ""))
    name = model.split("@", 1)[0]
    outputs = {"url": base, "predict_url": f"{base}/v1/models/{name}:predict", "port": port, "pid": process.pid,
               "model": model, "log": str(log)}
    return StageResult(outputs, [str(log)])


def stop_server(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """End a server started by :func:`run_serve` and everything it started (its session's process group)."""
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
