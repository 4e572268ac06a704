//! `assign --emit-sql`: the model as one SQL query that assigns the rows of a features table
//! (the output of `features --emit-sql`) as `cartsona assign` would: fill, transform, clip and
//! scale each clustering feature, the squared distance to every centroid, the nearest and second
//! nearest (ties to the earlier persona, as `cluster::nearest`), the outlier flag with its
//! never-a-whole-persona guard (`cluster::outliers::flag`), and the holdout arm and the variant
//! by the engine's SHA-256 and the documented hex-text comparisons (docs/outcomes.md). Pure: model
//! in, text out.

use std::fmt::Write as _;

use crate::features::catalogue::Transform;
use crate::features::sql::Dialect;
use crate::model::holdout::DEFAULT_SALT;
use crate::model::Model;
use crate::propensity::learn::{Propensity, LEVELS};
use crate::propensity::logistic::Logistic;

/// A double literal that every engine reads as the same double: shortest round-trip digits in
/// exponent form (a double in Spark and BigQuery, and exact decimal digits elsewhere).
/// Negative literals are parenthesised: `x - -1e0` is fine SQL, but one space less is a comment.
fn num(x: f64) -> String {
    if x < 0.0 {
        format!("({x:e})")
    } else {
        format!("{x:e}")
    }
}

/// The first 16 lower-case hex digits of SHA-256 of the UTF-8 text `e`.
fn sha256_prefix(d: Dialect, e: &str) -> String {
    match d {
        Dialect::Duckdb => format!("substr(sha256({e}), 1, 16)"),
        Dialect::Spark => format!("substr(sha2({e}, 256), 1, 16)"),
        Dialect::Bigquery => format!("SUBSTR(TO_HEX(SHA256({e})), 1, 16)"),
        Dialect::Postgres => {
            format!("substr(encode(sha256(convert_to({e}, 'UTF8')), 'hex'), 1, 16)")
        }
    }
}

/// The first 16 hex digits of SHA-256(`salt:customer_id`), comparable as text with a threshold.
fn hashed(d: Dialect, salt: &str) -> String {
    let key = format!(
        "CONCAT({}, CAST(customer_id AS {}))",
        d.string(&format!("{salt}:")),
        d.text()
    );
    d.bytewise(&sha256_prefix(d, &key))
}

/// One fitted feature on its model's scale: (clip(transform(coalesce(raw, fill))) - mean) / sd,
/// `raw` an SQL expression of the features table's row.
fn scaled_expr(d: Dialect, f: &crate::cluster::matrix::ScaledFeature, raw: &str) -> String {
    let raw = format!("COALESCE(CAST({raw} AS {}), {})", d.double(), num(f.fill));
    let t = match f.transform {
        Transform::Identity => raw,
        Transform::Log1p => format!("LN(1 + GREATEST({raw}, 0))"),
    };
    let mut clipped = t;
    if f.clip_low.is_finite() {
        clipped = format!("GREATEST({clipped}, {})", num(f.clip_low));
    }
    if f.clip_high.is_finite() {
        clipped = format!("LEAST({clipped}, {})", num(f.clip_high));
    }
    format!("({clipped} - {}) / {}", num(f.mean), num(f.sd))
}

/// One clustering feature on the model's scale.
fn scaled(d: Dialect, f: &crate::cluster::matrix::ScaledFeature) -> String {
    scaled_expr(d, f, &d.ident(&f.name))
}

/// `propensity::logistic::sigmoid` of the column `z`, its exponent kept within +-700 (PostgreSQL
/// refuses an EXP that underflows; the probability moves by less than 1e-300).
fn sigmoid(z: &str) -> String {
    format!("CASE WHEN {z} >= 0 THEN 1e0 / (1e0 + EXP(-LEAST({z}, 700))) ELSE EXP(GREATEST({z}, -700)) / (1e0 + EXP(GREATEST({z}, -700))) END")
}

/// `intercept + sum of coefficient x term`, the terms SQL expressions.
fn linear(intercept: f64, coefficients: &[f64], terms: &[String]) -> String {
    let mut e = num(intercept);
    for (b, t) in coefficients.iter().zip(terms) {
        let _ = write!(e, " + {} * {t}", num(*b));
    }
    e
}

