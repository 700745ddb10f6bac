"""Entry point of the desktop bundles (PyInstaller): the ``neuralforge`` command, plus the interpreter forms
the app itself uses to start child processes.

Inside a bundle ``sys.executable`` is this program, not a Python interpreter, yet the app starts its training
worker and its CUDA probe as ``sys.executable -P -c CODE ARGS…`` (and once used ``-u -m MODULE``). Accepting
those forms here keeps one launch line for the installed package and the bundle; every other argument list is
the CLI's. The CLI has no ``-m``/``-c``/``-u``/``-P`` options, so nothing a user types is taken for them."""

from __future__ import annotations

import multiprocessing
import runpy
import sys


def run_as_interpreter(argv: list[str]) -> int | None:
    """Run ``[-u] [-P] -m MODULE ARGS…`` or ``… -c CODE ARGS…`` as Python would; None for any other argv."""
    args = list(argv)
    # -u (unbuffered) and -P (working directory not importable) need nothing more here: a bundle's import path
    # never holds the working directory, and child output is made line-buffered below in any case.
    while args and args[0] in ("-u", "-P"):
        args.pop(0)
    if len(args) < 2 or args[0] not in ("-m", "-c"):
        return None
    # The worker's events must reach the app line by line, not when a block buffer fills; a bundle does not
    # read PYTHONUNBUFFERED from the environment the app passes.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    flag, target, rest = args[0], args[1], args[2:]
    try:
        if flag == "-m":
            sys.argv = [target, *rest]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *rest]
            exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    return 0


def main() -> int:
    multiprocessing.freeze_support()  # data-loader workers on macOS/Windows re-enter this program
    status = run_as_interpreter(sys.argv[1:])
    if status is not None:
        return status
    from neuralforge_desktop.cli.main import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
