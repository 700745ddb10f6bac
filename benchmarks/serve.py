"""What does serving over HTTP on Ray Serve cost, next to calling onnxruntime in the same process?

The model is the MNIST CNN template (``zoo:mnist-cnn``, seeded weights) exported to ONNX once. Each repeat is a
fresh process that starts a local Ray instance, serves the model (one version, one replica, batching on,
request recording off) and sends single-instance predict requests from C client threads (one keep-alive
connection each) for a fixed time, at C = 1, 8 and 32; then it calls onnxruntime in-process from C threads on
the same inputs, one instance a call. Figures are medians over the repeats; the overhead ratios are
in-process requests/s over served requests/s, and served p50 over in-process p50.

Run from the repository root: ``python benchmarks/serve.py [--repeats 3] [--seconds 4]``. Prints a table, then
one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONCURRENCY = (1, 8, 32)
WARMUP_S = 1.0


def export_model(folder: Path) -> Path:
    path = folder / "mnist-cnn.onnx"
    subprocess.run([sys.executable, "-m", "neuralforge_desktop", "export", "zoo:mnist-cnn", "--format", "onnx",
                    "-o", str(path), "--no-verify"], check=True, capture_output=True, text=True, timeout=600)
    return path


def drive(send, concurrency: int, seconds: float) -> dict[str, float]:
    """Calls ``send(worker)`` from ``concurrency`` threads for ``seconds`` after a warm-up; requests/s and
    latency percentiles in ms."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    phase = {"measuring": False, "stop": False}

    def worker(index: int) -> None:
        state: dict = {}
        while not phase["stop"]:
            started = time.perf_counter()
            ok = send(state)
            elapsed = time.perf_counter() - started
            if phase["measuring"]:
                latencies[index].append(elapsed)
                errors[index] += 0 if ok else 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(WARMUP_S)
    phase["measuring"] = True
    began = time.perf_counter()
    time.sleep(seconds)
    phase["measuring"] = False
    wall = time.perf_counter() - began
    phase["stop"] = True
    for thread in threads:
        thread.join()
    samples = sorted(x for per_thread in latencies for x in per_thread)
    return {"rps": len(samples) / wall, "p50_ms": 1000 * samples[len(samples) // 2],
            "p99_ms": 1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))], "errors": sum(errors),
            "requests": len(samples)}


def child(model: Path, seconds: float, batch_wait_ms: float) -> dict:
    """One fresh process: served and in-process figures at every concurrency."""
    import numpy as np
    import onnxruntime as ort

    from neuralforge_desktop.core.serving.lifecycle import RayServe, cpus_needed
    from neuralforge_desktop.core.serving.resolve import resolve_plan
    from neuralforge_desktop.core.serving.spec import plan_traffic

    instance = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    body = json.dumps({"instances": [instance.tolist()]}).encode()
    port = free_port()
    config = resolve_plan(plan_traffic("mnist@1", None, None, None), onnx_files={"1": model}, port=port,
                          batch_wait_s=batch_wait_ms / 1000)
    temp = Path(tempfile.mkdtemp(prefix="nfb", dir="/tmp"))
    server = RayServe(host="127.0.0.1", port=port, num_cpus=os.cpu_count(), temp_dir=temp)
    server.start(cpus_needed(config))
    try:
        server.deploy(config)

        def send_http(state: dict) -> bool:
            if "conn" not in state:
                state["conn"] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn = state["conn"]
            conn.request("POST", "/v1/models/mnist:predict", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status == 200

        served = {c: drive(send_http, c, seconds) for c in CONCURRENCY}
    finally:
        server.stop()
        shutil.rmtree(temp, ignore_errors=True)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    batch = instance[None]

    def send_local(state: dict) -> bool:
        session.run(None, {name: batch})
        return True

    local = {c: drive(send_local, c, seconds) for c in CONCURRENCY}
    return {"served": served, "in_process": local}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def median_of(runs: list[dict], side: str, c: int, field: str) -> float:
    return statistics.median(run[side][str(c)][field] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes (default 3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per level (default 4)")
    parser.add_argument("--batch-wait-ms", type=float, default=5.0, help="replica batch wait (default 5, as serve)")
    parser.add_argument("--child", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child), args.seconds, args.batch_wait_ms)))
        return
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        model = export_model(Path(folder))
        runs = []
        for _ in range(args.repeats):
            done = subprocess.run([sys.executable, __file__, "--child", str(model), "--seconds", str(args.seconds),
                                   "--batch-wait-ms", str(args.batch_wait_ms)],
                                  capture_output=True, text=True, timeout=900, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    series = []
    print(f"{'conc':>4}  {'served req/s':>12} {'p50 ms':>7} {'p99 ms':>7}  {'in-proc req/s':>13} {'p50 ms':>7} "
          f"{'p99 ms':>7}  {'rps ratio':>9} {'p50 ratio':>9}  errors")
    for c in CONCURRENCY:
        row = {"concurrency": c}
        for side in ("served", "in_process"):
            row[side] = {f: round(median_of(runs, side, c, f), 3) for f in ("rps", "p50_ms", "p99_ms")}
        row["overhead_rps_ratio"] = round(row["in_process"]["rps"] / row["served"]["rps"], 2)
        row["overhead_p50_ratio"] = round(row["served"]["p50_ms"] / row["in_process"]["p50_ms"], 2)
        row["served_errors"] = sum(run["served"][str(c)]["errors"] for run in runs)
        series.append(row)
        s, i = row["served"], row["in_process"]
        print(f"{c:>4}  {s['rps']:>12.1f} {s['p50_ms']:>7.2f} {s['p99_ms']:>7.2f}  {i['rps']:>13.1f} "
              f"{i['p50_ms']:>7.3f} {i['p99_ms']:>7.3f}  {row['overhead_rps_ratio']:>9.1f} "
              f"{row['overhead_p50_ratio']:>9.1f}  {row['served_errors']}")
    notes = (f"zoo:mnist-cnn (seeded weights) as ONNX, one 1x28x28 instance per request; served: local Ray "
             f"Serve on {os.cpu_count()} CPUs, 1 replica, batching (max 32, {args.batch_wait_ms:g} ms wait), "
             "recording off, HTTP keep-alive clients in the same machine; in-process: onnxruntime "
             "InferenceSession.run from the same number of threads; "
             f"medians of {args.repeats} fresh processes, {args.seconds:g} s per level; the client threads share "
             f"the CPUs with the server; 1-minute load average before/after {load_before:.1f}/"
             f"{os.getloadavg()[0]:.1f} (other programs were using the machine when above {os.cpu_count()})")
    print(json.dumps({"series": series, "notes": notes}))


if __name__ == "__main__":
    main()
