//! The return propensity's model and measures (src/propensity) against independent
//! implementations (issue 20).
//!
//! Fixtures: tests/data/propensity/fixtures.json, written by tests/data/propensity/fixtures.py
//! with scikit-learn 1.9.1 and numpy 2.4.6: `LogisticRegression` (newton-cholesky, tol 1e-12) on
//! six design matrices (penalties C from 0.01 to 10 and none, correlated columns, 3% positives,
//! up to 10 features); `roc_auc_score` and `brier_score_loss`, and numpy for the calibration bins,
//! the expected calibration error, the lift table and Platt scaling, on four sets of scores (two
//! with many ties, one of 23 rows).

use cartsona::propensity::logistic;
use cartsona::propensity::metrics::{self, Platt};
use ndarray::Array2;
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/propensity/fixtures.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn labels(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() == 1)
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs the fixture's {b}");
}

/// The issue asks for coefficients within 1e-3 of scikit-learn's; Newton's method on both sides
/// agrees far closer (within 1e-10 when written), so the test holds it to 1e-8.
#[test]
fn coefficients_agree_with_scikit_learn() {
    let f = fixtures();
    let fits = f["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 6);
    for (k, case) in fits.iter().enumerate() {
        let rows: Vec<Vec<f64>> = case["x"].as_array().unwrap().iter().map(floats).collect();
        let (n, p) = (rows.len(), rows[0].len());
        let x = Array2::from_shape_fn((n, p), |(i, j)| rows[i][j]);
        let y = labels(&case["y"]);
        let c = case["c"].as_f64();
        let m = logistic::fit(x.view(), &y, c).unwrap();
        let what = format!("fit {k} (n {n}, p {p}, C {c:?})");
        close(
            m.intercept,
            case["intercept"].as_f64().unwrap(),
            1e-8,
            &format!("{what} intercept"),
        );
        for (j, (a, b)) in m
            .coefficients
            .iter()
            .zip(floats(&case["coefficients"]))
            .enumerate()
        {
            close(*a, b, 1e-8, &format!("{what} coefficient {j}"));
        }
    }
}

#[test]
fn measures_agree_with_scikit_learn_and_numpy() {
    let f = fixtures();
    for (k, case) in f["scores"].as_array().unwrap().iter().enumerate() {
        let p = floats(&case["p"]);
        let y = labels(&case["y"]);
        let what = format!("scores {k} ({} rows)", p.len());
        let x = |key: &str| case[key].as_f64().unwrap();
        close(metrics::auc(&p, &y).unwrap(), x("auc"), 1e-12, &what);
        close(metrics::brier(&p, &y), x("brier"), 1e-12, &what);
        close(
            metrics::brier_skill(&p, &y).unwrap(),
            x("brier_skill"),
            1e-12,
            &what,
        );
        close(metrics::ece(&p, &y, 10), x("ece"), 1e-12, &what);
        let bins = metrics::reliability(&p, &y, 10);
        let expected = case["bins"].as_array().unwrap();
        assert_eq!(bins.len(), expected.len(), "{what}: bins");
        for (b, e) in bins.iter().zip(expected) {
            assert_eq!(
                b.rows as u64,
                e["rows"].as_u64().unwrap(),
                "{what}: bin rows"
            );
            close(b.low, e["low"].as_f64().unwrap(), 0.0, &what);
            close(b.high, e["high"].as_f64().unwrap(), 0.0, &what);
            close(
                b.mean_predicted,
                e["mean_predicted"].as_f64().unwrap(),
                1e-12,
                &what,
            );
            close(b.observed, e["observed"].as_f64().unwrap(), 1e-12, &what);
        }
        let lift = metrics::lift(&p, &y).unwrap();
        let expected = case["lift"].as_array().unwrap();
        assert_eq!(lift.len(), expected.len(), "{what}: deciles");
        for (d, e) in lift.iter().zip(expected) {
            assert_eq!(d.decile as u64, e["decile"].as_u64().unwrap());
            assert_eq!(d.rows as u64, e["rows"].as_u64().unwrap(), "{what}");
            assert_eq!(d.returned as u64, e["returned"].as_u64().unwrap(), "{what}");
            close(d.lift, e["lift"].as_f64().unwrap(), 1e-12, &what);
            close(d.captured, e["captured"].as_f64().unwrap(), 1e-12, &what);
        }
        let platt = Platt::fit(&p, &y).unwrap();
        close(
            platt.slope,
            case["platt"]["slope"].as_f64().unwrap(),
            1e-8,
            &what,
        );
        close(
            platt.intercept,
            case["platt"]["intercept"].as_f64().unwrap(),
            1e-8,
            &what,
        );
    }
}

/// The method, by simulation: on data drawn from a logistic model, the fitted probabilities are
/// calibrated on fresh rows (calibration error under 0.02 with 20,000 rows), and Platt scaling
/// of scores made overconfident on purpose (log-odds doubled) recovers a slope near 1/2.
#[test]
fn fitted_probabilities_are_calibrated_on_fresh_rows() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let w = [0.8, -1.2, 0.5];
    let mut draw = |n: usize| {
        let x = Array2::from_shape_fn((n, 3), |_| rng.gen::<f64>() * 2.0 - 1.0);
        let y: Vec<bool> = (0..n)
            .map(|i| {
                let z = -1.0 + (0..3).map(|j| w[j] * x[[i, j]]).sum::<f64>();
                rng.gen::<f64>() < logistic::sigmoid(z)
            })
            .collect();
        (x, y)
    };
    let (x, y) = draw(20_000);
    let m = logistic::fit(x.view(), &y, Some(1.0)).unwrap();
    for (j, wj) in w.iter().enumerate() {
        close(m.coefficients[j], *wj, 0.1, "coefficient against the truth");
    }
    let (x2, y2) = draw(20_000);
    let p: Vec<f64> = (0..y2.len())
        .map(|i| m.probability(&x2.row(i).to_vec()))
        .collect();
    let ece = metrics::ece(&p, &y2, 10);
    assert!(ece < 0.02, "calibration error {ece}");
    let over: Vec<f64> = p
        .iter()
        .map(|&q| logistic::sigmoid(2.0 * (q / (1.0 - q)).ln()))
        .collect();
    let platt = Platt::fit(&over, &y2).unwrap();
    close(platt.slope, 0.5, 0.05, "Platt slope");
    let repaired: Vec<f64> = over.iter().map(|&q| platt.apply(q)).collect();
    assert!(metrics::ece(&repaired, &y2, 10) < metrics::ece(&over, &y2, 10));
}

