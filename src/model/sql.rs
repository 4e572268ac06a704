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

/// One clustering feature on the model's scale: (clip(transform(coalesce(x, fill))) - mean) / sd.
fn scaled(d: Dialect, f: &crate::cluster::matrix::ScaledFeature) -> String {
    let raw = format!(
        "COALESCE(CAST({} AS {}), {})",
        d.ident(&f.name),
        d.double(),
        num(f.fill)
    );
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

/// `CASE e WHEN 0 THEN '...' ...` over the personas, by centroid index.
fn by_index(d: Dialect, e: &str, model: &Model, pick: impl Fn(usize) -> String) -> String {
    let mut s = format!("CASE {e}");
    for j in 0..model.personas.len() {
        let _ = write!(s, " WHEN {j} THEN {}", d.string(&pick(j)));
    }
    s + " END"
}

/// The query. `table` is the features table as the query should name it.
pub fn assign_query(model: &Model, d: Dialect, table: &str) -> String {
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
    let _ = writeln!(q, "flagged AS (\n  SELECT nearest.*, {far} AS far,\n    MIN({far}) OVER (PARTITION BY persona) AS all_far\n  FROM nearest\n)");
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
    if threshold.is_some() {
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
    let _ = writeln!(
        q,
        "SELECT\n  {}\nFROM flagged\nORDER BY {};",
        select.join(",\n  "),
        d.bytewise("customer_id")
    );
    q
}
