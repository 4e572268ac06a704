//! `cartsona segment --out DIR`: the whole job in one go, written atomically into a run directory.

use anyhow::{bail, Result};
use ndarray::Array2;

use crate::cli::{OutFormat, SegmentArgs};
use crate::config::{self, Loaded};
use crate::io::write::StagedDir;
use crate::model::{self, Model, ModelPersona, RunConfig, FORMAT_VERSION};
use crate::pipeline::assign::Assignment;
use crate::pipeline::features::FeatureTable;
use crate::pipeline::lineage::{self, Lineage, Retired};
use crate::pipeline::personas::Persona;
use crate::pipeline::{assign, matrix, personas, project, select};
use crate::progress::Progress;
use crate::report::{html, markdown, tables, Summary};

pub fn run(args: &SegmentArgs, loaded: &Loaded, quiet: bool) -> Result<u8> {
    let params = config::feature_params(&args.features, loaded)?;
    let (select_params, wanted, explicit) = config::cluster_params(&args.cluster, loaded)?;
    let staged = StagedDir::new(&args.out, args.force, "--out")?;
    let progress = Progress::new(quiet).recording(args.timings);
    let super::RunFeatures {
        table,
        summary: fsum,
        report,
        on_bad_rows,
        hint,
    } = super::run_features(
        &args.input,
        &args.features_table,
        loaded,
        &params,
        &progress,
    )?;
    for l in &fsum.left_out {
        progress.warn(&format!("feature {} left out: {}", l.feature, l.reason));
    }
    if fsum.abandoners == 0 {
        bail!(
            "no abandoners as of {}: no cart with value > 0 went {} without an order within the last {} (check --as-of, --abandon-after and --lookback){hint}",
            fsum.as_of,
            fsum.windows.abandon_after,
            fsum.windows.lookback
        );
    }
    if fsum.abandoners < 2 {
        bail!(
            "only {} abandoner as of {}: personas need at least 2 (and 3 distinct for the default --k-min 3); use a longer --lookback or more data",
            fsum.abandoners,
            fsum.as_of
        );
    }
    progress.stage("building the clustering matrix");
    let (scaler, x, mreport) = matrix::fit(&table, &wanted, explicit)?;
    for (f, why) in &mreport.dropped {
        progress.warn(&format!("clustering feature {f} not used: {why}"));
    }
    let selection = select::select(&x, &select_params, |stage| progress.stage(stage))?;
    for w in &selection.warnings {
        progress.warn(w);
    }
    progress.stage("describing the personas");
    let k = selection.k;
    let by_cluster = assign::nearest_two(&x, &selection.model.centroids);
    let labels: Vec<usize> = by_cluster.iter().map(|a| a.persona).collect();
    let (personas, cluster_to_persona) = personas::build(&table, &labels, k, true);
    // Centroids in persona order; assignments against them.
    let d = x.ncols();
    let mut centroids = Array2::<f64>::zeros((k, d));
    for (cl, &p) in cluster_to_persona.iter().enumerate() {
        centroids
            .row_mut(p)
            .assign(&selection.model.centroids.row(cl));
    }
    let assigned = assign::nearest_two(&x, &centroids);
    let used: Vec<String> = scaler.features.iter().map(|f| f.name.clone()).collect();

    // Stable identity against a baseline run, then personas in id order.
    let max_distance = args
        .max_match_distance
        .or(loaded.file.segment.max_match_distance)
        .unwrap_or(1.5);
    if !(max_distance.is_finite() && max_distance >= 0.0) {
        bail!("--max-match-distance {max_distance}: give a distance >= 0 in baseline standard deviations, like 1.5");
    }
    let mut personas = personas;
    let ids = match &args.baseline {
        None => Identity {
            next_number: k + 1,
            ..Identity::default()
        },
        Some(path) => {
            let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
            match_baseline(path, max_distance, &table, &labels, &mut personas)?
        }
    };
    let order = {
        let mut o: Vec<usize> = (0..k).collect();
        o.sort_by_key(|&i| (lineage::id_number(&personas[i].id).unwrap_or(usize::MAX), i));
        o
    };
    let mut position = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let personas: Vec<_> = order.iter().map(|&i| personas[i].clone()).collect();
    let centroids = centroids.select(ndarray::Axis(0), &order);
    let assigned: Vec<Assignment> = assigned
        .into_iter()
        .map(|a| Assignment {
            persona: position[a.persona],
            second: position[a.second],
            ..a
        })
        .collect();
    let mut lineage_rows = ids.lineage;
    lineage_rows.sort_by_key(|l| lineage::id_number(&l.id));

    let files = run_files(args.format);
    let run_config = RunConfig {
        abandon_after: fsum.windows.abandon_after.clone(),
        lookback: fsum.windows.lookback.clone(),
        history: fsum.windows.history.clone(),
        info_pages: params.info_pages.as_str().to_string(),
        k_min: select_params.k_min,
        k_max: select_params.k_max,
        k: select_params.k,
        min_persona_share: select_params.min_share,
        seed: select_params.seed,
        restarts: select_params.restarts,
        minibatch_above: select_params.minibatch_above,
        cluster_features: wanted.clone(),
    };
    let model = Model {
        format_version: FORMAT_VERSION,
        tool: format!("cartsona {}", env!("CARGO_PKG_VERSION")),
        as_of: fsum.as_of.clone(),
        config: run_config,
        scaler,
        personas: personas
            .iter()
            .enumerate()
            .map(|(i, p)| ModelPersona {
                id: p.id.clone(),
                name: p.name.clone(),
                centroid: centroids.row(i).to_vec(),
                size: p.size,
                share: p.share,
                evidence: p.evidence.clone(),
                bullets: p.bullets.clone(),
                play: p.play.clone(),
            })
            .collect(),
        deciles: model::deciles(&table),
        k_selection: selection.table.clone(),
        chosen_k: k,
        reason: selection.reason.clone(),
        baseline: ids.baseline.clone(),
        lineage: lineage_rows.clone(),
        retired: ids.retired_all,
        next_persona_number: ids.next_number,
    };
    let mut summary = Summary::new("segment", &fsum, report, on_bad_rows);
    summary.warnings.extend(selection.warnings.iter().cloned());
    let labels: Vec<usize> = assigned.iter().map(|a| a.persona).collect();
    let summary = Summary {
        cluster_features: used.clone(),
        matrix: mreport,
        seed: select_params.seed,
        k_selection: selection.table,
        chosen_k: k,
        reason: selection.reason,
        personas,
        baseline: ids.baseline,
        lineage: lineage_rows,
        retired_now: ids.retired_now,
        files: files.clone(),
        projection: project::project(&x, &labels, k, select_params.seed),
        ..summary
    };

    progress.stage("writing assignments");
    let summary = write_run(
        &staged,
        args.format,
        &table,
        &assigned,
        summary,
        &model,
        &progress,
    )?;
    staged.commit()?;
    progress.finish();
    if !quiet {
        print_done(&summary, &args.out);
    }
    Ok(0)
}