/// Issue 31: Platt scaling only when it improves the calibration week's log loss beyond noise.
/// 1,000 calibration weeks of 1,000 rows: perfectly calibrated scores (outcomes drawn from the
/// scores themselves, 2-60%) are recalibrated at most 10% of the time (the likelihood-ratio test
/// at 0.05: about 5%; the old rule, ECE above 0.02, fired on most of them); scores made
/// overconfident (log-odds doubled) are recalibrated at least 90% of the time. With 1,000 weeks,
/// an exact 5% exceeds 10% with odds below 1e-10 and a power of 97% falls under 90% with odds
/// below 1e-12.
#[test]
fn platt_scaling_is_applied_only_beyond_noise() {
    use cartsona::propensity::metrics::{ece, platt_if_needed};
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
    let (weeks, rows) = (1000, 1000);
    let (mut calibrated, mut old_rule, mut overconfident) = (0, 0, 0);
    for _ in 0..weeks {
        let p: Vec<f64> = (0..rows).map(|_| rng.gen_range(0.02..0.6)).collect();
        let y: Vec<bool> = p.iter().map(|&q| rng.gen_bool(q)).collect();
        calibrated += usize::from(platt_if_needed(&p, &y).0.is_some());
        old_rule += usize::from(ece(&p, &y, 10) > 0.02);
        let sharp: Vec<f64> = p
            .iter()
            .map(|&q| {
                let z = 2.0 * (q / (1.0 - q)).ln();
                1.0 / (1.0 + (-z).exp())
            })
            .collect();
        overconfident += usize::from(platt_if_needed(&sharp, &y).0.is_some());
    }
    let share = |k: usize| k as f64 / weeks as f64;
    assert!(
        share(calibrated) <= 0.10,
        "calibrated recalibrated {}",
        share(calibrated)
    );
    assert!(
        share(old_rule) >= 0.5,
        "the old rule fired {}",
        share(old_rule)
    );
    assert!(
        share(overconfident) >= 0.9,
        "overconfident recalibrated only {}",
        share(overconfident)
    );
}
