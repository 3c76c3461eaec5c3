//! A breaker shared by every process on the host guards a flaky dependency.
//! Run: `cargo run --release --example breaker`

use std::time::Duration;

use tenantml::breaker::{BreakerConfig, BreakerStore, CallError, SharedStoreOptions};

fn main() -> tenantml::Result<()> {
    let dir = std::env::temp_dir().join("tenantml-example");
    let store = BreakerStore::shared(&SharedStoreOptions::in_dir(&dir))?;
    let config = BreakerConfig {
        open_wait_ms: 200,
        ..Default::default()
    };
    let breaker = store.breaker("ml-service", config)?;
    breaker.reset(); // start the demo from a clean state, whatever an earlier run left

    let flaky = |i: i64| {
        if (3..9).contains(&i) {
            Err("timeout")
        } else {
            Ok(i * 10)
        }
    };
    for i in 0..12 {
        let answer = breaker.call(
            || flaky(i),
            |e| match e {
                CallError::Failed(why) => {
                    println!("call {i}: failed ({why}), rule-based fallback");
                    -1
                }
                CallError::Rejected(r) => {
                    println!("call {i}: rejected while {}, fallback", r.state);
                    -1
                }
            },
        );
        if answer >= 0 {
            println!("call {i}: {answer} (breaker {})", breaker.state());
        }
        if i == 9 {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&breaker.snapshot()).expect("snapshot serialises")
    );
    Ok(())
}
