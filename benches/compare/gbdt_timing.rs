//! Side-by-side timing against LightGBM (benches/compare/lightgbm_gbdt.py runs the other
//! side on the same CSV). Build: `cargo build --release --example gbdt_timing`.
//! `gbdt_timing csv PATH` writes the 50,000 x 30 Friedman rows (x..., y) to PATH;
//! `gbdt_timing fit ROUNDS REPS` prints each fit's seconds;
//! `gbdt_timing bin REPS` times binning alone; `gbdt_timing deep REPS` grows one
//! unlimited tree (min 1 row per leaf, 10 features per split);
//! `gbdt_timing predict REPS` fits 300 rounds and prints batch ns/row and single-row us.

use std::io::Write;
use std::time::Instant;

use tenantml::trees::gbdt::{Gbdt, GbdtParams};

#[path = "../../tests/common/friedman.rs"]
mod friedman;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (x, y) = friedman::friedman(50_000, 30, 1, 2.0);
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    match args.get(1).map(String::as_str) {
        Some("csv") => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&args[2]).unwrap());
            for (r, t) in x.rows().into_iter().zip(&y) {
                for v in r {
                    write!(f, "{v:.17e},").unwrap();
                }
                writeln!(f, "{t:.17e}").unwrap();
            }
        }
        Some("fit") => {
            let rounds = arg(2, 100);
            for _ in 0..arg(3, 3) {
                let t = Instant::now();
                let m = Gbdt::fit(
                    x.view(),
                    &y,
                    None,
                    None,
                    &GbdtParams {
                        rounds,
                        ..Default::default()
                    },
                )
                .unwrap();
                let secs = t.elapsed().as_secs_f64();
                println!(
                    "fit rounds={rounds} secs={secs:.4} train_mse={:.6}",
                    m.train_loss().last().unwrap()
                );
            }
        }
        Some("bin") => {
            for _ in 0..arg(2, 5) {
                let t = Instant::now();
                let d = tenantml::trees::binning::BinnedData::fit(x.view(), 255, 0).unwrap();
                let secs = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let n = d.row_major().len();
                println!(
                    "bin secs={secs:.4} row_major_secs={:.4} ({n})",
                    t.elapsed().as_secs_f64()
                );
            }
        }
        Some("deep") => {
            // A random-forest-shaped tree: every row may end in its own leaf.
            use tenantml::trees::grower::{grow, GrowRules};
            use tenantml::trees::split::SplitRules;
            let data = tenantml::trees::binning::BinnedData::fit(x.view(), 255, 0).unwrap();
            let mean = y.iter().sum::<f64>() / y.len() as f64;
            let grad: Vec<f64> = y.iter().map(|v| mean - v).collect();
            let hess = vec![1.0; y.len()];
            let features: Vec<usize> = (0..x.ncols()).collect();
            for _ in 0..arg(2, 3) {
                let mut rows: Vec<u32> = (0..y.len() as u32).collect();
                let rules = GrowRules {
                    max_leaves: y.len(),
                    max_depth: 0,
                    split: SplitRules {
                        lambda_l2: 0.0,
                        min_child_weight: 0.0,
                        min_samples_leaf: 1,
                        min_split_gain: 0.0,
                    },
                    features_per_split: 10,
                    seed: 7,
                };
                let t = Instant::now();
                let (tree, _) = grow(&data, &mut rows, &grad, &hess, &features, &rules);
                println!(
                    "deep secs={:.4} leaves={}",
                    t.elapsed().as_secs_f64(),
                    tree.n_leaves()
                );
            }
        }
        Some("predict") => {
            let m = Gbdt::fit(
                x.view(),
                &y,
                None,
                None,
                &GbdtParams {
                    rounds: 300,
                    ..Default::default()
                },
            )
            .unwrap();
            let mut out = vec![0.0; x.nrows()];
            if std::env::var_os("DEPTHS").is_some() {
                fn depth(t: &tenantml::trees::tree::Tree, i: usize) -> usize {
                    let n = &t.nodes[i];
                    if n.is_leaf() {
                        0
                    } else {
                        1 + depth(t, n.left as usize).max(depth(t, n.right as usize))
                    }
                }
                let d: Vec<usize> = m.trees().iter().map(|t| depth(t, 0)).collect();
                let mean = d.iter().sum::<usize>() as f64 / d.len() as f64;
                println!("tree depth mean={mean:.1} max={}", d.iter().max().unwrap());
            }
            // CPU time of the process as well as wall time: on a shared machine the wall
            // clock also counts the time other jobs held the cores.
            let cpu = || {
                let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
                t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
            };
            for _ in 0..arg(2, 5) {
                let (t, c) = (Instant::now(), cpu());
                m.predict(x.view(), &mut out).unwrap();
                let ns = t.elapsed().as_secs_f64() * 1e9 / x.nrows() as f64;
                let cpu_ns = (cpu() - c) * 1e9 / x.nrows() as f64;
                let rows: Vec<Vec<f64>> = (0..2000).map(|i| x.row(i).to_vec()).collect();
                let (t, c) = (Instant::now(), cpu());
                let mut s = 0.0;
                for r in &rows {
                    s += m.predict_row(r).unwrap();
                }
                let us = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
                let cpu_us = (cpu() - c) * 1e6 / rows.len() as f64;
                // The same row again and again (what criterion's predict_row measures): the
                // branch predictor learns its path, which distinct rows never allow.
                let c = cpu();
                for _ in 0..rows.len() {
                    s += m.predict_row(std::hint::black_box(&rows[7])).unwrap();
                }
                let same_us = (cpu() - c) * 1e6 / rows.len() as f64;
                println!(
                    "predict batch_ns_per_row={ns:.1} (cpu {cpu_ns:.1}) single_us={us:.3} (cpu {cpu_us:.3}) same_row_cpu_us={same_us:.3} check={s:.6}"
                );
            }
        }
        _ => eprintln!("usage: gbdt_timing csv PATH | fit ROUNDS REPS | predict REPS"),
    }
}
