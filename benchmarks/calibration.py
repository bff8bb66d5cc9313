"""Coverage and power of the finite-size checks on the real simulators, as a Markdown table.

Runs ``tests/test_calibration.calibrate`` (independent base seeds 10000, 10001, ...) on the small
ladders of the default suite (``--which small``, 100 runs) or the larger ones of the slow tests
(``--which large``): coverage = fraction of runs whose 95 % interval contains the true theory, power =
fraction of runs rejecting a fixed wrong theory, the true one scaled by ``1 +- 2 r0`` with ``r0`` the
median resolution over the runs (each sign counted separately).

    python benchmarks/calibration.py --which small --runs 100
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "tests" / "test_calibration.py"


def _load():
    spec = importlib.util.spec_from_file_location("test_calibration", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["test_calibration"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--which", choices=("small", "large"), default="small")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--model", action="append", help="model(s) (default: all four)")
    args = ap.parse_args(argv)
    if args.runs < 10:
        ap.error("--runs must be >= 10")
    cal = _load()
    models = args.model or list(cal.CASES)
    idx = 0 if args.which == "small" else 1
    seeds = 8 if idx == 0 else 10
    band = 3 * math.sqrt(0.95 * 0.05 / args.runs)
    print(f"{args.runs} runs per model, {seeds} initial seeds per size; 3-sigma band around 0.95: +-{band:.3f}\n")
    print("| model | ladder | points | coverage | power (theory x (1 +- 2 r0)) | median resolution r0 | s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for m in models:
        g = cal.CASES[m][idx]()
        t = time.perf_counter()
        cov, power, r0 = cal.calibrate(g, args.runs, seeds=seeds)
        dt = time.perf_counter() - t
        sizes = ", ".join(str(int(s)) for s in g.sizes)
        pts = "; ".join(", ".join(f"{k}={v:g}" for k, v in p.items() if isinstance(v, (int, float)))
                        for p in g.params)
        print(f"| {m} | {sizes} | {pts} | {', '.join(f'{c:.3f}' for c in cov)} | "
              f"{', '.join(f'{p:.3f}' for p in power)} | {', '.join(f'{r:.2%}' for r in r0)} | {dt:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
