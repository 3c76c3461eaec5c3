//! `tenantml score-fraud`: scores every transaction of a CSV file against its customer's
//! earlier rows (the last 100, as the fitting saw them) with a saved scorer, a cold-start
//! scorer or the rules alone; writes the scores and, with labels, compares the scorer with
//! its rules alone (ROC AUC, PR AUC, Brier score).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use tenantml::data::series::{format_timestamp, parse_timestamp};
use tenantml::scoring::fraud::{
    FraudScorer, GeneratorSettings, RulesConfig, Schema, ScoreSummary, Transaction,
};
use tenantml::trees::calibration::brier_score;
use tenantml::trees::metrics::{average_precision, roc_auc};

/// Options of `tenantml score-fraud`.
#[derive(Args)]
pub struct ScoreFraudArgs {
    /// CSV with a header and columns `timestamp` (unix seconds or ISO 8601 with offset),
    /// `customer`, `amount`, and optionally `currency`, `country`, `ip_country`,
    /// `payment_method`, `category`, `outcome` (`failed`/`succeeded`/1/0) and a label column.
    /// Customer and payment-method ids may be integers or strings (hashed).
    #[arg(long)]
    data: PathBuf,
    /// Score with this saved scorer.
    #[arg(long, conflicts_with_all = ["cold_start", "rules"])]
    model: Option<PathBuf>,
    /// Score with a cold-start scorer fitted on synthetic data (`--settings`, `--seed`);
    /// the default when neither --model nor --rules is given.
    #[arg(long, conflicts_with = "rules")]
    cold_start: bool,
    /// Generator settings of --cold-start: training, held_out, amount_shift, rate_shift,
    /// slow_drip, or a JSON object.
    #[arg(long, default_value = "training")]
    settings: String,
    /// Seed of --cold-start.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Score with these rules alone (a rules config JSON file), in the schema of
    /// `--schema` (default: the cold-start generator's).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Schema JSON file for --rules (`currencies`, `countries`, `categories`, `time_zone`).
    #[arg(long, requires = "rules")]
    schema: Option<PathBuf>,
    /// Column of 0/1 fraud labels; metrics are printed when present (default: `is_fraud`
    /// if the file has it).
    #[arg(long)]
    labels_column: Option<String>,
    /// Where to write the scores:
    /// `row,customer,timestamp,score,decision,regime,rule_score,rule_hits` (default: stdout,
    /// unless --json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also save the scorer used (e.g. the cold-start one).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Print one JSON object (counts, regime, metrics) instead of text.
    #[arg(long)]
    json: bool,
}

fn scorer_of(args: &ScoreFraudArgs) -> Result<FraudScorer, String> {
    let e = |e: tenantml::Error| e.to_string();
    if let Some(path) = &args.model {
        return FraudScorer::load(path).map_err(|err| format!("{}: {err}", path.display()));
    }
    if let Some(path) = &args.rules {
        let text =
            std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let rules =
            RulesConfig::from_json(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        let schema = match &args.schema {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|err| format!("{}: {err}", p.display()))?;
                Schema::from_json(&text).map_err(|err| format!("{}: {err}", p.display()))?
            }
            None => GeneratorSettings::schema(),
        };
        return FraudScorer::rules_only(rules, schema).map_err(e);
    }
    let settings = match args.settings.trim() {
        "training" => GeneratorSettings::training(),
        "held_out" => GeneratorSettings::held_out(),
        "amount_shift" => GeneratorSettings::amount_shift(),
        "rate_shift" => GeneratorSettings::rate_shift(),
        "slow_drip" => GeneratorSettings::slow_drip(),
        json if json.starts_with('{') => {
            serde_json::from_str(json).map_err(|err| format!("--settings: {err}"))?
        }
        other => {
            return Err(format!(
                "--settings '{other}': expected training, held_out, amount_shift, rate_shift, \
                 slow_drip or a JSON object"
            ))
        }
    };
    FraudScorer::cold_start(&settings, args.seed).map_err(e)
}

