//! Fraud scoring on the hot path: features of one transaction over 100 history rows, a
//! score (budget: under 20 us from PHP, features included), and a score with the top-3
//! reasons (budget: under 1 ms). The scorer is the default one (300 trees x 15 leaves,
//! Platt-calibrated) fitted on the synthetic training set. Run: `cargo bench --bench fraud`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tenantml::scoring::fraud::{
    compute_facts, FeatureScratch, FraudParams, FraudScorer, GeneratorSettings, HistoryColumns,
    Transaction, N_BASE_FEATURES,
};

const HISTORY: usize = 100;

/// Scored transactions, each with 100 earlier rows of its customer (shuffled, as a caller's
/// query might return them).
fn cases(data: &[Transaction]) -> Vec<(Transaction, Vec<Transaction>)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..data.len() {
        if data[i].customer != data[start].customer {
            start = i;
        }
        if i - start >= HISTORY && out.len() < 32 && i % 7 == 0 {
            let mut h = data[i - HISTORY..i].to_vec();
            h.reverse();
            out.push((data[i], h));
        }
    }
    assert!(
        !out.is_empty(),
        "no customer with {HISTORY} earlier transactions"
    );
    out
}

fn fraud(c: &mut Criterion) {
    // Busy customers so that 100 earlier rows exist.
    let settings = GeneratorSettings {
        transactions_per_day: 4.0,
        ..GeneratorSettings::training()
    };
    let data = settings.generate().unwrap();
    let scorer = FraudScorer::fit(
        &data.transactions,
        &data.labels,
        data.schema.clone(),
        &FraudParams::default(),
    )
    .unwrap();
    let cases = cases(&data.transactions);
    let clock = tenantml::features::calendar::LocalClock::new(Some("Europe/Berlin")).unwrap();
    let mut scratch = FeatureScratch::new();
    let mut row = [0.0; N_BASE_FEATURES];
    let mut group = c.benchmark_group("fraud");
    let mut r = 0;
    group.bench_function("features/100_history", |b| {
        b.iter(|| {
            r = (r + 1) % cases.len();
            let (t, h) = &cases[r];
            let facts = compute_facts(black_box(t), h.as_slice(), &clock, &mut scratch);
            facts.write_features(&mut row);
            row[0]
        })
    });
    group.bench_function("score_with/100_history", |b| {
        b.iter(|| {
            r = (r + 1) % cases.len();
            let (t, h) = &cases[r];
            scorer
                .score_with(black_box(t), h.as_slice(), &mut scratch)
                .unwrap()
        })
    });
    let columns: Vec<_> = cases
        .iter()
        .map(|(_, h)| {
            (
                h.iter().map(|x| x.amount).collect::<Vec<_>>(),
                h.iter().map(|x| x.timestamp).collect::<Vec<_>>(),
                h.iter().map(|x| x.payment_method).collect::<Vec<_>>(),
                h.iter().map(|x| x.country).collect::<Vec<_>>(),
                h.iter().map(|x| x.outcome).collect::<Vec<_>>(),
            )
        })
        .collect();
    group.bench_function("score_with_columns/100_history", |b| {
        b.iter(|| {
            r = (r + 1) % cases.len();
            let (a, t, m, c, o) = &columns[r];
            let h = HistoryColumns::new(a, t, m, c, o).unwrap();
            scorer
                .score_with(black_box(&cases[r].0), &h, &mut scratch)
                .unwrap()
        })
    });
    group.bench_function("score/100_history", |b| {
        b.iter(|| {
            r = (r + 1) % cases.len();
            let (t, h) = &cases[r];
            scorer.score(black_box(t), h.as_slice()).unwrap()
        })
    });
    group.bench_function("explain_top3/100_history", |b| {
        b.iter(|| {
            r = (r + 1) % cases.len();
            let (t, h) = &cases[r];
            scorer.explain(black_box(t), h.as_slice(), 3).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, fraud);
criterion_main!(benches);
