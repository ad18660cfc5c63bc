"""Serving processes tune the cycle collector once at start-up."""

import gc

from mash.grpc_server import SERVING_GC_THRESHOLDS, tune_gc_for_serving


def test_tuning_freezes_start_up_objects_and_raises_thresholds() -> None:
    old = gc.get_threshold()
    try:
        tune_gc_for_serving()
        assert gc.get_threshold() == SERVING_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()  # collection still happens, only less often
    finally:
        gc.unfreeze()
        gc.set_threshold(*old)
