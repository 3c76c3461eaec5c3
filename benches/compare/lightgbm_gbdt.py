"""LightGBM side of benches/compare/gbdt_timing.rs, on the same CSV (last column = y).
Usage: python lightgbm_gbdt.py CSV fit ROUNDS REPS | CSV predict REPS"""
import sys
import time

import lightgbm as lgb
import numpy as np

data = np.loadtxt(sys.argv[1], delimiter=",")
x, y = np.ascontiguousarray(data[:, :-1]), data[:, -1]
params = dict(objective="regression", num_leaves=31, learning_rate=0.1, max_bin=255,
              min_data_in_leaf=20, num_threads=2, verbose=-1, deterministic=True)


def fit(rounds):
    return lgb.train(params, lgb.Dataset(x, y, params={"max_bin": 255}), num_boost_round=rounds)


if sys.argv[2] == "fit":
    rounds, reps = int(sys.argv[3]), int(sys.argv[4])
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        m = fit(rounds)
        secs = time.perf_counter() - t
        cpu = time.process_time() - c
        mse = float(np.mean((m.predict(x, num_threads=2) - y) ** 2))
        print(f"lgb fit rounds={rounds} secs={secs:.4f} cpu={cpu:.4f} train_mse={mse:.6f}")
else:
    m = fit(300)
    for _ in range(int(sys.argv[3])):
        t, c = time.perf_counter(), time.process_time()
        m.predict(x, num_threads=2)
        ns = (time.perf_counter() - t) * 1e9 / len(x)
        cpu_ns = (time.process_time() - c) * 1e9 / len(x)
        rows = [x[i:i + 1] for i in range(2000)]
        t, c = time.perf_counter(), time.process_time()
        for r in rows:
            m.predict(r, num_threads=1)
        us = (time.perf_counter() - t) * 1e6 / len(rows)
        cpu_us = (time.process_time() - c) * 1e6 / len(rows)
        print(f"lgb predict batch_ns_per_row={ns:.1f} (cpu {cpu_ns:.1f}) "
              f"single_us={us:.3f} (cpu {cpu_us:.3f}, includes Python call overhead)")
