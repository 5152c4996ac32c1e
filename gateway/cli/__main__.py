"""`python -m gateway.cli`: the `benkadi` command (the dispatcher child is started this way)."""

import sys

from gateway.cli.main import main

sys.exit(main())
