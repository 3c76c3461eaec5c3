//! Retention triggers: matching, cool-downs (fire, suppress, fire again), state JSON and
//! strict policy parsing.

use tenantml::scoring::churn::{ChurnScore, CooldownState, TenantFacts, TriggerPolicy};
use tenantml::scoring::{ReasonSource, Regime, ScoreReason};
use tenantml::Error;

const NOW: i64 = 1_736_121_600;
const DAY: i64 = 86_400;

fn score(id: &str, p: f64, facts: TenantFacts, reasons: &[&str]) -> ChurnScore {
    ChurnScore {
        tenant_id: id.into(),
        probability: p,
        regime: Regime::Model,
        model_name: "churn".into(),
        model_version: 3,
        horizon_days: 30,
        as_of: NOW,
        inactive_flag: false,
        reasons: reasons
            .iter()
            .map(|c| ScoreReason {
                code: c.to_string(),
                description: format!("because of {c}"),
                weight: 0.5,
                source: ReasonSource::Model,
            })
            .collect(),
        facts,
    }
}

fn seats(n: f64) -> TenantFacts {
    TenantFacts {
        seats: Some(n),
        ..TenantFacts::default()
    }
}

#[test]
fn default_policy_maps_bands_reasons_and_facts_to_actions() {
    let policy = TriggerPolicy::default_policy();
    let scores = vec![
        score("big", 0.8, seats(25.0), &["days_since_last_activity"]),
        score("small", 0.8, seats(3.0), &["days_since_last_activity"]),
        score("drop", 0.55, seats(3.0), &["volume_ratio_30d", "seats"]),
        score("calm", 0.1, seats(50.0), &["volume_ratio_30d"]),
        score(
            "new",
            0.2,
            TenantFacts {
                tenure_days: Some(12.0),
                active_days_30d: Some(2.0),
                ..TenantFacts::default()
            },
            &[],
        ),
        // Unknown seats: a seat condition does not hold.
        score("unknown", 0.9, TenantFacts::default(), &[]),
    ];
    let out = policy.evaluate(&scores, &CooldownState::default(), NOW);
    let fired: Vec<(&str, &str)> = out
        .decisions
        .iter()
        .map(|d| (d.tenant_id.as_str(), d.action.as_str()))
        .collect();
    assert_eq!(
        fired,
        vec![
            ("big", "csm_call"),
            ("drop", "discount_offer"),
            ("new", "onboarding_email")
        ]
    );
    let big = &out.decisions[0];
    assert_eq!(big.band, "critical");
    assert_eq!(big.fired_at, NOW);
    assert!(
        big.reason.contains("probability 0.80 >= 0.7"),
        "{}",
        big.reason
    );
    assert!(big.reason.contains("seats 25 >= 10"), "{}", big.reason);
    assert!(
        out.decisions[1]
            .reason
            .contains("because of volume_ratio_30d"),
        "{}",
        out.decisions[1].reason
    );
    assert_eq!(out.decisions[1].band, "high");
    assert_eq!(policy.band(0.0), "low");
    assert_eq!(policy.band(0.3), "medium");
    assert!(out.suppressed.is_empty());
    assert_eq!(out.state.last_fired["big"]["csm_call"], NOW);
    assert_eq!(out.state.last_fired.len(), 3);
}

