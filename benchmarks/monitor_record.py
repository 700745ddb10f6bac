"""Monitoring speed: what recording a served request costs the serving path, how fast the recorder's
writer keeps up, and how long a monitoring report of a busy model takes to gather.

* ``record()``: the call a replica makes per request (a tuple into the buffer; 10 % of requests are sampled
  with a 28×28 image as input, encoded later by the writer thread): median and p99 µs per call;
* writer: requests per second written to the store by one recorder's background thread, and by 4 processes
  (4 replicas) at once;
* ``monitor_report``: figures for a model with 100,000 recorded requests over a day (drift not recomputed).

    python benchmarks/monitor_record.py [--repeats 3]

Prints figures, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORDS = 20_000


def _one_process(store_path: str, records: int, out: multiprocessing.Queue) -> None:
    import numpy as np

    from neuralforge_desktop.core.monitoring.recorder import RequestRecorder

    image = np.random.default_rng(0).random((1, 28, 28)).round(3).tolist()
    recorder = RequestRecorder(store_path, "bench", sample_rate=0.1, seed=0)
    calls = np.empty(records)
    clock = time.perf_counter
    started = clock()
    for i in range(records):
        before = clock()
        recorder.record(version="1", latency_ms=3.0, ok=True, status=200, request_key=None, inputs=[image],
                        predictions=[[0.1] * 9 + [0.9]])
        calls[i] = clock() - before
    recorder.close()
    total_s = clock() - started
    # Per call: the median is what a request pays; the p99 includes the moments the writer thread holds the GIL.
    out.put((float(np.median(calls)) * 1e6, float(np.percentile(calls, 99)) * 1e6, records / total_s,
             recorder.failed_records + recorder.dropped_records))


def measure_record() -> dict[str, float]:
    """In a fresh process (this script run with --child): µs per record() and written requests/s."""
    from neuralforge_desktop.core.store.sqlite_store import Store

    folder = Path(tempfile.mkdtemp(prefix="nf-bench-monitor-"))
    path = folder / "store.db"
    Store(path).close()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    _one_process(str(path), RECORDS, queue)
    record_us, record_p99_us, written_per_s, lost = queue.get()
    procs = [multiprocessing.Process(target=_one_process, args=(str(path), RECORDS // 4, queue)) for _ in range(4)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    four_per_s = RECORDS / (time.perf_counter() - started)
    lost += sum(queue.get()[3] for _ in procs)
    return {"record_us": record_us, "record_p99_us": record_p99_us, "written_per_s_one": written_per_s,
            "written_per_s_four_processes": four_per_s,
            "lost": lost}


def measure_report() -> float:
    import numpy as np

    from neuralforge_desktop.core.monitoring import monitor_report
    from neuralforge_desktop.core.store.sqlite_store import Store

    path = Path(tempfile.mkdtemp(prefix="nf-bench-report-")) / "store.db"
    rng = np.random.default_rng(0)
    now = time.time()
    times = np.sort(rng.uniform(now - 86400, now, 100_000))
    with Store(path) as store, store.write_transaction() as conn:
        conn.executemany("INSERT INTO monitor_requests (prediction_id, model, version, time, latency_ms, ok, status) "
                         "VALUES (?, 'bench', ?, ?, ?, 1, 200)",
                         [(f"p{i}", "1" if i % 5 else "2", float(t), float(rng.lognormal(2, 0.5)))
                          for i, t in enumerate(times)])
    with Store(path) as store:
        started = time.perf_counter()
        monitor_report(store, "bench", refresh_drift=False)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps({**measure_record(), "report_s": measure_report()}))
        return 0
    runs = []
    for _ in range(args.repeats):
        done = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    result["repeats"] = args.repeats
    print(f"record(): median {result['record_us']:.1f} µs, p99 {result['record_p99_us']:.0f} µs per call "
          f"(medians of {args.repeats} fresh processes; 10 % sampled with a 28×28 image)")
    print(f"writer: {result['written_per_s_one']:,.0f} requests/s from one recorder, "
          f"{result['written_per_s_four_processes']:,.0f} requests/s from 4 processes at once; "
          f"lost: {result['lost']:.0f}")
    print(f"monitor_report on 100,000 requests over a day: {result['report_s'] * 1000:.0f} ms")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
