//! Criterion benchmarks of the hot stages (issue 8): reading and validating, the feature
//! aggregation, one k-means fit, the silhouettes of k = 3..6 on one sample, and the propensity's
//! logistic regression (issue 20) on 500,000 rows of 20 features.
//!
//!     cargo bench --bench pipeline
//!
//! The data is a generated shop (`cartsona generate --shoppers 20000 --seed 1`, about 330,000
//! rows), made once in a temporary directory by the release binary Cargo builds for benches.
//! Whole-run figures against the peers come from bench/run.py, not from here.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use linfa::dataset::DatasetBase;
use linfa::param_guard::ParamGuard;
use linfa::traits::Fit;

use cartsona::cluster::kmeans::KMeansParams;
use cartsona::cluster::matrix;
use cartsona::cluster::metrics;
use cartsona::features::catalogue::DEFAULT_FEATURES;
use cartsona::features::compute::{self as features, FeatureParams, DEFAULT_INFO_PAGES};
use cartsona::ingest::load;
use cartsona::ingest::schema::{BadRows, Dataset, ReadSettings, TableKind};
use cartsona::io::read::{self, CsvOptions};
use cartsona::propensity::logistic;

const SHOPPERS: &str = "20000";
const DAY: i64 = 86_400_000_000;

fn generate(dir: &Path) {
    let ok = Command::new(env!("CARGO_BIN_EXE_cartsona"))
        .args([
            "generate",
            "-q",
            "--shoppers",
            SHOPPERS,
            "--seed",
            "1",
            "--out",
        ])
        .arg(dir)
        .status()
        .expect("run cartsona generate")
        .success();
    assert!(ok, "cartsona generate failed");
}

fn load(dir: &Path) -> Dataset {
    let inputs: Vec<_> = [
        (TableKind::Carts, "carts.csv"),
        (TableKind::Orders, "orders.csv"),
        (TableKind::Engagement, "engagement.csv"),
    ]
    .into_iter()
    .map(|(kind, name)| (kind, read::expand(&[dir.join(name)], "--bench").unwrap()))
    .collect();
    let settings = ReadSettings {
        csv: CsvOptions { delimiter: b',' },
        bad_rows: BadRows::Fail,
        columns: BTreeMap::new(),
        epochs: None,
    };
    load::load(&inputs, &settings, &|_| {}).unwrap().0
}

fn params() -> FeatureParams {
    FeatureParams {
        as_of: None,
        abandon_after: DAY,
        lookback: 30 * DAY,
        history: 365 * DAY,
        info_pages: regex::Regex::new(DEFAULT_INFO_PAGES).unwrap(),
    }
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);

    g.bench_function("read and validate (330k rows CSV)", |b| {
        b.iter(|| load(tmp.path()))
    });
    let p = params();
    // compute takes the dataset (it frees the rows as it goes): each iteration gets a fresh one,
    // loaded outside the timing.
    g.bench_function("feature aggregation (20k shoppers)", |b| {
        b.iter_batched(
            || load(tmp.path()),
            |ds| features::compute(ds, &p).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    let (table, _) = features::compute(load(tmp.path()), &p).unwrap();
    let wanted: Vec<String> = DEFAULT_FEATURES.iter().map(|s| s.to_string()).collect();
    let chosen = matrix::Wanted {
        features: &wanted,
        chosen_by: None,
        baseline: None,
    };
    let (_, x, _) = matrix::fit(&table, &chosen).unwrap();
    let data = DatasetBase::from(x.clone());
    g.bench_function("k-means k = 5, 10 restarts (15k abandoners)", |b| {
        let params = KMeansParams::new(5).n_init(10).seed(1).check().unwrap();
        b.iter(|| params.fit(&data).unwrap())
    });
    let models: Vec<_> = (3..=6)
        .map(|k| {
            KMeansParams::new(k)
                .n_init(10)
                .seed(1)
                .check()
                .unwrap()
                .fit(&data)
                .unwrap()
        })
        .collect();
    let sets: Vec<(&[usize], usize)> = models
        .iter()
        .map(|m| (m.labels.as_slice(), m.centroids.nrows()))
        .collect();
    let sample: Vec<usize> = (0..x.nrows()).collect();
    g.bench_function("silhouettes of k = 3..6 (15k abandoners, exact)", |b| {
        b.iter(|| metrics::silhouettes(&x, &sets, &sample))
    });
    let (x, y) = logistic_rows(500_000, 20);
    g.bench_function("propensity fit (500k rows, 20 features, C = 1)", |b| {
        b.iter(|| logistic::fit(x.view(), &y, Some(1.0)).unwrap())
    });
    g.finish();
}

/// Rows of a known logistic model (about 30% positives), from a fixed generator.
fn logistic_rows(n: usize, p: usize) -> (ndarray::Array2<f64>, Vec<bool>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20);
    let x = ndarray::Array2::from_shape_fn((n, p), |_| rng.gen::<f64>() * 2.0 - 1.0);
    let y = (0..n)
        .map(|i| {
            let z = -1.0 + (0..p).map(|j| x[[i, j]] / (1.0 + j as f64)).sum::<f64>();
            rng.gen::<f64>() < logistic::sigmoid(z)
        })
        .collect();
    (x, y)
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
