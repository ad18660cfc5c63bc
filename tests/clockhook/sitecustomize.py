"""Moves a process started by a fixed-clock test run to the run's instant (see tests/clocks.py).

Only a `make test` clock run puts this folder on PYTHONPATH; it does nothing without the
offset variable. The offset, not an instant, is shared, so every process agrees on the time
whenever it starts.
"""

import os

import mash_test_clock

_offset = os.environ.get(mash_test_clock.OFFSET_ENV)
if _offset:
    mash_test_clock.start(float(_offset))