/// The files of a run directory.
pub fn run_files(format: OutFormat) -> Vec<String> {
    let ext = match format {
        OutFormat::Csv => "csv",
        OutFormat::Parquet => "parquet",
    };
    vec![
        format!("assignments.{ext}"),
        "personas.csv".to_string(),
        "model.json".to_string(),
        "summary.json".to_string(),
        "report.md".to_string(),
        "report.html".to_string(),
    ]
}

/// Renders every file of a run into the staging directory (shared by segment and assign).
pub fn write_run(
    staged: &StagedDir,
    format: OutFormat,
    table: &FeatureTable,
    assigned: &[Assignment],
    summary: Summary,
    model: &Model,
    progress: &Progress,
) -> Result<Summary> {
    let files = run_files(format);
    let cols = tables::assignments(
        table,
        assigned,
        &summary.personas,
        &summary.cluster_features,
    );
    let body = match format {
        OutFormat::Csv => tables::to_csv(&cols)?,
        OutFormat::Parquet => tables::to_parquet(&cols)?,
    };
    staged.write(&files[0], &body)?;
    drop(body);
    // With --timings the summary carries every stage so far (the assignments file included;
    // the small files after it take milliseconds).
    let summary = Summary {
        timings: progress.timings(),
        ..summary
    };
    progress.stage("writing the other files");
    staged.write(
        "personas.csv",
        &tables::to_csv(&tables::personas(&summary.personas))?,
    )?;
    staged.write("model.json", &model.to_json()?)?;
    staged.write("summary.json", &summary.to_json()?)?;
    staged.write("report.md", markdown::render(&summary).as_bytes())?;
    staged.write("report.html", html::render(&summary)?.as_bytes())?;
    Ok(summary)
}

