import sys

try:
    from neuralforge_desktop.cli.main import main
except KeyboardInterrupt:  # Ctrl+C while starting up: the same one line as later on
    print("neuralforge: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
