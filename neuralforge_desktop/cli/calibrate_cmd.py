"""``neuralforge calibrate``: measure this computer's CPU again for the latency estimate."""

from __future__ import annotations

import argparse
import json
import os

from neuralforge_desktop.cli.graph_source import CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="measure this CPU again for the latency estimate",
                       description="Measure this computer's CPU (the best of several short float32 matmuls and "
                       "array copies) and save the figures the CPU latency estimate uses. The first estimate "
                       "measures once; a measurement taken on a busy machine is repeated when it is idle. Run "
                       "this after changing hardware, or when the estimate looks off.")
    p.add_argument("--json", action="store_true", help="print the saved profile as JSON")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core.analysis import devices

    if not args.json:
        print("measuring this CPU (about a second) …", flush=True)
    profile = devices.cpu_profile(refresh=True)
    if not profile.extra.get("measured"):
        raise CliError(f"could not measure this CPU; the estimate uses {profile.source}", status=1)
    path = devices.default_cpu_profile_path()
    if args.json:
        print(json.dumps({"path": str(path), **profile.to_json()}, indent=2))
        return 0
    load = profile.extra.get("load_average")
    cores = os.cpu_count() or 1
    print(f"matmul (float32)   {profile.matmul_tflops['fp32'] * 1000:.1f} GFLOP/s")
    print(f"memory copy        {profile.bandwidth_gbs:.1f} GB/s")
    print(f"measured           {devices.measured_when(profile)}"
          + ("" if load is None else f", load average {load:.2f} on {cores} cores"))
    print(f"saved to           {path}")
    if devices.measured_under_load(profile):
        print("note: the machine was busy, so these figures may be low; the next start on an idle machine "
              "measures again (or run `neuralforge calibrate` then)")
    return 0
