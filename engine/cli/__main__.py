"""`python -m engine.cli ...`: the same command line as `asl`, through the package's `main`
(never a second copy of the module, whose UsageError the commands would not raise)."""

import sys

from engine.cli import main

sys.exit(main())
