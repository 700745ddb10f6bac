"""Do two fresh homes on this machine get the same CPU latency estimates, when one of them first ran while other
programs kept both cores busy?

Home A: ``neuralforge calibrate`` on the idle machine. Home B: its first command (``neuralforge summary``) runs
while two other processes keep every core busy, so it cannot calibrate: it says so, estimates with the rough
roofline meanwhile and leaves a calibration waiting in the background for an idle machine. The busy processes
stop; once B's background calibration has finished, every zoo template is estimated at batch 1 from A's and
from B's calibration, and the headline is the share within ±25 % of each other (all of them, to pass). With
``--force`` home B instead calibrates in the foreground under the load (``neuralforge calibrate --force``),
the worst case the app flags as measured under load.

Run from the repository root: ``python benchmarks/calibration_homes.py [--force]``. Prints a table, then one
JSON object on the last line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neuralforge_desktop.core import zoo
from neuralforge_desktop.core.analysis.calibration import FILE_NAME, read_calibration
from neuralforge_desktop.core.analysis.cost import estimate_cost

WITHIN = 0.25
BURN = "while True: pass"


def home(root: Path, name: str) -> dict[str, str]:
    folder = root / name
    folder.mkdir()
    return {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
            "XDG_CONFIG_HOME": str(folder / "config"), "XDG_CACHE_HOME": str(folder / "cache")}


def neuralforge(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "neuralforge_desktop", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "neuralforge"


def wait_for_background(env: dict[str, str], limit: float) -> float:
    """Seconds until the home's background calibration (if any) has exited."""
    started = time.time()
    lock = data_dir(env) / "calibrating.pid"
    while time.time() - started < limit:
        try:
            os.kill(int(lock.read_text().strip()), 0)
        except (OSError, ValueError):
            return time.time() - started
        time.sleep(2)
    return time.time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="home B calibrates in the foreground under load")
    parser.add_argument("--wait", type=float, default=900.0, help="seconds to wait for B's background calibration")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="neuralforge-homes-"))
    env_a, env_b = home(root, "a"), home(root, "b")

    first = neuralforge(env_a, "calibrate", "--wait", "300")
    print(f"home A, idle machine: neuralforge calibrate → exit {first.returncode}")
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(os.cpu_count() or 2)]
    try:
        time.sleep(2)
        if args.force:
            busy = neuralforge(env_b, "calibrate", "--force", "--wait", "5")
            print(f"home B, both cores kept busy: neuralforge calibrate --force → exit {busy.returncode}")
        else:
            busy = neuralforge(env_b, "summary", "zoo:mnist-cnn")
            said = [line for line in busy.stderr.splitlines() if line.startswith("note:")]
            print(f"home B, both cores kept busy: neuralforge summary → exit {busy.returncode}; "
                  f"{said[0] if said else busy.stderr.strip()[:200]}")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    waited = wait_for_background(env_b, args.wait)
    print(f"the busy processes stopped; home B's background calibration done after {waited:.0f} s")

    calibrations = {}
    for label, env in (("A", env_a), ("B", env_b)):
        calibration, reason = read_calibration(data_dir(env) / FILE_NAME)
        if calibration is None:
            print(f"home {label} has no calibration: {reason}", file=sys.stderr)
            return 1
        calibrations[label] = calibration
    rows = []
    print(f"{'model':<18}{'home A ms':>11}{'home B ms':>11}{'B / A':>8}")
    for entry in zoo.list_models():
        graph = zoo.build(entry.name)
        a = estimate_cost(graph, batch_size=1, device="cpu", calibration_path=data_dir(env_a) / FILE_NAME)
        b = estimate_cost(graph, batch_size=1, device="cpu", calibration_path=data_dir(env_b) / FILE_NAME)
        ratio = b.latency_ms / a.latency_ms
        rows.append({"model": entry.name, "home_a_ms": round(a.latency_ms, 4), "home_b_ms": round(b.latency_ms, 4),
                     "ratio": round(ratio, 3)})
        print(f"{entry.name:<18}{a.latency_ms:>11.3f}{b.latency_ms:>11.3f}{ratio:>8.2f}")
    within = [r for r in rows if abs(r["ratio"] - 1) <= WITHIN]
    meta = {label: {k: c.meta.get(k) for k in ("load_average", "under_load", "most_other_cores", "seconds")}
            for label, c in calibrations.items()}
    print(f"\nwithin ±25 % of each other: {len(within)} of {len(rows)}; home B measured under load: "
          f"{calibrations['B'].under_load}")
    print(json.dumps({"within_25pct": len(within), "models": len(rows), "forced": args.force,
                      "share_within_25pct": round(len(within) / len(rows), 3), "calibrations": meta,
                      "background_wait_s": round(waited, 1), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