/// The return propensity's CTEs (docs/propensity.md "The formula"): the logistic model on the
/// model's scaled terms (a lifecycle level is 1 where `lifecycle_stage` is that stage, else 0),
/// then Platt's recalibration when the model has one; `propensity(customer_id,
/// return_propensity)`.
fn propensity_ctes(d: Dialect, p: &Propensity, table: &str) -> String {
    let terms: Vec<String> = p
        .scaler
        .features
        .iter()
        .map(|f| match LEVELS.iter().find(|l| l.0 == f.name) {
            Some((_, stage)) => {
                let raw = format!(
                    "CASE WHEN {} = {} THEN 1 ELSE 0 END",
                    d.ident("lifecycle_stage"),
                    d.string(stage)
                );
                scaled_expr(d, f, &raw)
            }
            None => scaled(d, f),
        })
        .collect();
    let mut q = format!(
        "propensity_logit AS (\n  SELECT {} AS customer_id, {} AS z\n  FROM {table}\n),\n",
        d.ident("customer_id"),
        linear(p.intercept, &p.coefficients, &terms)
    );
    let raw = sigmoid("z");
    match p.platt {
        None => {
            let _ = write!(q, "propensity AS (\n  SELECT customer_id, {raw} AS return_propensity FROM propensity_logit\n),\n");
        }
        Some(pl) => {
            // metrics::log_odds: the probability clipped to [1e-12, 1 - 1e-12].
            let c = "LEAST(GREATEST(p0, 1e-12), 1e0 - 1e-12)";
            let _ = write!(
                q,
                "propensity_raw AS (\n  SELECT customer_id, {raw} AS p0 FROM propensity_logit\n),\npropensity_platt AS (\n  SELECT customer_id, {} * LN({c} / (1e0 - {c})) + {} AS z FROM propensity_raw\n),\npropensity AS (\n  SELECT customer_id, {} AS return_propensity FROM propensity_platt\n),\n",
                num(pl.slope),
                num(pl.intercept),
                sigmoid("z")
            );
        }
    }
    q
}

/// A readout's per-shopper uplift model (outcomes::uplift::UpliftModel), as plain parts: the
/// model stage cannot name a later stage's type.
pub struct UpliftSql<'a> {
    /// Covariates by name, `return_propensity`, and `persona=ID` indicators.
    pub columns: &'a [String],
    pub means: &'a [f64],
    pub scales: &'a [f64],
    pub treatment: &'a Logistic,
    pub holdout: &'a Logistic,
}

/// The uplift's CTEs over `assigned` (which has customer_id, persona and, with a propensity,
/// return_propensity): each column standardized ((raw - mean) x scale, unknown: 0, a column this
/// model cannot give: unknown), each arm's logistic model, the difference of the probabilities;
/// `uplift(customer_id, uplift)`.
fn uplift_ctes(d: Dialect, model: &Model, u: &UpliftSql, table: &str) -> String {
    let z: Vec<String> = u
        .columns
        .iter()
        .zip(u.means.iter().zip(u.scales))
        .map(|(c, (m, sc))| {
            let raw = match (c.strip_prefix("persona="), c.as_str()) {
                (Some(id), _) => match model.personas.iter().position(|p| p.id == id) {
                    Some(j) => format!("CASE WHEN a.persona = {j} THEN 1e0 ELSE 0e0 END"),
                    None => "0e0".to_string(),
                },
                (None, "return_propensity") if model.propensity.is_some() => {
                    "a.return_propensity".to_string()
                }
                (None, "return_propensity") => "NULL".to_string(),
                (None, name) => format!("CAST(t.{} AS {})", d.ident(name), d.double()),
            };
            format!("COALESCE(({raw} - {}) * {}, 0e0)", num(*m), num(*sc))
        })
        .collect();
    let names: Vec<String> = (0..z.len()).map(|j| format!("z{j}")).collect();
    let cols: Vec<String> = z
        .iter()
        .zip(&names)
        .map(|(e, n)| format!("    {e} AS {n}"))
        .collect();
    format!(
        "uplift_terms AS (\n  SELECT a.customer_id,\n{}\n  FROM assigned a JOIN {table} t ON t.{} = a.customer_id\n),\nuplift_logits AS (\n  SELECT customer_id, {} AS lt, {} AS lh FROM uplift_terms\n),\nuplift AS (\n  SELECT customer_id, ({}) - ({}) AS uplift FROM uplift_logits\n),\n",
        cols.join(",\n"),
        d.ident("customer_id"),
        linear(u.treatment.intercept, &u.treatment.coefficients, &names),
        linear(u.holdout.intercept, &u.holdout.coefficients, &names),
        sigmoid("lt"),
        sigmoid("lh"),
    )
}

/// `CASE e WHEN 0 THEN '...' ...` over the personas, by centroid index.
fn by_index(d: Dialect, e: &str, model: &Model, pick: impl Fn(usize) -> String) -> String {
    let mut s = format!("CASE {e}");
    for j in 0..model.personas.len() {
        let _ = write!(s, " WHEN {j} THEN {}", d.string(&pick(j)));
    }
    s + " END"
}

