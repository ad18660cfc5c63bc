"""`python -m mash` runs the `mash` command line (as the console script does)."""

import sys

from mash.cli import main

sys.exit(main())
