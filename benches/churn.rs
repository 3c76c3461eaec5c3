//! Churn scoring hot paths: features for a tenant with 90 days of events, one prediction
//! without and with reasons (TreeSHAP), a batch of 1,000 tenants, and trigger evaluation.
//! Run: `cargo bench --bench churn`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::scoring::churn::{
    churn_features, generate, ChurnPredictor, CooldownState, GeneratorSettings, TriggerPolicy, DAY,
};

fn churn(c: &mut Criterion) {
    let settings = GeneratorSettings::training();
    // The default model: 300 rounds of 7 leaves, Platt calibration.
    let predictor = ChurnPredictor::cold_start(&settings, 1).unwrap();
    let data = generate(
        &GeneratorSettings {
            tenants: 1600,
            ..settings.clone()
        },
        2,
    )
    .unwrap();
    let as_of = settings.start + 200 * DAY;
    let alive: Vec<_> = data
        .tenants
        .iter()
        .filter(|t| {
            t.churned_at.is_none_or(|c| c > as_of)
                && t.started_at().is_some_and(|s| s < as_of - 90 * DAY)
        })
        .cloned()
        .collect();
    // A typical tenant: the one with the median number of events in the 90 days before.
    let mut by_events: Vec<_> = alive
        .iter()
        .map(|t| {
            let n = t
                .events
                .as_ref()
                .unwrap()
                .iter()
                .filter(|e| e.at < as_of && e.at >= as_of - 90 * DAY)
                .count();
            (n, t)
        })
        .collect();
    by_events.sort_by_key(|p| p.0);
    let (n_events, tenant) = by_events[by_events.len() / 2];
    eprintln!(
        "tenant with {n_events} events in 90 days ({} in its history); model of {} trees",
        tenant.events.as_ref().unwrap().len(),
        predictor.model().unwrap().gbdt().unwrap().trees().len()
    );
    let mut group = c.benchmark_group("churn");
    group.bench_function("features/90_days", |b| {
        b.iter(|| churn_features(black_box(tenant), as_of).unwrap())
    });
    group.bench_function("predict/no_reasons", |b| {
        b.iter(|| {
            predictor
                .predict_with_reasons(black_box(tenant), as_of, 0)
                .unwrap()
        })
    });
    group.bench_function("predict/top3_reasons", |b| {
        b.iter(|| {
            predictor
                .predict_with_reasons(black_box(tenant), as_of, 3)
                .unwrap()
        })
    });
    let batch: Vec<_> = alive.iter().take(1000).cloned().collect();
    eprintln!("batch of {} tenants", batch.len());
    group.sample_size(10);
    group.bench_function(
        format!("predict_batch/{}_tenants_top3_reasons", batch.len()),
        |b| b.iter(|| predictor.predict_batch(black_box(&batch), as_of).unwrap()),
    );
    group.sample_size(100);
    let scores = predictor.predict_batch(&batch, as_of).unwrap();
    let policy = TriggerPolicy::default_policy();
    let fired = policy.evaluate(&scores, &CooldownState::default(), as_of);
    eprintln!(
        "{} decisions for {} scores",
        fired.decisions.len(),
        scores.len()
    );
    group.bench_function(
        format!("triggers/{}_scores_empty_state", scores.len()),
        |b| b.iter(|| policy.evaluate(black_box(&scores), &CooldownState::default(), as_of)),
    );
    group.bench_function(
        format!("triggers/{}_scores_full_state", scores.len()),
        |b| b.iter(|| policy.evaluate(black_box(&scores), &fired.state, as_of + DAY)),
    );
    group.finish();
}

criterion_group!(benches, churn);
criterion_main!(benches);
