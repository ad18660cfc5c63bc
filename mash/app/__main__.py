"""`python -m mash.app` runs the `mash` command line (as the console script does)."""

import sys

from mash.app.cli import main

sys.exit(main())
