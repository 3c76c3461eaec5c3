//! The scoring hot path allocates nothing once its scratch is warm: checked with a counting
//! global allocator (this file is its own test binary, so the allocator sees only it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tenantml::scoring::fraud::{
    FeatureScratch, FraudScorer, GeneratorSettings, HistoryColumns, RulesConfig,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn score_with_does_not_allocate_once_warm() {
    let data = GeneratorSettings::training()
        .with_customers(150)
        .generate()
        .unwrap();
    let mut p = tenantml::scoring::fraud::FraudParams::default();
    p.model.gbdt.rounds = 40;
    let model =
        FraudScorer::fit(&data.transactions, &data.labels, data.schema.clone(), &p).unwrap();
    let rules = FraudScorer::rules_only(RulesConfig::default(), data.schema.clone()).unwrap();
    let n = data.transactions.len().min(101);
    let (history, t) = (&data.transactions[..n - 1], &data.transactions[n - 1]);
    let amounts: Vec<f64> = history.iter().map(|h| h.amount).collect();
    let times: Vec<i64> = history.iter().map(|h| h.timestamp).collect();
    let methods: Vec<u64> = history.iter().map(|h| h.payment_method).collect();
    let countries: Vec<u32> = history.iter().map(|h| h.country).collect();
    let outcomes: Vec<u32> = history.iter().map(|h| h.outcome).collect();
    for scorer in [&model, &rules] {
        let mut scratch = FeatureScratch::new();
        let warm = scorer.score_with(t, history, &mut scratch).unwrap();
        let before = allocations();
        let again = scorer.score_with(t, history, &mut scratch).unwrap();
        let cols = HistoryColumns::new(&amounts, &times, &methods, &countries, &outcomes).unwrap();
        let via_columns = scorer.score_with(t, &cols, &mut scratch).unwrap();
        assert_eq!(allocations(), before, "the warm hot path allocated");
        assert_eq!((warm, warm), (again, via_columns));
    }
    // The check itself can fail: an explanation allocates.
    let before = allocations();
    model.explain(t, history, 3).unwrap();
    assert!(allocations() > before);
}
