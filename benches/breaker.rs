//! ns per guarded call (allow + record), in-process and shared store.
//! Budget (DESIGN.md): under 100 ns in Rust. Run: `cargo bench --bench breaker`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::breaker::{BreakerConfig, BreakerStore, Outcome, SharedStoreOptions, SlidingWindow};

fn shared_store() -> (BreakerStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tenantml-bench-{}", std::process::id()));
    let store = BreakerStore::shared(&SharedStoreOptions::in_dir(&dir)).expect("shared store");
    (store, dir)
}

fn guarded_calls(c: &mut Criterion) {
    let (shared, dir) = shared_store();
    let stores = [
        ("in_process", BreakerStore::in_process()),
        ("shared", shared),
    ];
    let configs = [
        ("default", BreakerConfig::default()),
        (
            "count_window_rates",
            BreakerConfig {
                failure_rate_threshold: Some(0.5),
                slow_call_duration_ms: Some(1000.0),
                slow_call_rate_threshold: Some(0.5),
                sliding_window: SlidingWindow::Count { size: 100 },
                ..Default::default()
            },
        ),
        (
            "time_window_rate",
            BreakerConfig {
                failure_rate_threshold: Some(0.5),
                sliding_window: SlidingWindow::Time { seconds: 60 },
                ..Default::default()
            },
        ),
    ];
    let mut group = c.benchmark_group("breaker");
    for (label, store) in &stores {
        for (kind, config) in &configs {
            let breaker = store
                .breaker(&format!("bench-{kind}-{label}"), config.clone())
                .unwrap();
            group.bench_function(format!("allow_record/{kind}/{label}"), |b| {
                b.iter(|| {
                    let permit = breaker.allow().unwrap();
                    black_box(breaker.record(&permit, Outcome::Success, None));
                })
            });
        }
        let default = store
            .breaker(&format!("bench-default-{label}"), BreakerConfig::default())
            .unwrap();
        group.bench_function(format!("call/default/{label}"), |b| {
            b.iter(|| black_box(default.call(|| Ok::<u32, ()>(black_box(7)), |_| 0)))
        });
        let open = store
            .breaker(&format!("bench-open-{label}"), BreakerConfig::default())
            .unwrap();
        open.force_open();
        group.bench_function(format!("allow_rejected/{label}"), |b| {
            b.iter(|| black_box(open.allow().is_err()))
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, guarded_calls);
criterion_main!(benches);
