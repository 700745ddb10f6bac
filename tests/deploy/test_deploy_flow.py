"""The whole deploy flow from the command line, as a user runs it: register a trained run, gate it under a
policy, promote it, serve it over HTTP, register a static int8 quantisation of it as version 2, serve it as a
20 % canary, and read the traffic, latency and accuracy back from the monitoring in the store.

Every step is a real `neuralforge` command in a child process; the servers run on a local Ray instance."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuralforge_desktop.core.ir.serialize import load_graph
from neuralforge_desktop.core.optimize.measure import validation_data
from tests.serving.http import free_port, get, post

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = REPO / "docs" / "examples" / "policy.yaml"
CANARY_REQUESTS = 1000
CANARY_PERCENT = 20
TOLERANCE_POINTS = 4
FEEDBACK_LABELS = 5


class Cli:
    """Runs `neuralforge ARGS --store STORE` in a child process and keeps a transcript of what it printed."""

    def __init__(self, store: Path, env: dict[str, str]) -> None:
        self.store, self.env, self.transcript = store, env, []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "neuralforge_desktop.cli.main", *args, "--store", str(self.store)]

    def __call__(self, *args: str, status: int = 0) -> str:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env, timeout=600,
                              stdin=subprocess.DEVNULL)
        self.transcript.append(f"$ neuralforge {' '.join(args)}\n{done.stdout.strip()}\n(exit {done.returncode})")
        assert done.returncode == status, f"neuralforge {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def serve(self, *args: str) -> tuple[subprocess.Popen[str], str]:
        """Start `neuralforge serve ARGS`; returns the server and its banner once it serves."""
        server = subprocess.Popen(self.command("serve", *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=self.env)
        banner = server.stdout.readline() if server.stdout else ""
        if "serving" not in banner:
            stop(server)
            pytest.fail(f"neuralforge serve {' '.join(args)} did not start: {banner}{server.stderr.read()}")
        self.transcript.append(f"$ neuralforge serve {' '.join(args)} &\n{banner.strip()}")
        return server, banner


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def policy_for_a_tiny_run(tmp_path: Path) -> Path:
    """The example policy with metric bounds a one-epoch run on 256 digits meets (every other check as it is)."""
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    policy["checks"]["metrics"] = {"acc": {"min": 0.3}, "loss": {"max": 3.0}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def recorded_requests(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT version, COUNT(*) FROM monitor_requests WHERE model = 'mnist' GROUP BY version")
        return {str(v): int(n) for v, n in rows}


def wait_recorded(store: Path, expected: dict[str, int], limit_s: float = 120) -> dict[str, int]:
    """The recorder writes from a buffer in the router's replica: wait for the requests sent to arrive."""
    deadline = time.monotonic() + limit_s
    while (found := recorded_requests(store)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


@pytest.mark.slow
def test_register_gate_promote_serve_canary_and_monitor(trained_template, tmp_path):
    folder = tmp_path / "store"
    shutil.copytree(trained_template["folder"], folder)
    store = folder / "store.db"
    cache = tempfile.mkdtemp(prefix="nfd", dir="/tmp")  # Ray's temporary folder goes under it: short on purpose
    cli = Cli(store, {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": cache})
    run = trained_template["run"]
    run_folder = folder / "runs" / run
    data = validation_data(load_graph(run_folder / "graph.nfg"), json.loads((run_folder / "config.json").read_text()))
    images, labels = data.inputs[0], data.labels
    servers: list[subprocess.Popen[str]] = []
    try:
        # version 1: the trained run, gated (the example policy is valid; its metric bounds eased for 256 digits)
        assert "registered mnist@1" in cli("registry", "register", run, "--name", "mnist")
        gate = cli("gate", "mnist@1", "--policy", str(policy_for_a_tiny_run(tmp_path)))
        assert ": passed" in gate.splitlines()[0] and "pass  export_parity" in gate
        cli("registry", "promote", "mnist@1", "--to", "production")
        assert "production" in cli("registry", "show", "mnist@1")

        # serve production: predictions over HTTP from version 1
        port = free_port()
        server, banner = cli.serve("mnist@production", "--port", str(port), "--cpus", "2", "--sample-rate", "1")
        servers.append(server)
        url = f"http://127.0.0.1:{port}/v1/models/mnist:predict"
        status, answer = post(url, {"instances": images[:2].tolist()})
        assert status == 200, answer
        assert answer["model_version"] == "1" and np.asarray(answer["predictions"]).shape == (2, 10)
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        stop(server)

        # version 2: static int8 quantisation of the same run, registered from the optimised run
        optimised = json.loads(cli("optimize", run, "--method", "quantize-static-int8", "--calibration-samples",
                                   "64", "--latency-runs", "3", "--json"))
        assert optimised["parent_run"] == run
        registered = cli("registry", "register", optimised["run_id"], "--name", "mnist")
        assert "registered mnist@2" in registered and "quantize-static-int8" in registered

        # production (1) with version 2 as a 20 % canary: 1,000 requests
        port = free_port()
        server, banner = cli.serve("mnist@production", "--canary", "mnist@2", "--canary-percent",
                                   str(CANARY_PERCENT), "--port", str(port), "--cpus", "2", "--sample-rate", "1")
        servers.append(server)
        assert "version 1: 80 %, version 2: 20 %" in banner
        url = f"http://127.0.0.1:{port}/v1/models/mnist:predict"

        def ask(i: int) -> tuple[int, dict, int]:
            index = i % len(images)
            status, answer = post(url, {"instances": images[index:index + 1].tolist()})
            return status, answer, index

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(CANARY_REQUESTS)))
        assert all(status == 200 for status, _, _ in answers), [a for a in answers if a[0] != 200][:3]
        served = {v: sum(a["model_version"] == v for _, a, _ in answers) for v in ("1", "2")}
        canary_share = 100 * served["2"] / CANARY_REQUESTS
        print(f"canary split over {CANARY_REQUESTS} requests: version 1 {served['1']}, version 2 {served['2']} "
              f"({canary_share:.1f} %)")
        assert abs(canary_share - CANARY_PERCENT) <= TOLERANCE_POINTS

        # the monitoring recorder wrote every request to the store: both versions' traffic and latency
        expected = {"1": served["1"] + 1, "2": served["2"]}  # the first server's request was version 1's
        assert wait_recorded(store, expected) == expected
        report = json.loads(cli("monitor", "mnist", "--json"))
        for version, count in expected.items():
            figures = report["versions"][version]
            assert figures["count"] == count
            assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
        assert report["summary"]["count"] == sum(expected.values())
        assert set(report["drift"]["latest"]) == {"1", "2"}  # against the runs' training data, via the registry

        # labels sent back give an accuracy
        labelled = answers[:FEEDBACK_LABELS]
        feedback_url = url.replace(":predict", ":feedback")
        for n, (_, answer, index) in enumerate(labelled):
            if n % 2:  # sent back over HTTP, as a client would, or from the command line
                status, reply = post(feedback_url, {"prediction_id": answer["prediction_id"],
                                                    "label": int(labels[index])})
                assert status == 200 and reply["prediction_id"] == answer["prediction_id"], reply
            else:
                cli("monitor", "feedback", answer["prediction_id"], str(int(labels[index])))
        status, reply = post(feedback_url, {"label": 3})
        assert status == 400 and '"prediction_id" is missing' in reply["error"]
        correct = sum(int(np.argmax(a["predictions"][0]) == labels[i]) for _, a, i in labelled)
        accuracy = json.loads(cli("monitor", "mnist", "--json", "--no-drift"))["accuracy"]
        assert accuracy["labelled"] == FEEDBACK_LABELS and accuracy["correct"] == correct
        stop(server)
        assert server.returncode == 0
    finally:
        for server in servers:
            stop(server)
        shutil.rmtree(cache, ignore_errors=True)
        print("\n\n".join(cli.transcript))  # every command and what it printed (shown with -s or on failure)
