"""``neuralforge gate NAME@V --policy FILE``: a registered version checked against a policy's gates, for CI.

Exit status 0 when every check passes, 1 when any fails (all of them listed), 2 when the gates cannot run at
all (an unknown model or version, a policy that cannot be read or names an unknown check). The result is
recorded on the version, so ``neuralforge registry promote NAME@V --to production`` can rely on it.
"""

from __future__ import annotations

import argparse
import json
import sys

from neuralforge_desktop.cli.train_cmds import add_store_arg, open_store
from neuralforge_desktop.core.errors import UserError

CANNOT_RUN = 2


def add_parsers(sub: argparse._SubParsersAction) -> None:
    gate = sub.add_parser("gate", help="check a registered version against a policy's gates (for CI)",
                          description="Evaluate every gate of a policy on NAME@V: metric thresholds re-evaluated on "
                          "the run's validation split, ONNX/torch parity, size and latency budgets, target "
                          "compatibility and required documents. Exit 0 pass, 1 fail, 2 cannot run.")
    gate.add_argument("ref", metavar="NAME@V")
    gate.add_argument("--policy", required=True, metavar="FILE", help="the policy (YAML)")
    gate.add_argument("--json", action="store_true", help="print the report as JSON")
    gate.add_argument("--no-record", action="store_true", help="do not record the result on the version")
    add_store_arg(gate)
    gate.set_defaults(func=cmd_gate)


def cmd_gate(args: argparse.Namespace) -> int:
    from neuralforge_desktop.core import registry

    try:
        policy = registry.load_policy(args.policy)
        store = open_store(args.store)
    except UserError as exc:
        print(f"neuralforge: gate cannot run: {exc}", file=sys.stderr)
        return CANNOT_RUN
    with store:
        try:
            version = registry.resolve(store, args.ref)
        except UserError as exc:
            print(f"neuralforge: gate cannot run: {exc}", file=sys.stderr)
            return CANNOT_RUN
        report = registry.evaluate_gates(store, version.ref, policy, record=not args.no_record)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        verdict = "passed" if report.passed else f"FAILED ({len(report.failed)} of {len(report.checks)} checks)"
        print(f"gate {report.ref} (run {report.run_id}) under {policy.source}: {verdict}")
        for check in report.checks:
            print(f"  {'pass' if check.passed else 'FAIL'}  {check.check}: {check.detail}")
    return 0 if report.passed else 1
