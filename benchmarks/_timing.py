"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""
import time


def best_of(f, repeat=3):
    """``(best wall time in seconds, result)`` of ``repeat`` calls of ``f()``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out
