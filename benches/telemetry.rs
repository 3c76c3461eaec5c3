//! Cost of recording one prediction: two clock reads plus a slot lookup and the atomic
//! adds, in-process and in the shared file (budget: under 100 ns). Run alone:
//! `cargo bench --bench telemetry`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::telemetry::{Telemetry, TelemetryOptions};

fn record(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("tenantml-bench-telemetry-{}", std::process::id()));
    let shared = Telemetry::shared(&TelemetryOptions::at(dir.join("metrics.shm"))).unwrap();
    let in_process = Telemetry::in_process();
    for (name, t) in [("in_process", &in_process), ("shared_file", &shared)] {
        // A table with other series in it, as on a busy host.
        for i in 0..200 {
            let model = format!("tenant-{i}-fraud");
            t.record_prediction(&model, "model", std::time::Duration::ZERO)
                .unwrap();
        }
        c.bench_function(&format!("telemetry/record_prediction/{name}"), |b| {
            b.iter(|| {
                let started = Instant::now();
                t.record_prediction(
                    black_box("tenant-42-fraud"),
                    black_box("model"),
                    started.elapsed(),
                )
                .unwrap()
            })
        });
    }
    // The floor: the two clock reads every recorded prediction pays.
    c.bench_function("telemetry/two_clock_reads", |b| {
        b.iter(|| black_box(Instant::now().elapsed()))
    });
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, record);
criterion_main!(benches);
