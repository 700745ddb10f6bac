import sys

from neuralforge_desktop.cli.main import main

sys.exit(main())