#[test]
fn cool_down_suppresses_then_lets_the_action_fire_again() {
    let policy = TriggerPolicy::from_json(
        r#"{"rules": [{"action": "csm_call", "min_probability": 0.7, "cooldown_days": 30}]}"#,
    )
    .unwrap();
    let s = [score("t1", 0.9, TenantFacts::default(), &[])];

    let first = policy.evaluate(&s, &CooldownState::default(), NOW);
    assert_eq!(first.decisions.len(), 1);
    // The state travels as JSON between requests.
    let json = first.state.to_json().unwrap();
    assert_eq!(
        json,
        format!(r#"{{"last_fired":{{"t1":{{"csm_call":{NOW}}}}}}}"#)
    );
    let state = CooldownState::from_json(&json).unwrap();
    assert_eq!(state, first.state);

    // One second before the cool-down ends: suppressed, state kept.
    let later = NOW + 30 * DAY - 1;
    let second = policy.evaluate(&s, &state, later);
    assert!(second.decisions.is_empty());
    assert_eq!(second.suppressed.len(), 1);
    assert_eq!(second.suppressed[0].last_fired_at, NOW);
    assert_eq!(second.suppressed[0].next_allowed_at, NOW + 30 * DAY);
    assert_eq!(second.state, state);

    // At the end of the cool-down: fires again and the state moves on.
    let third = policy.evaluate(&s, &second.state, NOW + 30 * DAY);
    assert_eq!(third.decisions.len(), 1);
    assert_eq!(third.state.last_fired["t1"]["csm_call"], NOW + 30 * DAY);

    // Another tenant is not held back by t1's cool-down.
    let other = [score("t2", 0.9, TenantFacts::default(), &[])];
    assert_eq!(policy.evaluate(&other, &state, later).decisions.len(), 1);

    // A stale entry of this policy's action is dropped; unknown actions are kept.
    let mut old = state.clone();
    old.last_fired
        .entry("t3".into())
        .or_default()
        .insert("legacy_action".into(), 5);
    let quiet = policy.evaluate(&[], &old, NOW + 31 * DAY);
    assert!(!quiet.state.last_fired.contains_key("t1"));
    assert_eq!(quiet.state.last_fired["t3"]["legacy_action"], 5);

    // The JSON form of the whole exchange.
    let out: serde_json::Value =
        serde_json::from_str(&policy.evaluate_json(&s, &json, later).unwrap()).unwrap();
    assert_eq!(out["suppressed"][0]["action"], "csm_call");
    assert!(policy
        .evaluate_json(&s, "", NOW)
        .unwrap()
        .contains("\"decisions\":[{"));
    assert!(matches!(
        policy.evaluate_json(&s, "{\"last\": 1}", NOW),
        Err(Error::Parse(_))
    ));
}

#[test]
fn zero_cool_down_fires_every_time_and_conditions_combine() {
    let policy = TriggerPolicy::from_json(
        r#"{
            "bands": [{"name": "low", "min": 0}, {"name": "high", "min": 0.6}],
            "rules": [
                {"action": "nudge", "cooldown_days": 0, "bands": ["high"],
                 "max_volume_change_30d": -0.3, "regimes": ["model", "cold_start"]},
                {"action": "watch", "cooldown_days": 1, "max_probability": 0.6, "min_days_inactive": 10}
            ]
        }"#,
    )
    .unwrap();
    let dropping = TenantFacts {
        volume_change_30d: Some(-0.5),
        days_inactive: Some(12.0),
        ..TenantFacts::default()
    };
    let s = [score("a", 0.7, dropping.clone(), &[])];
    let first = policy.evaluate(&s, &CooldownState::default(), NOW);
    assert_eq!(first.decisions.len(), 1);
    assert_eq!(first.decisions[0].action, "nudge");
    let again = policy.evaluate(&s, &first.state, NOW);
    assert_eq!(again.decisions.len(), 1, "no cool-down");
    // Usage down only 10%: the nudge does not hold.
    let mild = TenantFacts {
        volume_change_30d: Some(-0.1),
        ..dropping.clone()
    };
    assert!(policy
        .evaluate(
            &[score("b", 0.7, mild, &[])],
            &CooldownState::default(),
            NOW
        )
        .decisions
        .is_empty());
    // Below 0.6 and inactive: watch.
    let w = policy.evaluate(
        &[score("c", 0.4, dropping.clone(), &[])],
        &CooldownState::default(),
        NOW,
    );
    assert_eq!(w.decisions[0].action, "watch");
    // The fallback regime is not listed for the nudge.
    let mut fallback = score("d", 0.9, dropping, &[]);
    fallback.regime = Regime::Fallback;
    assert!(policy
        .evaluate(&[fallback], &CooldownState::default(), NOW)
        .decisions
        .is_empty());
}

#[test]
fn policy_errors_are_clear() {
    let cases = [
        ("{\"rules\": [", "trigger policy"),
        (
            r#"{"rules": [{"action": "x", "cooldown_days": -1}]}"#,
            "cooldown_days must be finite and >= 0, got -1",
        ),
        (
            r#"{"rules": [{"action": "x", "cooldown": 3}]}"#,
            "unknown field `cooldown`",
        ),
        (
            r#"{"rules": [{"action": "x", "min_probability": 1.5}]}"#,
            "min_probability must be in [0, 1]",
        ),
        (
            r#"{"rules": [{"action": "x"}, {"action": "x"}]}"#,
            "action 'x' appears twice",
        ),
        (
            r#"{"rules": [{"action": ""}]}"#,
            "action '' must be non-empty",
        ),
        (
            r#"{"rules": [{"action": "send mail"}]}"#,
            "must be non-empty letters",
        ),
        (
            r#"{"rules": [{"action": "x", "bands": ["hot"]}]}"#,
            "unknown band 'hot'",
        ),
        (
            r#"{"rules": [{"action": "x", "min_seats": -2}]}"#,
            "min_seats must be finite and >= 0",
        ),
        (
            r#"{"rules": [{"action": "x", "regimes": ["magic"]}]}"#,
            "unknown variant `magic`",
        ),
        (
            r#"{"bands": [{"name": "a", "min": 0.2}], "rules": []}"#,
            "min is 0",
        ),
        (
            r#"{"bands": [{"name": "a", "min": 0}, {"name": "b", "min": 0}], "rules": []}"#,
            "larger min",
        ),
        (r#"{"rules": [], "extra": 1}"#, "unknown field `extra`"),
        (r#"{"bands": []}"#, "missing field `rules`"),
    ];
    for (json, expected) in cases {
        let err = TriggerPolicy::from_json(json).unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{json}: '{err}' lacks '{expected}'"
        );
    }
    // The default policy is valid and survives JSON.
    let default = TriggerPolicy::default_policy();
    default.check().unwrap();
    let json = serde_json::to_string(&default).unwrap();
    assert_eq!(TriggerPolicy::from_json(&json).unwrap(), default);
}
