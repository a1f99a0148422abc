"""Run a Python module with its wall clock shifted: ``python -m ...shifted_clock SECONDS MODULE [ARGS]``.

The topology test starts the webserver this way, some hours in the past, to
turn a daily schedule on "before its last 06:00": the daemon, on the real
clock, then owes it that tick and launches it. Only ``time.time`` moves (what
Dagster's clock reads), except for gRPC, whose deadlines the C core compares
with the real clock; monotonic time, and every other process, stay real.
"""

import runpy
import sys
import time

if __name__ == "__main__":
    shift_s, module, *arguments = sys.argv[1:]
    shift, real_time, real_time_ns = float(shift_s), time.time, time.time_ns

    def _shift_for_caller() -> float:
        caller = sys._getframe(2).f_globals.get("__name__", "")
        return 0.0 if caller.startswith("grpc") else shift

    time.time = lambda: real_time() + _shift_for_caller()
    time.time_ns = lambda: real_time_ns() + int(_shift_for_caller() * 1e9)
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