/// The query. `table` is the features table as the query should name it; with `uplift` (a
/// readout's model, `assign --emit-sql --outcomes DIR`) it adds the `uplift` column.
pub fn assign_query(model: &Model, d: Dialect, table: &str, uplift: Option<&UpliftSql>) -> String {
    let centroids = model.centroids();
    let mut q = String::new();
    let _ = writeln!(
        q,
        "-- cartsona {} assignment by the model of {} (docs/scale.md), {} dialect.",
        env!("CARGO_PKG_VERSION"),
        model.as_of,
        d.name()
    );
    let _ = writeln!(q, "-- Reads a features table (features --emit-sql) named {table}; returns the columns of assignments.csv.");
    let _ = writeln!(
        q,
        "WITH scaled AS (\n  SELECT {} AS customer_id,",
        d.ident("customer_id")
    );
    let cols: Vec<String> = model
        .scaler
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| format!("    {} AS x{i}", scaled(d, f)))
        .collect();
    let _ = writeln!(q, "{}\n  FROM {table}\n),", cols.join(",\n"));
    let distances: Vec<String> = centroids
        .outer_iter()
        .enumerate()
        .map(|(j, c)| {
            let terms: Vec<String> = c
                .iter()
                .enumerate()
                .map(|(i, v)| format!("(x{i} - {0}) * (x{i} - {0})", num(*v)))
                .collect();
            format!(
                "  SELECT customer_id, {j} AS j, {} AS d FROM scaled",
                terms.join(" + ")
            )
        })
        .collect();
    let _ = writeln!(
        q,
        "distances AS (\n{}\n),",
        distances.join("\n  UNION ALL\n")
    );
    let _ = writeln!(q, "ranked AS (\n  SELECT customer_id, j, d, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d, j) AS r\n  FROM distances\n),");
    let _ = writeln!(q, "nearest AS (\n  SELECT b.customer_id, b.j AS persona, SQRT(b.d) AS distance, COALESCE(s.j, b.j) AS second,\n    SQRT(COALESCE(s.d, b.d)) - SQRT(b.d) AS margin\n  FROM ranked b LEFT JOIN ranked s ON s.customer_id = b.customer_id AND s.r = 2\n  WHERE b.r = 1\n),");
    let threshold = model.outlier_threshold;
    let far = threshold.map_or("0".to_string(), |t| {
        format!("CASE WHEN distance > {} THEN 1 ELSE 0 END", num(t))
    });
    let _ = writeln!(q, "flagged AS (\n  SELECT nearest.*, {far} AS far,\n    MIN({far}) OVER (PARTITION BY persona) AS all_far\n  FROM nearest\n),");
    let from = scored_ctes(&mut q, model, d, table, uplift);
    let select = select_list(model, d, uplift.is_some());
    let _ = writeln!(
        q,
        "SELECT\n  {}\nFROM {from}\nORDER BY {};",
        select.join(",\n  "),
        d.bytewise("customer_id")
    );
    q
}

/// The final SELECT's columns, in assignments.csv's order.
fn select_list(model: &Model, d: Dialect, uplift: bool) -> Vec<String> {
    let mut select = vec![
        "customer_id".to_string(),
        format!(
            "{} AS persona_id",
            by_index(d, "persona", model, |j| model.personas[j].id.clone())
        ),
        format!(
            "{} AS persona_name",
            by_index(d, "persona", model, |j| model.personas[j].name.clone())
        ),
        "distance".to_string(),
        format!(
            "{} AS second_persona_id",
            by_index(d, "second", model, |j| model.personas[j].id.clone())
        ),
        "margin".to_string(),
    ];
    if model.outlier_threshold.is_some() {
        select.push("CASE WHEN all_far = 1 THEN 0 ELSE far END AS outlier".into());
    }
    if let Some(h) = &model.holdout {
        let salt = if h.salt.is_empty() {
            DEFAULT_SALT
        } else {
            h.salt.as_str()
        };
        let held = format!("{} < {}", hashed(d, salt), d.string(&h.threshold_hex));
        select.push(format!(
            "CASE WHEN {held} THEN 'holdout' ELSE 'treatment' END AS arm"
        ));
        if let Some(v) = &model.variants {
            // The variants' rule (model::variants): NULL for the held out.
            let u = hashed(d, &v.salt);
            let mut case = format!("CASE WHEN {held} THEN NULL");
            for (t, variant) in v.thresholds_hex.iter().zip(&v.split) {
                let _ = write!(
                    case,
                    " WHEN {u} < {} THEN {}",
                    d.string(t),
                    d.string(&variant.name)
                );
            }
            let last = &v.split[v.split.len() - 1].name;
            select.push(format!("{case} ELSE {} END AS variant", d.string(last)));
        }
    }
    if model.propensity.is_some() {
        select.push("return_propensity".into());
    }
    if uplift {
        select.push("uplift".into());
    }
    select
}

/// After `flagged`: `assigned` (with the return propensity when the model has one), then the
/// uplift's CTEs and `scored` when asked; returns the CTE the final SELECT reads.
fn scored_ctes(
    q: &mut String,
    model: &Model,
    d: Dialect,
    table: &str,
    uplift: Option<&UpliftSql>,
) -> &'static str {
    match &model.propensity {
        Some(p) => {
            q.push_str(&propensity_ctes(d, p, table));
            q.push_str("assigned AS (\n  SELECT f.*, p.return_propensity\n  FROM flagged f JOIN propensity p ON p.customer_id = f.customer_id\n)");
        }
        None => q.push_str("assigned AS (\n  SELECT * FROM flagged\n)"),
    }
    let Some(u) = uplift else {
        q.push('\n');
        return "assigned";
    };
    q.push_str(",\n");
    q.push_str(&uplift_ctes(d, model, u, table));
    q.push_str("scored AS (\n  SELECT a.*, u.uplift\n  FROM assigned a JOIN uplift u ON u.customer_id = a.customer_id\n)\n");
    "scored"
}
