#!/usr/bin/env python3
"""Side-by-side comparison of tenantml's tree engine with LightGBM and scikit-learn.

Makes fixed, seeded datasets (written once as CSV), then in one run fits and predicts:

  * GBDT regression   (50,000 x 30 Friedman-style, 300 rounds, 31 leaves, lr 0.1, 255 bins)
                      tenantml CLI vs LightGBM (num_threads=2)
  * GBDT binary       (50,000 x 30, about 3% positives), same settings, AUC and log-loss
  * Random forest     (100 trees) tenantml CLI vs scikit-learn RandomForestRegressor(n_jobs=-1)

and prints each pair with the ratio tenantml / peer (below 1 = tenantml faster or smaller
error; GBDT cases: median of --repeat runs, default 3). Fit times include binning on both sides
and exclude CSV parsing on both sides
(tenantml reports `fit_seconds` from inside the CLI; the peers get numpy arrays). Batch
prediction is ns/row over the test set (both on 2 threads).

Usage:  make compare          (creates target/compare-venv with requirements.txt)
   or:  python benches/compare/compare.py [--tenantml target/release/tenantml]
                                          [--data-dir target/compare] [--quick] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

SEED = 20261127


def friedman(n, d, rng):
    x = rng.random((n, d))
    y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2
         + 10 * x[:, 3] + 5 * x[:, 4] + rng.normal(0, 1, n))
    # A few features carry weaker signal, the rest is noise; 2% missing in two columns.
    y += 2 * x[:, 5] * x[:, 6] - 3 * (x[:, 7] > 0.8)
    for j in (8, 9):
        x[rng.random(n) < 0.02, j] = np.nan
    return x, y


def rare_binary(n, d, rng):
    x = rng.normal(size=(n, d))
    logit = (1.5 * x[:, 0] - 1.2 * x[:, 1] * (x[:, 2] > 0) + 0.8 * np.abs(x[:, 3])
             + 0.6 * np.sin(2 * x[:, 4]) - 4.6)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


def write_csv(path, x, y, target):
    names = [f"x{j}" for j in range(x.shape[1])] + [target]
    data = np.column_stack([x, y])
    np.savetxt(path, data, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def make_data(data_dir, n_train, n_test):
    os.makedirs(data_dir, exist_ok=True)
    sets = {}
    for name, gen in (("regression", friedman), ("binary", rare_binary)):
        rng = np.random.default_rng(SEED + (0 if name == "regression" else 1))
        x, y = gen(n_train + n_test, 30, rng)
        paths = {}
        for part, sl in (("train", slice(0, n_train)), ("test", slice(n_train, None))):
            path = os.path.join(data_dir, f"{name}_{part}_{n_train}.csv")
            if not os.path.exists(path):
                write_csv(path, x[sl], y[sl], "y")
            paths[part] = path
        sets[name] = (paths, x[:n_train], y[:n_train], x[n_train:], y[n_train:])
    return sets


def cli(binary, args):
    out = subprocess.run([binary, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def median_run(runs, key):
    """The run whose `key` is the median (all runs fit the same seeded model)."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def ours(binary, task, kind, paths, extra, work, repeat=1):
    model = os.path.join(work, f"{task}_{kind}.tml")
    fits = [cli(binary, ["fit", "--task", task, "--model", kind, "--target", "y",
                         "--train", paths["train"], "--out", model, *extra])
            for _ in range(repeat)]
    preds = [cli(binary, ["predict", "--model", model, "--data", paths["test"],
                          "--out", os.path.join(work, f"{task}_{kind}_pred.csv")])
             for _ in range(repeat)]
    return median_run(fits, "fit_seconds"), median_run(preds, "predict_ns_per_row")


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(sp):
        j = i
        while j + 1 < len(sp) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def logloss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def lightgbm(task, rounds, x, y, tx, ty, repeat):
    runs = [lightgbm_run(task, rounds, x, y, tx, ty) for _ in range(repeat)]
    fit = median_run(runs, "fit_seconds")
    return {**fit, "predict_ns_per_row": median_run(runs, "predict_ns_per_row")["predict_ns_per_row"]}


