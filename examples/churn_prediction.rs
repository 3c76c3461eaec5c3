//! Churn prediction end to end: a cold-start model from synthetic tenants, a few tenants
//! scored with reasons, retention triggers with a cool-down state kept as JSON, and the
//! rules-only fallback.
//!
//! `cargo run --release --example churn_prediction`

use tenantml::scoring::churn::{
    ChurnParams, ChurnPredictor, CooldownState, GeneratorSettings, Subscription, TenantHistory,
    TriggerPolicy, DAY,
};

fn main() -> tenantml::Result<()> {
    // Day 1 of a platform without churn labels: train on synthetic tenants.
    let settings = GeneratorSettings::training();
    let predictor = ChurnPredictor::cold_start(&settings, 1)?;
    let as_of = settings.start + 240 * DAY;

    let subscription = |seats: f64, days: i64| Subscription {
        plan: Some("business".into()),
        started_at: Some(as_of - days * DAY),
        seats: Some(seats),
        monthly_price: Some(seats * 40.0),
        plan_allowance: Some(seats * 900.0),
    };
    // Steady: a few sessions every weekday for 90 days.
    let steady_at: Vec<i64> = (1..90)
        .filter(|d| d % 7 < 5)
        .flat_map(|d| (0..4).map(move |s| as_of - d * DAY + s * 3600))
        .collect();
    // Fading: busy until 60 days ago, then fewer and fewer sessions, silent for 20 days.
    let fading_at: Vec<i64> = (20..90)
        .filter(|d| (*d > 60) || d % (1 + (60 - d) / 8).max(1) == 0)
        .map(|d| as_of - d * DAY)
        .collect();
    let tenants = vec![
        TenantHistory::new("steady-co")
            .with_events(&steady_at, &vec![12.0; steady_at.len()])?
            .with_subscription(subscription(20.0, 500))?
            .with_failed_payments(&[])
            .with_tickets(&[], None)?,
        TenantHistory::new("fading-inc")
            .with_events(&fading_at, &vec![12.0; fading_at.len()])?
            .with_subscription(subscription(12.0, 400))?
            .with_failed_payments(&[as_of - 5 * DAY])
            .with_tickets(&[as_of - 10 * DAY], Some(&[3.0]))?,
        // A new tenant who barely started, from JSON as PHP would send it.
        TenantHistory::from_json(&format!(
            r#"{{"id": "new-gmbh", "events": [{{"at": {}, "amount": 2}}],
                "subscription": {{"plan": "starter", "started_at": {}, "seats": 2, "monthly_price": 40}},
                "failed_payments": [], "tickets": []}}"#,
            as_of - 12 * DAY,
            as_of - 20 * DAY
        ))?,
    ];

    let scores = predictor.predict_batch(&tenants, as_of)?;
    for s in &scores {
        println!(
            "{:<11} p(churn in {} days) = {:.3}  [{} {} v{}]  inactive flag: {}",
            s.tenant_id,
            s.horizon_days,
            s.probability,
            s.regime.as_str(),
            s.model_name,
            s.model_version,
            s.inactive_flag
        );
        for r in &s.reasons {
            println!("    {:<26} {:+.3}  {}", r.code, r.weight, r.description);
        }
    }

    // Retention triggers; the cool-down state goes back to the caller as JSON.
    let policy = TriggerPolicy::default_policy();
    let outcome = policy.evaluate(&scores, &CooldownState::default(), as_of);
    println!();
    for d in &outcome.decisions {
        println!(
            "trigger {:<16} for {:<11} ({} band): {}",
            d.action, d.tenant_id, d.band, d.reason
        );
    }
    let state_json = outcome.state.to_json()?;
    println!("cool-down state to store: {state_json}");
    let tomorrow = policy.evaluate(
        &scores,
        &CooldownState::from_json(&state_json)?,
        as_of + DAY,
    );
    println!(
        "a day later: {} decisions, {} suppressed by cool-down",
        tomorrow.decisions.len(),
        tomorrow.suppressed.len()
    );

    // Rules only (no model): the same answer type, regime "fallback".
    let rules = ChurnPredictor::rules_only(&ChurnParams::default())?;
    let s = rules.predict(&tenants[1], as_of)?;
    println!();
    println!(
        "rules only: {} score {:.3} ({}), {}",
        s.tenant_id,
        s.probability,
        s.regime.as_str(),
        s.reasons[0].description
    );
    Ok(())
}