/// A stable 64-bit id of a string id (FNV-1a); integers are used as they are.
fn id_of(text: &str) -> u64 {
    if let Ok(n) = text.parse::<u64>() {
        return n;
    }
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Input {
    transactions: Vec<Transaction>,
    labels: Option<Vec<f64>>,
    customers: Vec<String>,
}

fn read_input(args: &ScoreFraudArgs, schema: &Schema) -> Result<Input, String> {
    let path = &args.data;
    let at = |line: usize, m: String| format!("{}:{line}: {m}", path.display());
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(tc), Some(cc), Some(ac)) = (col("timestamp"), col("customer"), col("amount")) else {
        return Err(format!(
            "{}: needs columns 'timestamp', 'customer' and 'amount' (has: {})",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    };
    let label_col = match &args.labels_column {
        Some(name) => {
            Some(col(name).ok_or_else(|| format!("{}: no label column '{name}'", path.display()))?)
        }
        None => col("is_fraud"),
    };
    let optional = |name: &str| col(name);
    let (cur, cty, ipc, pm, cat, out) = (
        optional("currency"),
        optional("country"),
        optional("ip_country"),
        optional("payment_method"),
        optional("category"),
        optional("outcome"),
    );
    let mut input = Input {
        transactions: Vec::new(),
        labels: label_col.map(|_| Vec::new()),
        customers: Vec::new(),
    };
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| at(line, e.to_string()))?;
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("");
        let timestamp = parse_timestamp(cell(Some(tc))).map_err(|e| at(line, e.to_string()))?;
        let amount: f64 = cell(Some(ac))
            .parse()
            .map_err(|_| at(line, format!("amount '{}' is not a number", cell(Some(ac)))))?;
        let customer = cell(Some(cc));
        let outcome = match cell(out).to_ascii_lowercase().as_str() {
            "" | "0" | "succeeded" | "success" | "ok" => 0,
            "1" | "failed" | "declined" => 1,
            other => {
                return Err(at(
                    line,
                    format!("outcome '{other}' is not failed/succeeded/1/0"),
                ))
            }
        };
        input.transactions.push(Transaction {
            amount,
            timestamp,
            customer: id_of(customer),
            payment_method: id_of(cell(pm)),
            currency: schema.currencies.code(cell(cur)),
            country: schema.countries.code(cell(cty)),
            ip_country: schema.countries.code(cell(ipc)),
            category: schema.categories.code(cell(cat)),
            outcome,
        });
        input.customers.push(customer.to_string());
        if let Some(labels) = &mut input.labels {
            let label = match cell(label_col).to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => 1.0,
                "0" | "false" | "no" => 0.0,
                other => return Err(at(line, format!("label '{other}' is not 1/0"))),
            };
            labels.push(label);
        }
    }
    if input.transactions.is_empty() {
        return Err(format!("{}: no transactions", path.display()));
    }
    Ok(input)
}

fn metrics(labels: &[f64], scores: &[f64]) -> Result<serde_json::Value, String> {
    let brier = brier_score(scores, labels, None).map_err(|e| e.to_string())?;
    let finite = |x: f64| if x.is_finite() { json!(x) } else { json!(null) };
    Ok(json!({
        "roc_auc": finite(roc_auc(labels, scores)),
        "pr_auc": finite(average_precision(labels, scores)),
        "brier": brier,
    }))
}

/// Runs `tenantml score-fraud`.
pub fn score_fraud(args: ScoreFraudArgs) -> Result<(), String> {
    let scorer = scorer_of(&args)?;
    if let Some(path) = &args.save {
        scorer
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let input = read_input(&args, scorer.schema())?;
    let summaries = scorer
        .score_dataset(&input.transactions)
        .map_err(|e| format!("{}: {e}", args.data.display()))?;

    let mut csv_out =
        String::from("row,customer,timestamp,score,decision,regime,rule_score,rule_hits\n");
    let mut decisions: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (s, t)) in summaries.iter().zip(&input.transactions).enumerate() {
        *decisions.entry(s.decision.as_str()).or_default() += 1;
        let customer = &input.customers[i];
        let customer = if customer.contains([',', '"']) {
            format!("\"{}\"", customer.replace('"', "\"\""))
        } else {
            customer.clone()
        };
        csv_out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            i + 1,
            customer,
            format_timestamp(t.timestamp),
            s.score,
            s.decision.as_str(),
            s.regime.as_str(),
            s.rule_score,
            scorer.rules().hit_codes(s.rule_hits).join(";"),
        ));
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &csv_out).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None if !args.json => print!("{csv_out}"),
        None => {}
    }

    let comparison = match &input.labels {
        Some(labels) => {
            let scores: Vec<f64> = summaries.iter().map(|s: &ScoreSummary| s.score).collect();
            let rules = FraudScorer::rules_only(scorer.rules().clone(), scorer.schema().clone())
                .and_then(|r| r.score_dataset(&input.transactions))
                .map_err(|e| e.to_string())?;
            let rule_scores: Vec<f64> = rules.iter().map(|s| s.score).collect();
            let frauds = labels.iter().filter(|&&l| l == 1.0).count();
            Some(json!({
                "labelled": labels.len(),
                "frauds": frauds,
                "scorer": metrics(labels, &scores)?,
                "rules": metrics(labels, &rule_scores)?,
            }))
        }
        None => None,
    };
    let summary = json!({
        "rows": summaries.len(),
        "model_name": scorer.name(),
        "model_version": scorer.version(),
        "regime": scorer.regime().as_str(),
        "decisions": decisions,
        "metrics": comparison,
    });
    if args.json {
        println!("{summary}");
    } else if args.out.is_some() {
        println!(
            "scored {} transactions with {} v{} ({}): {}",
            summaries.len(),
            scorer.name(),
            scorer.version(),
            scorer.regime().as_str(),
            decisions
                .iter()
                .map(|(d, n)| format!("{n} {d}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(c) = &comparison {
            println!(
                "{} labelled, {} fraud\n{:<8} {:>8} {:>8} {:>8}",
                c["labelled"], c["frauds"], "", "ROC AUC", "PR AUC", "Brier"
            );
            for who in ["scorer", "rules"] {
                let m = &c[who];
                let f = |k: &str| m[k].as_f64().map_or("-".into(), |v| format!("{v:.4}"));
                println!(
                    "{:<8} {:>8} {:>8} {:>8}",
                    who,
                    f("roc_auc"),
                    f("pr_auc"),
                    f("brier")
                );
            }
        }
    }
    Ok(())
}
