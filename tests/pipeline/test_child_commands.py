"""The child-process side of the optimise, register and serve stages, exercised with real commands: a
``neuralforge`` command's JSON result, its failure message, and a real HTTP server's health check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from neuralforge_desktop.core.pipeline.context import StageFailure
from neuralforge_desktop.core.pipeline.deploy_stages import (
    free_port,
    last_json_object,
    option_args,
    run_json_command,
    stop_server,
    wait_healthy,
)

HEALTH_SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/healthz" else 404
        self.send_response(code); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_a_json_command_runs_in_a_child_and_its_result_is_parsed(tmp_path: Path) -> None:
    # (`validate`, not `summary`: summary may start a detached CPU calibration the test would leave behind)
    log = tmp_path / "validate.log"
    result = run_json_command(["validate", "zoo:mnist-cnn", "--json"], timeout=120, log=log)
    assert result == {"graph": "mnist-cnn", "ok": True, "errors": [], "warnings": []}
    assert log.read_text().startswith("$ neuralforge validate zoo:mnist-cnn --json")


def test_a_failing_command_fails_the_stage_with_its_own_error_line(tmp_path: Path) -> None:
    with pytest.raises(StageFailure, match=r"`neuralforge validate zoo:nope --json` failed \(exit status 2\): "
                                           r"neuralforge: no zoo model 'nope'"):
        run_json_command(["validate", "zoo:nope", "--json"], timeout=120, log=tmp_path / "x.log")


def test_a_command_without_a_json_result_is_a_failure(tmp_path: Path) -> None:
    with pytest.raises(StageFailure, match="printed no JSON object"):
        run_json_command(["zoo", "list"], timeout=120, log=tmp_path / "zoo.log")


def test_the_last_json_line_wins_over_progress_lines() -> None:
    text = 'optimizing …\n{"event": "progress"}\nnot json\n{"run_id": "abc", "after": {"size_mb": 0.4}}\n'
    assert last_json_object(text) == {"run_id": "abc", "after": {"size_mb": 0.4}}
    assert last_json_object("nothing here") is None
    assert last_json_object('{\n  "a": 1\n}\n') == {"a": 1}
    # pretty-printed after a line some library wrote to standard output, with a nested object inside
    assert last_json_object('a warning\n{\n  "run_id": "q",\n  "after": {\n    "acc": 0.9\n  }\n}\n') == {
        "run_id": "q", "after": {"acc": 0.9}}


def test_options_become_command_flags() -> None:
    args = option_args({"method": "prune-channels", "sparsity": 0.5, "fine_tune_epochs": 1, "calibrate": True,
                        "dry": False, "timeout_s": 60}, ("method", "timeout_s"))
    assert args == ["--sparsity", "0.5", "--fine-tune-epochs", "1", "--calibrate"]


def test_the_health_check_waits_for_a_real_server(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", HEALTH_SERVER, str(port)], start_new_session=True)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", server, timeout=60) is None
        why = wait_healthy(f"http://127.0.0.1:{port}/missing", server, timeout=1.5)
        assert why is not None and "did not answer within 1.5 s (HTTP 404 Not Found)" in why
    finally:
        stop_server(server)
    assert server.poll() is not None


def test_the_health_check_reports_a_server_that_exits() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"], start_new_session=True)
    process.wait()
    why = wait_healthy(f"http://127.0.0.1:{free_port()}/healthz", process, timeout=30)
    assert why is not None and "the server exited (status 3)" in why