/// The closing lines on stdout: the personas, then the files written.
pub fn print_done(summary: &Summary, out: &std::path::Path) {
    for p in &summary.personas {
        println!(
            "{:>4} {:<44} {:>7} shoppers {:>6.1}%",
            p.id,
            p.name,
            p.size,
            p.share * 100.0
        );
    }
    println!("wrote {} to {}", summary.files.join(", "), out.display());
}

/// What matching against a baseline decided.
#[derive(Default)]
struct Identity {
    baseline: Option<String>,
    lineage: Vec<Lineage>,
    retired_now: Vec<Retired>,
    retired_all: Vec<Retired>,
    next_number: usize,
}

/// Gives matched personas their baseline id and name, the others fresh ids.
fn match_baseline(
    path: &std::path::Path,
    max_distance: f64,
    table: &FeatureTable,
    labels: &[usize],
    personas: &mut [Persona],
) -> Result<Identity> {
    let path = if path.is_dir() {
        path.join("model.json")
    } else {
        path.to_path_buf()
    };
    let base = Model::load(&path).map_err(|e| anyhow::anyhow!("--baseline: {e:#}"))?;
    let k = personas.len();
    let new = lineage::centroids_in_baseline_space(&base, table, labels, k)?;
    let d = base.scaler.features.len();
    let mut old = Array2::<f64>::zeros((base.personas.len(), d));
    for (j, p) in base.personas.iter().enumerate() {
        old.row_mut(j)
            .assign(&ndarray::ArrayView1::from(&p.centroid[..]));
    }
    let m = lineage::match_personas(&new, &old, max_distance);
    let mut next = base.next_number();
    let mut out = Identity {
        baseline: Some(path.display().to_string()),
        ..Identity::default()
    };
    for (i, p) in personas.iter_mut().enumerate() {
        let nearest = (0..old.nrows())
            .map(|j| m.distances[[i, j]])
            .fold(f64::INFINITY, f64::min);
        match m.matched[i] {
            Some(j) => {
                p.id = base.personas[j].id.clone();
                p.name = base.personas[j].name.clone();
                out.lineage.push(Lineage {
                    id: p.id.clone(),
                    baseline_id: Some(p.id.clone()),
                    distance: m.distances[[i, j]],
                    matched: true,
                });
            }
            None => {
                p.id = format!("P{next}");
                next += 1;
                out.lineage.push(Lineage {
                    id: p.id.clone(),
                    baseline_id: None,
                    distance: nearest,
                    matched: false,
                });
            }
        }
    }
    // A fresh persona never takes a name that a kept persona holds.
    let kept: Vec<String> = personas
        .iter()
        .zip(&m.matched)
        .filter(|(_, mm)| mm.is_some())
        .map(|(p, _)| p.name.clone())
        .collect();
    for (p, mm) in personas.iter_mut().zip(&m.matched) {
        if mm.is_none() && kept.contains(&p.name) {
            p.name = format!("{} {}", p.name, p.id);
        }
    }
    for (j, bp) in base.personas.iter().enumerate() {
        if !m.matched.contains(&Some(j)) {
            let nearest = (0..k)
                .map(|i| m.distances[[i, j]])
                .fold(f64::INFINITY, f64::min);
            out.retired_now.push(Retired {
                id: bp.id.clone(),
                name: bp.name.clone(),
                nearest_distance: nearest,
            });
        }
    }
    out.retired_all = base.retired.clone();
    out.retired_all.extend(out.retired_now.iter().cloned());
    out.next_number = next;
    Ok(out)
}
