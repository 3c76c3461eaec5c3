"""Drift report timing: tenantml beside scipy (and Evidently, if installed) on the same data.

    python benches/compare/drift_compare.py [--rows 10000] [--cols 30] [--repeat 5]

Writes a seeded 10,000 x 30 reference (N(0, 1)) and current (every third column shifted by
0.1 j / 30) to target/drift-compare/ as CSV, then
- times scipy: ks_2samp per column (method="auto": exact at this size, as tenantml), then
  wasserstein_distance per column, then PSI per column in numpy (tenantml's definition);
  the median of --repeat runs;
- times Evidently's DataDriftPreset (its defaults pick normalised Wasserstein for numeric
  columns with more than 1,000 rows) if `import evidently` works; median of --repeat runs;
- runs `cargo bench --bench drift` with TENANTML_DRIFT_DATA pointing at the CSV files and
  reads criterion's median for the KS, PSI and Wasserstein reports;
and prints each time with the ratio tenantml / peer. CSV reading is excluded everywhere.
Needs numpy and scipy (pandas and evidently for the Evidently row); run from the repo root.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_data(rows, cols, out):
    rng = np.random.default_rng(7)
    ref = rng.normal(0, 1, (rows, cols))
    shift = np.array([0.1 * j / 30 if j % 3 == 0 else 0.0 for j in range(cols)])
    cur = rng.normal(0, 1, (rows, cols)) + shift
    os.makedirs(out, exist_ok=True)
    np.savetxt(os.path.join(out, "reference.csv"), ref, delimiter=",", fmt="%.17g")
    np.savetxt(os.path.join(out, "current.csv"), cur, delimiter=",", fmt="%.17g")
    return ref, cur


def psi(ref, cur, bins=10):
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    pr, pc = r / r.sum(), c / c.sum()
    pr, pc = np.where(pr == 0, 1e-4, pr), np.where(pc == 0, 1e-4, pc)
    return float(np.sum((pc - pr) * np.log(pc / pr)))


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def evidently_ms(ref, cur, repeat):
    try:
        import pandas as pd
        import evidently
    except ImportError as e:
        return None, f"not installed ({e})"
    cols = [f"f{j}" for j in range(ref.shape[1])]
    rdf, cdf = pd.DataFrame(ref, columns=cols), pd.DataFrame(cur, columns=cols)
    try:  # evidently >= 0.7
        from evidently import Report
        from evidently.presets import DataDriftPreset

        def run():
            Report([DataDriftPreset()]).run(cdf, rdf)
    except ImportError:  # evidently 0.4 - 0.6
        from evidently.metric_preset import DataDriftPreset
        from evidently.report import Report

        def run():
            Report(metrics=[DataDriftPreset()]).run(reference_data=rdf, current_data=cdf)
    run()  # warm-up (imports, registries)
    return median_ms(run, repeat), f"evidently {evidently.__version__}"


def tenantml_ms(data_dir):
    env = dict(os.environ, TENANTML_DRIFT_DATA=data_dir)
    out = subprocess.run(
        ["cargo", "bench", "--bench", "drift", "--", "drift_report_10k_x_30/(ks|psi|wasserstein)$",
         "--noplot"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    unit = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
    found = {}
    for name, mid, u in re.findall(
            r"drift_report_10k_x_30/(\w+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out):
        found[name] = float(mid) * unit[u]
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--cols", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data_dir = os.path.join(ROOT, "target", "drift-compare")
    ref, cur = make_data(args.rows, args.cols, data_dir)
    cols = range(ref.shape[1])

    peers = {
        "ks": ("scipy ks_2samp per column",
               median_ms(lambda: [stats.ks_2samp(ref[:, j], cur[:, j]) for j in cols], args.repeat)),
        "wasserstein": ("scipy wasserstein_distance per column",
                        median_ms(lambda: [stats.wasserstein_distance(ref[:, j], cur[:, j]) / max(np.std(ref[:, j]), 1e-3)
                                           for j in cols], args.repeat)),
        "psi": ("numpy PSI per column", median_ms(lambda: [psi(ref[:, j], cur[:, j]) for j in cols], args.repeat)),
    }
    ev_ms, ev_label = evidently_ms(ref, cur, args.repeat)
    ours = tenantml_ms(data_dir)

    print(f"drift report, {args.rows} x {args.cols} reference vs {args.rows} x {args.cols} current "
          f"(python {sys.version.split()[0]}, numpy {np.__version__}, scipy {__import__('scipy').__version__})")
    print(f"{'test':<12} {'tenantml ms':>12} {'peer':<40} {'peer ms':>10} {'ratio':>8}")
    for test, (peer, ms) in peers.items():
        t = ours.get(test)
        print(f"{test:<12} {t:>12.2f} {peer:<40} {ms:>10.2f} {t / ms:>8.3f}")
    if ev_ms is None:
        print(f"evidently: {ev_label}")
    else:
        t = ours["wasserstein"]
        print(f"{'wasserstein':<12} {t:>12.2f} {ev_label + ' DataDriftPreset':<40} {ev_ms:>10.2f} {t / ev_ms:>8.3f}")


if __name__ == "__main__":
    main()
