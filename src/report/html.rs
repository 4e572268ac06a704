//! report.html: one self-contained page (inline CSS and SVG, no script, no external URL), rendered
//! with minijinja from templates/report.html and the run's Summary.

use anyhow::Result;
use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};

use super::{charts, Summary};
use crate::features::catalogue;
use crate::util::numfmt;

#[derive(Serialize)]
struct Charts {
    sizes: String,
    heatmap: String,
    projection: String,
    boxes: Vec<String>,
    k: String,
    reliability: String,
}

pub fn render(s: &Summary) -> Result<String> {
    let mut env = Environment::new();
    // An unknown value (none) reads "unknown", never 0 (docs/features.md).
    env.add_filter("money", |v: Option<f64>| numfmt::money_or_unknown(v));
    env.add_filter("pct", |v: Option<f64>| {
        v.map_or_else(|| "unknown".to_string(), numfmt::pct1)
    });
    env.add_filter("stability", |v: Option<f64>| super::markdown::stability(v));
    env.add_filter("measured", |p: minijinja::Value| -> String {
        let m: Option<crate::personas::Measured> = p
            .get_attr("measured")
            .ok()
            .and_then(|m| crate::personas::Measured::deserialize(m).ok());
        m.map_or(String::new(), |m| super::markdown::measured_text(&m))
    });
    env.add_filter("kind_text", |k: minijinja::Value| -> String {
        crate::propensity::learn::LearnedFrom::deserialize(k)
            .map_or(String::new(), |k| super::markdown::kind_text(k).to_string())
    });
    env.add_template("report.html", include_str!("../../templates/report.html"))?;
    let features: Vec<String> = s
        .personas
        .first()
        .map(|p| {
            p.stats
                .iter()
                .filter(|f| f.z.is_some())
                .map(|f| f.feature.clone())
                .collect()
        })
        .unwrap_or_default();
    // Inline SVG in HTML5 needs no namespace declaration; without it the page holds no URL at all.
    let inline = |svg: String| svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
    let charts = Charts {
        sizes: inline(charts::sizes_and_value(&s.personas)),
        heatmap: inline(charts::heatmap(&s.personas, &features)),
        projection: match &s.projection {
            Some(p) => inline(charts::projection(&p.points, &s.personas, p.explained)),
            None => "<p>Not enough features for a projection.</p>".into(),
        },
        boxes: catalogue::box_plots()
            .into_iter()
            .map(|f| inline(charts::boxplots(f, &s.personas)))
            .filter(|b| !b.is_empty())
            .collect(),
        k: inline(charts::k_curves(&s.clustered.k_selection)),
        reliability: s
            .propensity
            .as_ref()
            .and_then(|p| p.measures.as_ref())
            .map_or(String::new(), |m| {
                inline(charts::reliability(&m.reliability))
            }),
    };
    let colours: Vec<String> = (0..s.personas.len())
        .map(|i| {
            let (r, g, b) = charts::PALETTE[i % charts::PALETTE.len()];
            format!("#{r:02x}{g:02x}{b:02x}")
        })
        .collect();
    let html = env
        .get_template("report.html")?
        .render(context! { s => s, charts => charts, colours => colours })?;
    Ok(html)
}
