"""`neuralforge serve` as a user runs it: a port in use, Ray failing to start, and a real server in a child
process whose traffic is promoted and rolled back under load without one failed request."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from neuralforge_desktop.cli.main import main

from .http import free_port, post
from .models import export_scaled_sum

INSTANCE = [1.0, 1.0, 1.0, 1.0]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return {v: export_scaled_sum(folder / f"v{v}.onnx", float(v)) for v in (1, 2)}


def test_a_port_in_use_is_refused_before_ray_starts(model_files, capsys):
    import ray

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["serve", "toy", "--onnx", str(model_files[1]), "--port", str(port), "--no-record"])
    assert status == 1
    error = capsys.readouterr().err
    assert f"port {port}" in error and "in use" in error and "--port" in error
    assert not ray.is_initialized()


def test_ray_failing_to_start_says_why_and_how_to_use_a_cluster():
    from neuralforge_desktop.core.serving.lifecycle import RayServe, ServeStartError

    # Ray's Unix sockets cannot live under a path this long: a real start-up failure of Ray's own
    too_long = Path(tempfile.gettempdir()) / ("ray-temp-" + "x" * 100)
    with pytest.raises(ServeStartError) as refused:
        RayServe(host="127.0.0.1", port=free_port(), num_cpus=1, temp_dir=too_long).start()
    message = str(refused.value)
    assert "Ray could not start a local instance" in message and "107 bytes" in message
    assert "--address" in message


def test_promote_without_a_server_names_the_port(capsys):
    port = free_port()
    assert main(["serve", "promote", "toy", "--port", str(port)]) == 1
    assert f"no server answers on 127.0.0.1:{port}" in capsys.readouterr().err


class Load:
    """Client threads sending predictions until stopped; every answer is kept with its send time."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.answers: list[tuple[float, float, int, str]] = []  # (sent at, answered at, status, version or error)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                status, body = post(self.url, {"instances": [INSTANCE]})
                outcome = body.get("model_version") if status == 200 else str(body)
            except OSError as exc:  # a dropped connection counts as a failed request
                status, outcome = 0, repr(exc)
            self.answers.append((sent, time.monotonic(), status, outcome))

    def wait_for_answers_sent_after(self, start: float, count: int = 20, limit_s: float = 120) -> None:
        """Until ``count`` requests sent after ``start`` have been answered (time, not a fixed sleep, is what a
        loaded machine lacks)."""
        deadline = time.monotonic() + limit_s
        while sum(a[0] >= start for a in list(self.answers)) < count and time.monotonic() < deadline:
            time.sleep(0.1)

    def versions_between(self, start: float, end: float) -> set[str]:
        """Versions of the requests sent at ``start`` or later and answered by ``end``: a request still on its
        way when the traffic changes may be routed either way."""
        return {v for sent, answered, _, v in self.answers if start <= sent and answered <= end}


@pytest.mark.slow
def test_serve_promote_and_rollback_shift_traffic_under_load_without_failures(model_files, capsys):
    port = free_port()
    cache = tempfile.mkdtemp(prefix="nfc", dir="/tmp")  # Ray's temp folder goes under it: short on purpose
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": cache}
    server = subprocess.Popen(
        [sys.executable, "-m", "neuralforge_desktop.cli.main", "serve", "toy", "--onnx", f"1={model_files[1]}",
         "--onnx", f"2={model_files[2]}", "--canary", "toy@2", "--canary-percent", "20", "--port", str(port),
         "--cpus", "2", "--no-record"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = server.stdout.readline()
        assert f"at http://127.0.0.1:{port}/v1/models/toy:predict" in banner, banner + server.stderr.read()
        url = f"http://127.0.0.1:{port}/v1/models/toy:predict"
        with Load(url) as load:
            load.wait_for_answers_sent_after(0, count=40)
            promoting = time.monotonic()
            assert main(["serve", "promote", "toy", "--port", str(port)]) == 0
            promoted = time.monotonic()
            assert "version 1: 0 %, version 2: 100 %" in capsys.readouterr().out
            load.wait_for_answers_sent_after(promoted)
            rolling_back = time.monotonic()
            assert main(["serve", "rollback", "toy", "--port", str(port)]) == 0
            rolled_back = time.monotonic()
            assert "version 1: 100 %, version 2: 0 %" in capsys.readouterr().out
            load.wait_for_answers_sent_after(rolled_back)
        failures = [a for a in load.answers if a[2] != 200]
        assert not failures, failures[:5]
        assert len(load.answers) > 50
        windows = {"before promote": (0, promoting), "after promote": (promoted, rolling_back),
                   "after rollback": (rolled_back, float("inf"))}
        seen = {name: load.versions_between(*span) for name, span in windows.items()}
        assert seen == {"before promote": {"1", "2"}, "after promote": {"2"}, "after rollback": {"1"}}
        # nothing left to undo: the server says so, the command fails with its message
        assert main(["serve", "rollback", "toy", "--port", str(port)]) == 1
        assert "nothing to roll back to" in capsys.readouterr().err
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=120) == 0
        _assert_audited(["serving.started", "serving.promote", "serving.rollback", "serving.stopped"])
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(cache, ignore_errors=True)


def _assert_audited(kinds: list[str]) -> None:
    """The server's start and stop and the traffic changes are in the (test's) default store's audit log."""
    from neuralforge_desktop.core.audit import entries, verify
    from neuralforge_desktop.core.store.sqlite_store import Store, default_store_path

    with Store(default_store_path()) as store:
        found = entries(store, kind="serving.")
        assert [e.kind for e in found] == kinds and {e.subject for e in found} == {"toy"}
        assert verify(store).intact


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["serve", "promote"], 1, "serve promote needs the served model's NAME"),
    (["serve", "toy", "extra"], 1, "serve takes one MODEL"),
    (["serve", "toy", "--port", "0"], 2, "--port: must be a port number from 1 to 65535, got '0'"),
    (["serve", "toy", "--canary", "other@2"], 1, "names model 'other', but the model served is 'toy'"),
    (["serve", "toy", "--replicas", "3:1"], 1, "--replicas takes N or MIN:MAX with 1 <= MIN <= MAX, got '3:1'"),
    (["serve", "toy@3", "--onnx", "1=a.onnx"], 1, "toy@3: no --onnx file for this version"),
    (["serve", "toy", "--sample-rate", "2"], 1, "--sample-rate: a share from 0 to 1, got 2"),
])
def test_bad_command_lines_are_refused_in_one_line(capsys, argv, status, message):
    try:
        result = main(argv)
    except SystemExit as exited:  # argparse's refusals end the process with status 2
        result = exited.code
    assert result == status
    assert message in capsys.readouterr().err
