//! `tenantml churn`: churn probabilities with reasons for tenants read from a JSON file
//! (an array of tenant histories) or an events CSV, from a saved predictor, a cold-start
//! model, a fit on labelled tenants or the days-inactive rule; retention triggers with a
//! cool-down state file; and an evaluation of the model against the rule when the tenants
//! carry `churned_at`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{ArgGroup, Args};
use serde_json::{json, Value};
use tenantml::data::series::{format_timestamp, parse_timestamp};
use tenantml::scoring::churn::{
    build_rows, ChurnParams, ChurnPredictor, ChurnScore, CooldownState, GeneratorSettings,
    LabelSpec, TenantHistory, TriggerOutcome, TriggerPolicy, N_FEATURES,
};
use tenantml::trees::calibration::brier_score;
use tenantml::trees::metrics::{average_precision, roc_auc};

/// Options of `tenantml churn`.
#[derive(Args)]
#[command(group(
    ArgGroup::new("predictor")
        .required(true)
        .args(["model", "cold_start", "fit", "rules_only"])
))]
pub struct ChurnArgs {
    /// Tenants: a JSON array of tenant histories (`id`, `events`, `daily`, `subscription`,
    /// `failed_payments`, `tickets`, `churned_at`), or a CSV of usage events with columns
    /// `tenant` (or `tenant_id`), `at` (or `timestamp`; unix seconds or ISO 8601 with
    /// offset) and optionally `amount`.
    #[arg(long)]
    data: PathBuf,
    /// Observation time: `YYYY-MM-DD` (midnight UTC), ISO 8601 with offset, or unix seconds.
    /// Only records before it count.
    #[arg(long)]
    as_of: String,
    /// Score with this saved predictor.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Score with a model fitted on synthetic tenants (no labels needed).
    #[arg(long)]
    cold_start: bool,
    /// Generator settings for --cold-start as JSON (default: the training settings).
    #[arg(long, requires = "cold_start")]
    settings: Option<String>,
    /// Seed of --cold-start.
    #[arg(long, default_value_t = 42, requires = "cold_start")]
    seed: u64,
    /// Fit a model on the tenants (`churned_at` labels) with --labels.
    #[arg(long, requires = "labels")]
    fit: bool,
    /// Label spec JSON file (`observation_dates`, `horizon_days`, `data_end`) for --fit, and
    /// the observation dates of --evaluate.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Score with the days-inactive rule alone.
    #[arg(long)]
    rules_only: bool,
    /// Predictor parameters as JSON (ChurnParams) for --cold-start, --fit and --rules-only.
    #[arg(long)]
    params: Option<String>,
    /// Also save the predictor here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Reasons per tenant (default: the predictor's top_reasons).
    #[arg(long)]
    reasons: Option<usize>,
    /// Write every score here: JSON (an array of scores), or CSV when the name ends in .csv
    /// (`tenant_id,probability,regime,inactive_flag,reasons`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Evaluate retention triggers with this policy JSON file (`default` for the built-in
    /// policy).
    #[arg(long)]
    triggers: Option<String>,
    /// Cool-down state file for --triggers: read if it exists, then replaced by the new state.
    #[arg(long, requires = "triggers")]
    state: Option<PathBuf>,
    /// Time of the trigger evaluation (default: --as-of), formats as --as-of.
    #[arg(long, requires = "triggers")]
    now: Option<String>,
    /// ROC AUC, PR AUC and Brier score of the predictor vs the inactivity rule on the tenants'
    /// `churned_at` (at --as-of, or at the --labels observation dates).
    #[arg(long)]
    evaluate: bool,
    /// Print one JSON object (predictor, scores, triggers, evaluation) instead of text.
    #[arg(long)]
    json: bool,
}