def lightgbm_run(task, rounds, x, y, tx, ty):
    import lightgbm as lgb
    params = dict(objective="regression" if task == "regression" else "binary",
                  num_leaves=31, learning_rate=0.1, max_bin=255, min_data_in_leaf=20,
                  min_sum_hessian_in_leaf=1e-3, lambda_l2=0.0, num_threads=2, verbose=-1,
                  deterministic=True, seed=0)
    start = time.perf_counter()
    model = lgb.train(params, lgb.Dataset(x, y, params={"max_bin": 255}), num_boost_round=rounds)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    p = model.predict(tx, num_threads=2)
    ns = (time.perf_counter() - start) * 1e9 / len(tx)
    quality = ({"mae": float(np.mean(np.abs(p - ty))), "rmse": float(np.sqrt(np.mean((p - ty) ** 2)))}
               if task == "regression" else {"auc": float(auc(ty, p)), "logloss": logloss(ty, p)})
    return {"fit_seconds": fit_seconds, "predict_ns_per_row": ns, **quality}


def sklearn_forest(trees, x, y, tx, ty):
    from sklearn.ensemble import RandomForestRegressor
    # RandomForestRegressor handles NaN itself since scikit-learn 1.4: it gets the raw data.
    start = time.perf_counter()
    model = RandomForestRegressor(n_estimators=trees, n_jobs=-1, random_state=0).fit(x, y)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    p = model.predict(tx)
    ns = (time.perf_counter() - start) * 1e9 / len(tx)
    return {"fit_seconds": fit_seconds, "predict_ns_per_row": ns,
            "mae": float(np.mean(np.abs(p - ty))), "rmse": float(np.sqrt(np.mean((p - ty) ** 2)))}


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenantml", default=os.path.join(root, "target/release/tenantml"))
    ap.add_argument("--data-dir", default=os.path.join(root, "target/compare"))
    ap.add_argument("--quick", action="store_true", help="10,000 rows, 100 rounds, 30 trees")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each GBDT case, median reported (the forest case runs once)")
    args = ap.parse_args()

    n_train, n_test = (10_000, 5_000) if args.quick else (50_000, 10_000)
    rounds, trees = (100, 30) if args.quick else (300, 100)
    sets = make_data(args.data_dir, n_train, n_test)
    work = args.data_dir
    results = []

    def record(name, ours_fit, ours_pred, peer_name, peer, metrics):
        row = {"case": name, "peer": peer_name,
               "fit_seconds": (ours_fit["fit_seconds"], peer["fit_seconds"]),
               "predict_ns_per_row": (ours_pred["predict_ns_per_row"], peer["predict_ns_per_row"])}
        for m in metrics:
            row[m] = (ours_pred[m], peer[m])
        results.append(row)

    paths, x, y, tx, ty = sets["regression"]
    common = ["--rounds", str(rounds), "--max-leaves", "31", "--learning-rate", "0.1", "--seed", "0"]
    fit, pred = ours(args.tenantml, "regression", "gbdt", paths, common, work, args.repeat)
    record(f"GBDT regression {n_train}x30, {rounds} rounds", fit, pred, "LightGBM",
           lightgbm("regression", rounds, x, y, tx, ty, args.repeat), ["mae", "rmse"])
    fit, pred = ours(args.tenantml, "regression", "forest", paths, ["--trees", str(trees), "--seed", "0"], work)
    record(f"Random forest {n_train}x30, {trees} trees", fit, pred, "scikit-learn RF",
           sklearn_forest(trees, x, y, tx, ty), ["mae", "rmse"])

    paths, x, y, tx, ty = sets["binary"]
    fit, pred = ours(args.tenantml, "binary", "gbdt", paths, common, work, args.repeat)
    record(f"GBDT binary {n_train}x30 ({y.mean():.1%} positive), {rounds} rounds", fit, pred,
           "LightGBM", lightgbm("binary", rounds, x, y, tx, ty, args.repeat), ["auc", "logloss"])

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'case':<52} {'measure':<20} {'tenantml':>12} {'peer':>12} {'ratio':>8}")
    for r in results:
        print(f"{r['case']}  (peer: {r['peer']})")
        for key, value in r.items():
            if key in ("case", "peer"):
                continue
            a, b = value
            print(f"{'':<52} {key:<20} {a:>12.5g} {b:>12.5g} {ratio(a, b):>8.3f}")
    print("ratio = tenantml / peer: below 1 is faster (time) or smaller (error, logloss); "
          "for auc, above 1 is better.")


if __name__ == "__main__":
    sys.exit(main())
