#!/usr/bin/env python3
"""Forecast accuracy side by side: tenantml vs statsforecast and mlforecast + LightGBM.

Datasets
  * waterflow: ../shared/data/waterflow_hourly.csv (hourly, ISO 8601 with offsets, 10 gaps,
    a DST change); the peers need complete series, so they get it with gaps linearly
    forward-filled (interpolation would leak values from after an origin into the history
    before it), tenantml gets the raw file. Points whose actual value is missing are not
    scored for anyone.
  * synthetic: 20 hourly tenants x 84 days drawn here with a fixed seed: daily and weekly
    seasonality of varying shapes, a trend change at a random day, spikes and dips
    (anomalies), noise, levels over two orders of magnitude.

Protocol (the same windows for every method): K rolling origins of H = 24 steps, H apart,
the last window ending at the series' end; each method is fitted once on the data before the
first origin and forecasts every window from the true history before it (statsforecast and
mlforecast `cross_validation(refit=False)`, `tenantml backtest`).

Metrics, computed here from every method's forecasts: MAE and MASE (scale: per series, the
in-sample MAE of the 24-hour seasonal naive on the data before the first origin), pooled over
series, windows and steps; and fit + forecast wall time.

Usage:  make compare-forecast
   or:  python benches/compare/forecast_compare.py --tenantml target/release/tenantml
                                                   [--windows 7] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

SEED = 20261127
H = 24


def synthetic_panel(rng, n_series=20, days=84):
    rows = []
    start = pd.Timestamp("2024-01-01T00:00:00Z")
    for s in range(n_series):
        n = days * 24
        t = np.arange(n)
        hour, dow = t % 24, (t // 24) % 7
        peak = rng.uniform(9, 20)
        width = rng.uniform(2, 5)
        daily = 0.3 + np.exp(-0.5 * ((hour - peak) / width) ** 2)
        weekend = rng.uniform(0.3, 1.0)
        weekly = np.where(dow >= 5, weekend, 1.0)
        change = rng.integers(20, days - 10) * 24
        slope1, slope2 = rng.normal(0, 0.004), rng.normal(0, 0.008)
        trend = np.where(t < change, 1 + slope1 * t / 24,
                         1 + slope1 * change / 24 + slope2 * (t - change) / 24)
        level = np.exp(rng.uniform(np.log(5), np.log(500)))
        y = level * daily * weekly * np.maximum(trend, 0.1)
        y *= rng.gamma(1 / 0.1**2, 0.1**2, n)  # multiplicative noise, CV 0.1
        spikes = rng.random(n) < 0.004
        y[spikes] *= rng.uniform(2.5, 5, spikes.sum())
        dips = rng.random(n) < 0.002
        y[dips] *= 0.1
        ts = start + pd.to_timedelta(t, unit="h")
        rows.append(pd.DataFrame({"unique_id": f"t{s:02d}", "ds": ts, "y": y}))
    return pd.concat(rows, ignore_index=True)


def load_waterflow(path):
    raw = pd.read_csv(path)
    ts = pd.to_datetime(raw["timestamp"], utc=True)
    df = pd.DataFrame({"unique_id": "waterflow", "ds": ts, "y": raw["value"].astype(float)})
    return df


def complete(df):
    """The hourly grid from first to last timestamp, NaN where missing (per series)."""
    out = []
    for uid, g in df.groupby("unique_id", sort=False):
        g = g.groupby("ds", as_index=False)["y"].sum()
        grid = pd.date_range(g["ds"].min(), g["ds"].max(), freq="h")
        g = g.set_index("ds").reindex(grid)
        g.index.name = "ds"
        g = g.reset_index()
        g.insert(0, "unique_id", uid)
        out.append(g)
    return pd.concat(out, ignore_index=True)


def origins(n, windows):
    return [n - H - (windows - 1 - k) * H for k in range(windows)]


def scales(grid, windows):
    out = {}
    for uid, g in grid.groupby("unique_id", sort=False):
        y = g["y"].to_numpy()
        first = origins(len(y), windows)[0]
        train = y[:first]
        d = np.abs(train[24:] - train[:-24])
        out[uid] = np.nanmean(d)
    return out


def score(forecasts, grid, windows):
    """forecasts: DataFrame unique_id, ds, yhat. Actuals from the grid (NaN not scored)."""
    merged = forecasts.merge(grid, on=["unique_id", "ds"], how="left")
    merged = merged[merged["y"].notna()]
    err = np.abs(merged["y"] - merged["yhat"])
    sc = merged["unique_id"].map(scales(grid, windows))
    return float(err.mean()), float((err / sc).mean()), len(merged)


def run_tenantml(binary, grid_raw, windows, workdir, name, params=None):
    path = os.path.join(workdir, f"{name}.csv")
    tag = "" if params is None else "_" + "_".join(f"{k}{v}" for k, v in params.items())
    out = os.path.join(workdir, f"{name}_tml{tag}_forecasts.csv")
    df = grid_raw.dropna(subset=["y"]).copy()
    df["timestamp"] = df["ds"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df = df.rename(columns={"unique_id": "series", "y": "value"})
    df[["series", "timestamp", "value"]].to_csv(path, index=False)
    started = time.perf_counter()
    proc = subprocess.run(
        [binary, "backtest", "--data", path, "--horizon", str(H), "--windows", str(windows),
         "--freq", "1h", "--json", "--forecasts-out", out]
        + ([] if params is None else ["--params", json.dumps(params)]),
        capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"tenantml backtest failed: {proc.stderr}")
    report = json.loads(proc.stdout)
    fc = pd.read_csv(out)
    fc["ds"] = pd.to_datetime(fc["timestamp"], utc=True)
    fc = fc.rename(columns={"series": "unique_id", "forecast": "yhat"})
    fc["unique_id"] = fc["unique_id"].astype(str)
    cov = {m["name"]: m["coverage"] for m in report["methods"]}
    return fc[["unique_id", "ds", "yhat"]], seconds, report, cov.get("model")


def run_statsforecast(filled, windows):
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive
    out = {}
    for season in (24, 168):
        sf = StatsForecast(models=[SeasonalNaive(season_length=season)], freq="h", n_jobs=1)
        started = time.perf_counter()
        cv = sf.cross_validation(df=filled, h=H, n_windows=windows, step_size=H, refit=False)
        seconds = time.perf_counter() - started
        cv = cv.rename(columns={"SeasonalNaive": "yhat"})
        out[f"statsforecast SeasonalNaive({season})"] = (cv[["unique_id", "ds", "yhat"]], seconds)
    return out


def run_mlforecast(filled, windows):
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import ExpandingMean, RollingMean
    from mlforecast.target_transforms import Differences, LocalStandardScaler
    configs = {
        "mlforecast LightGBM (diff 24)": [Differences([24])],
        "mlforecast LightGBM (scaled)": [LocalStandardScaler()],
    }
    out = {}
    for name, transforms in configs.items():
        model = lgb.LGBMRegressor(n_estimators=200, learning_rate=0.05, num_leaves=31,
                                  verbosity=-1, num_threads=2, random_state=SEED)
        mlf = MLForecast(
            models={"lgbm": model}, freq="h", lags=[1, 2, 3, 24, 48, 168],
            lag_transforms={1: [ExpandingMean()], 24: [RollingMean(window_size=24)],
                            168: [RollingMean(window_size=168)]},
            date_features=["hour", "dayofweek"], target_transforms=transforms)
        started = time.perf_counter()
        cv = mlf.cross_validation(df=filled, n_windows=windows, h=H, step_size=H, refit=False)
        seconds = time.perf_counter() - started
        cv = cv.rename(columns={"lgbm": "yhat"})
        out[name] = (cv[["unique_id", "ds", "yhat"]], seconds)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenantml", default=os.path.join(root, "target", "release", "tenantml"))
    ap.add_argument("--waterflow", default=os.path.join(root, "..", "shared", "data",
                                                        "waterflow_hourly.csv"))
    ap.add_argument("--data-dir", default=os.path.join(root, "target", "compare-forecast"))
    ap.add_argument("--windows", type=int, default=7)
    ap.add_argument("--direct", type=int, default=24,
                    help="also run tenantml with this many direct steps (0: skip)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.data_dir, exist_ok=True)

    datasets = {}
    if os.path.exists(args.waterflow):
        datasets["waterflow"] = complete(load_waterflow(args.waterflow))
    else:
        print(f"(no {args.waterflow}: waterflow skipped)", file=sys.stderr)
    datasets["synthetic"] = complete(synthetic_panel(np.random.default_rng(SEED)))

    results = []
    for name, grid in datasets.items():
        filled = grid.copy()
        # Forward fill (then back fill only leading gaps): interpolating would pull values
        # from after a forecast origin into the history before it.
        filled["y"] = filled.groupby("unique_id")["y"].transform(lambda s: s.ffill().bfill())
        rows = []
        fc, seconds, report, coverage = run_tenantml(args.tenantml, grid, args.windows,
                                                     args.data_dir, name)
        mae, mase, n = score(fc, grid, args.windows)
        rows.append({"method": "tenantml UsagePredictor", "mae": mae, "mase": mase, "n": n,
                     "seconds": seconds, "coverage": coverage,
                     "transform": report.get("transform"), "ours": True})
        if args.direct > 0:
            fc, seconds, report, coverage = run_tenantml(
                args.tenantml, grid, args.windows, args.data_dir, name,
                {"direct_steps": args.direct})
            mae, mase, n = score(fc, grid, args.windows)
            rows.append({"method": f"tenantml (direct {args.direct} steps)", "mae": mae,
                         "mase": mase, "n": n, "seconds": seconds, "coverage": coverage,
                         "transform": report.get("transform"), "ours": True})
        peers = {}
        peers.update(run_statsforecast(filled, args.windows))
        peers.update(run_mlforecast(filled, args.windows))
        for method, (pfc, pseconds) in peers.items():
            pfc = pfc.copy()
            pfc["ds"] = pd.to_datetime(pfc["ds"], utc=True)
            pfc["unique_id"] = pfc["unique_id"].astype(str)
            mae, mase, n = score(pfc, grid, args.windows)
            rows.append({"method": method, "mae": mae, "mase": mase, "n": n,
                         "seconds": pseconds})
        best_peer = min(r["mase"] for r in rows if not r.get("ours"))
        for r in rows:
            r["mase_vs_best_peer"] = r["mase"] / best_peer
        results.append({"dataset": name, "series": int(grid["unique_id"].nunique()),
                        "windows": args.windows, "horizon": H, "rows": rows})

    if args.json:
        print(json.dumps(results, indent=2))
        return
    for res in results:
        print(f"\n{res['dataset']}: {res['series']} series, {res['windows']} windows x "
              f"{res['horizon']} h, no refit")
        print(f"{'method':<36} {'MAE':>10} {'MASE':>8} {'/best':>7} {'points':>7} {'sec':>7}")
        for r in res["rows"]:
            print(f"{r['method']:<36} {r['mae']:>10.4f} {r['mase']:>8.4f} "
                  f"{r['mase_vs_best_peer']:>7.3f} {r['n']:>7} {r['seconds']:>7.2f}")
        tml = res["rows"][0]
        if tml.get("coverage"):
            cov = ", ".join(f"{l:g}%: {c * 100:.1f}%" for l, c in tml["coverage"])
            print(f"tenantml interval coverage: {cov}; transform {tml.get('transform')}")


if __name__ == "__main__":
    main()