/// `YYYY-MM-DD`, ISO 8601 with offset, or unix seconds.
fn parse_time(text: &str, what: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(seconds) = t.parse::<i64>() {
        return Ok(seconds);
    }
    let full = if t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-' {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    parse_timestamp(&full).map_err(|e| format!("{what}: {e}"))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Tenants from a JSON array or an events CSV.
fn read_tenants(path: &Path) -> Result<Vec<TenantHistory>, String> {
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        return TenantHistory::many_from_json(&read(path)?)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h));
    let (Some(tc), Some(ac)) = (col(&["tenant", "tenant_id"]), col(&["at", "timestamp"])) else {
        return Err(format!(
            "{}: needs columns 'tenant' and 'at' (has: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let mc = col(&["amount", "value"]);
    let mut order: Vec<String> = Vec::new();
    let mut events: std::collections::HashMap<String, (Vec<i64>, Vec<f64>)> = Default::default();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let id = r.get(tc).unwrap_or("").to_string();
        let at = parse_time(r.get(ac).unwrap_or(""), &format!("line {line}"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let amount = match mc.and_then(|c| r.get(c)).filter(|s| !s.is_empty()) {
            None => 1.0,
            Some(s) => s.parse::<f64>().map_err(|_| {
                format!(
                    "{}: line {line}: amount '{s}' is not a number",
                    path.display()
                )
            })?,
        };
        let entry = events.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            (Vec::new(), Vec::new())
        });
        entry.0.push(at);
        entry.1.push(amount);
    }
    if order.is_empty() {
        return Err(format!("{}: no data rows", path.display()));
    }
    order
        .into_iter()
        .map(|id| {
            let (at, amount) = &events[&id];
            TenantHistory::new(id.clone())
                .with_events(at, amount)
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

fn params_of(args: &ChurnArgs) -> Result<Option<ChurnParams>, String> {
    args.params
        .as_deref()
        .map(ChurnParams::from_json)
        .transpose()
        .map_err(|e| format!("--params: {e}"))
}

fn label_spec(path: &Path) -> Result<LabelSpec, String> {
    serde_json::from_str(&read(path)?).map_err(|e| format!("{}: label spec: {e}", path.display()))
}

fn predictor_of(args: &ChurnArgs, tenants: &[TenantHistory]) -> Result<ChurnPredictor, String> {
    let params = params_of(args)?;
    let e = |e: tenantml::Error| e.to_string();
    if let Some(path) = &args.model {
        if params.is_some() {
            return Err("--params applies to a new predictor, not to --model".into());
        }
        return ChurnPredictor::load(path).map_err(|e| format!("{}: {e}", path.display()));
    }
    if args.rules_only {
        return ChurnPredictor::rules_only(&params.unwrap_or_default()).map_err(e);
    }
    if args.fit {
        let path = args.labels.as_ref().expect("clap requires --labels");
        let spec = label_spec(path)?;
        let params = params.unwrap_or_else(|| ChurnParams {
            horizon_days: spec.horizon_days,
            ..ChurnParams::default()
        });
        return ChurnPredictor::fit(tenants, &spec, &params).map_err(e);
    }
    let settings: GeneratorSettings = match &args.settings {
        Some(json) => serde_json::from_str(json).map_err(|e| format!("--settings: {e}"))?,
        None => GeneratorSettings::training(),
    };
    match params {
        Some(p) => ChurnPredictor::cold_start_with(&settings, args.seed, &p).map_err(e),
        None => ChurnPredictor::cold_start(&settings, args.seed).map_err(e),
    }
}

/// Model vs rule on labelled rows at the observation dates.
fn evaluate(
    predictor: &ChurnPredictor,
    tenants: &[TenantHistory],
    spec: &LabelSpec,
    in_sample: bool,
) -> Result<Value, String> {
    if tenants.iter().all(|t| t.churned_at.is_none()) {
        return Err("--evaluate needs tenants with churned_at (none has it)".into());
    }
    let rows = build_rows(tenants, spec).map_err(|e| e.to_string())?;
    let positives = rows.labels.iter().filter(|&&y| y == 1.0).count();
    if positives == 0 || positives == rows.labels.len() {
        return Err(format!(
            "--evaluate needs churned and retained tenants within the horizon; {positives} of {} rows churned",
            rows.labels.len()
        ));
    }
    let rule = predictor.rule();
    let (mut model_p, mut rule_p) = (Vec::new(), Vec::new());
    for (i, row) in rows.features.outer_iter().enumerate() {
        let row: &[f64; N_FEATURES] = row
            .as_slice()
            .and_then(|s| s.try_into().ok())
            .ok_or("a feature row is not contiguous")?;
        let id = &tenants[rows.tenant_index[i]].id;
        let at = rows.observed_at[i];
        model_p.push(
            predictor
                .predict_features(id, row, at, 0)
                .map_err(|e| e.to_string())?
                .probability,
        );
        rule_p.push(
            rule.score_features(id, row, at, spec.horizon_days)
                .probability,
        );
    }
    let metrics = |p: &[f64]| -> Result<Value, String> {
        Ok(json!({
            "roc_auc": roc_auc(&rows.labels, p),
            "pr_auc": average_precision(&rows.labels, p),
            "brier": brier_score(p, &rows.labels, None).map_err(|e| e.to_string())?,
        }))
    };
    let (name, version) = predictor.name_and_version();
    Ok(json!({
        "rows": rows.labels.len(),
        "positives": positives,
        "positive_rate": positives as f64 / rows.labels.len() as f64,
        "excluded": {
            "censored": rows.censored,
            "already_churned": rows.already_churned,
            "not_started": rows.not_started,
        },
        "in_sample": in_sample,
        "model": metrics(&model_p)?,
        "model_name": name,
        "model_version": version,
        "regime": predictor.regime(),
        "rule": metrics(&rule_p)?,
        "rule_threshold_days": rule.threshold_days,
    }))
}

fn triggers(
    args: &ChurnArgs,
    scores: &[ChurnScore],
    as_of: i64,
) -> Result<Option<TriggerOutcome>, String> {
    let Some(policy_arg) = &args.triggers else {
        return Ok(None);
    };
    let policy = if policy_arg == "default" {
        TriggerPolicy::default_policy()
    } else {
        let path = Path::new(policy_arg);
        TriggerPolicy::from_json(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let state = match &args.state {
        Some(path) if path.exists() => {
            let text = read(path)?;
            if text.trim().is_empty() {
                CooldownState::default()
            } else {
                CooldownState::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
        }
        _ => CooldownState::default(),
    };
    let now = match &args.now {
        Some(t) => parse_time(t, "--now")?,
        None => as_of,
    };
    let outcome = policy.evaluate(scores, &state, now);
    if let Some(path) = &args.state {
        let json = outcome.state.to_json().map_err(|e| e.to_string())?;
        tenantml::trees::format::save(path, json.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Some(outcome))
}

fn write_scores(path: &Path, scores: &[ChurnScore]) -> Result<(), String> {
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let text = if is_csv {
        let mut text = String::from("tenant_id,probability,regime,inactive_flag,reasons\n");
        for s in scores {
            let reasons: Vec<&str> = s.reasons.iter().map(|r| r.description.as_str()).collect();
            text.push_str(&format!(
                "{},{},{},{},\"{}\"\n",
                csv_cell(&s.tenant_id),
                s.probability,
                s.regime.as_str(),
                s.inactive_flag,
                reasons.join("; ").replace('"', "\"\"")
            ));
        }
        text
    } else {
        serde_json::to_string_pretty(scores).map_err(|e| e.to_string())?
    };
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Runs `tenantml churn`.
pub fn churn(args: ChurnArgs) -> Result<(), String> {
    let as_of = parse_time(&args.as_of, "--as-of")?;
    let tenants = read_tenants(&args.data)?;
    let fit_started = Instant::now();
    let predictor = predictor_of(&args, &tenants)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    if let Some(path) = &args.save {
        predictor
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let k = args.reasons.unwrap_or(predictor.params().top_reasons);
    // Tenants that were not customers at --as-of (not started yet, or already churned) have
    // no churn risk to score; they are counted, not scored.
    let not_started = tenants
        .iter()
        .filter(|t| t.started_at().is_some_and(|s| s > as_of))
        .count();
    let already_churned = tenants
        .iter()
        .filter(|t| t.churned_at.is_some_and(|c| c <= as_of))
        .count();
    let started = Instant::now();
    let scores = tenants
        .iter()
        .filter(|t| {
            t.started_at().is_none_or(|s| s <= as_of) && t.churned_at.is_none_or(|c| c > as_of)
        })
        .map(|t| predictor.predict_with_reasons(t, as_of, k))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let score_seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.out {
        write_scores(path, &scores)?;
    }
    let outcome = triggers(&args, &scores, as_of)?;
    let evaluation = if args.evaluate {
        let spec = match &args.labels {
            Some(path) => label_spec(path)?,
            None => LabelSpec {
                observation_dates: vec![as_of],
                horizon_days: predictor.horizon_days(),
                data_end: as_of.saturating_add(i64::from(predictor.horizon_days()) * 86_400),
            },
        };
        Some(evaluate(&predictor, &tenants, &spec, args.fit)?)
    } else {
        None
    };

    if args.json {
        let info: Value = serde_json::from_str(&predictor.info_json().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let mut out = json!({
            "predictor": info,
            "as_of": as_of,
            "tenants": scores.len(),
            "skipped": {"not_started": not_started, "already_churned": already_churned},
            "fit_seconds": fit_seconds,
            "score_us_per_tenant": score_seconds * 1e6 / scores.len().max(1) as f64,
            "scores": scores,
        });
        if let Some(o) = &outcome {
            out["triggers"] = json!(o);
        }
        if let Some(e) = evaluation {
            out["evaluation"] = e;
        }
        println!("{out}");
        return Ok(());
    }

    // Scores carry the answering model's name (the rule's for a rules-only predictor).
    let (name, version) = match scores.first() {
        Some(s) => (s.model_name.clone(), s.model_version),
        None => predictor.name_and_version(),
    };
    println!(
        "{} tenants as of {}: {} v{} ({}), p(churn within {} days)",
        scores.len(),
        format_timestamp(as_of),
        name,
        version,
        predictor.regime().as_str(),
        predictor.horizon_days()
    );
    if not_started + already_churned > 0 {
        println!(
            "({not_started} not started yet and {already_churned} already churned at that time: not scored)"
        );
    }
    let mut ranked: Vec<&ChurnScore> = scores.iter().collect();
    ranked.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    const SHOWN: usize = 20;
    let width = ranked
        .iter()
        .take(SHOWN)
        .map(|s| s.tenant_id.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:<width$}  {:>6}  {:<8}  reasons",
        "TENANT", "P", "INACTIVE"
    );
    for s in ranked.iter().take(SHOWN) {
        let reasons: Vec<&str> = s.reasons.iter().map(|r| r.description.as_str()).collect();
        println!(
            "{:<width$}  {:>6.3}  {:<8}  {}",
            s.tenant_id,
            s.probability,
            if s.inactive_flag { "yes" } else { "no" },
            reasons.join("; ")
        );
    }
    if ranked.len() > SHOWN {
        println!(
            "... {} more (highest risk first; --out FILE writes every score)",
            ranked.len() - SHOWN
        );
    }
    if let Some(o) = &outcome {
        println!(
            "\ntriggers: {} actions, {} held back by their cool-down",
            o.decisions.len(),
            o.suppressed.len()
        );
        for d in &o.decisions {
            println!("  {} -> {} ({})", d.tenant_id, d.action, d.reason);
        }
        for s in &o.suppressed {
            println!(
                "  {} -> {} suppressed until {}",
                s.tenant_id,
                s.action,
                format_timestamp(s.next_allowed_at)
            );
        }
    }
    if let Some(e) = &evaluation {
        println!(
            "\nevaluation on {} rows ({} churned within the horizon){}:",
            e["rows"],
            e["positives"],
            if args.fit {
                " -- in sample: the model was fitted on these tenants"
            } else {
                ""
            }
        );
        println!(
            "{:<28} {:>8} {:>8} {:>8}",
            "method", "ROC AUC", "PR AUC", "Brier"
        );
        let num = |v: &Value| v.as_f64().map_or("-".into(), |v| format!("{v:.3}"));
        for (label, key) in [
            (format!("{name} v{version}"), "model"),
            (
                format!("inactivity rule ({} d)", predictor.rule().threshold_days),
                "rule",
            ),
        ] {
            let m = &e[key];
            println!(
                "{label:<28} {:>8} {:>8} {:>8}",
                num(&m["roc_auc"]),
                num(&m["pr_auc"]),
                num(&m["brier"])
            );
        }
        println!("(the rule's score is a ramp, not a calibrated probability: compare its Brier with care)");
    }
    Ok(())
}
