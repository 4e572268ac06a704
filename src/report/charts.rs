//! Charts as inline SVG strings (plotters' SVG backend, no fonts needed: text stays SVG `<text>`).
//! Each function is pure: data in, SVG out.

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;

use crate::cluster::choose_k::KRow;
use crate::personas::Persona;

/// One colour per persona (colour-blind-safe Okabe-Ito palette, then greys).
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (240, 228, 66),
    (100, 100, 100),
];

pub fn colour(i: usize) -> RGBColor {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    RGBColor(r, g, b)
}

fn svg(
    width: u32,
    height: u32,
    draw: impl FnOnce(DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        if let Err(e) = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|_| draw(root.clone()))
            .and_then(|_| root.present().map_err(|e| e.to_string()))
        {
            return format!("<p>chart not drawn: {e}</p>");
        }
    }
    out
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A tick's text with as many decimals as the axis needs to tell its `labels` ticks apart over
/// `span` (ticks 0.2 apart read 0.2, 0.4, not 0, 0, 1), a sign when `signed`, and never "-0".
fn tick(x: f64, span: f64, labels: usize, signed: bool) -> String {
    let step = span.abs() / labels.max(1) as f64;
    let decimals = match step > 0.0 && step.is_finite() {
        true => (-step.log10()).ceil().clamp(0.0, 6.0) as usize,
        false => 0,
    };
    let scale = 10f64.powi(decimals as i32);
    let v = (x * scale).round() / scale;
    match (v == 0.0, signed) {
        (true, _) => format!("{:.decimals$}", 0.0),
        (false, true) => format!("{v:+.decimals$}"),
        (false, false) => format!("{v:.decimals$}"),
    }
}

/// How many ticks the outcome charts ask for on a numeric axis.
const TICKS: usize = 8;

/// Short axis numbers: 950, 12k, 1.5M.
fn short(x: f64) -> String {
    let a = x.abs();
    if a >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The builder every chart starts from: its caption (none when empty; sans-serif at `size` px),
/// then its margin and its x and y label areas, in pixels.
fn builder<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    size: u32,
    [margin, x_area, y_area]: [u32; 3],
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    b.margin(margin)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area);
    if !caption.is_empty() {
        b.caption(caption, ("sans-serif", size));
    }
    b
}

/// The frame of a chart with one horizontal row per label, the first label's row on top.
struct Rows<'l> {
    caption: &'l str,
    /// The margin and the x and y label areas, in pixels.
    sizes: [u32; 3],
    labels: &'l [String],
    /// How many ticks the x axis asks for, and their text.
    x_ticks: usize,
    x_text: &'l dyn Fn(&f64) -> String,
}

type RowsChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>;

/// Draws `frame`'s caption, axes and row names over `x` on `area`, ready for the rows' marks
/// (row `i` sits in segment `n - 1 - i`).
fn rows_chart<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    frame: &Rows,
    x: std::ops::Range<f64>,
) -> Result<RowsChart<'a, 'b>, String> {
    let n = frame.labels.len();
    let mut chart = builder(area, frame.caption, 16, frame.sizes)
        // A segmented 0..m has m + 1 segments: 0..n-1 gives one per row.
        .build_cartesian_2d(x, (0..n.saturating_sub(1)).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(i) => n
                .checked_sub(i + 1)
                .and_then(|j| frame.labels.get(j))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_labels(frame.x_ticks)
        .x_label_formatter(frame.x_text)
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// Horizontal bars: shoppers per persona (left) and value at stake (right).
pub fn sizes_and_value(personas: &[Persona]) -> String {
    let n = personas.len();
    let ids: Vec<String> = personas.iter().map(|p| p.id.clone()).collect();
    let height = 60 + 34 * n as u32;
    svg(900, height, |root| {
        let (left, right) = root.split_horizontally(450);
        for (area, title, values) in [
            (
                left,
                "Shoppers",
                personas
                    .iter()
                    .map(|p| Some(p.size as f64))
                    .collect::<Vec<_>>(),
            ),
            (
                right,
                match personas.iter().all(|p| p.value_at_stake.is_none()) {
                    true => "Value at stake: unknown (no last_abandoned_value)",
                    false => "Value at stake",
                },
                personas
                    .iter()
                    .map(|p| p.value_at_stake)
                    .collect::<Vec<_>>(),
            ),
        ] {
            let max = values
                .iter()
                .flatten()
                .fold(0.0, |m: f64, v| m.max(*v))
                .max(1.0)
                * 1.1;
            let frame = Rows {
                caption: title,
                sizes: [8, 24, 40],
                labels: &ids,
                x_ticks: 5,
                x_text: &|x| short(*x),
            };
            let mut chart = rows_chart(&area, &frame, 0.0..max)?;
            chart
                .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                    let v = v.as_ref()?;
                    let y = n - i - 1;
                    Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(y)),
                            (*v, SegmentValue::Exact(y + 1)),
                        ],
                        colour(i).filled(),
                    )
                    .into()
                }))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// Diverging colour for a z-score: blue (negative) through white to red (positive), clamped at ±2.
pub fn diverging(z: f64) -> RGBColor {
    let t = (z / 2.0).clamp(-1.0, 1.0);
    let mix = |a: f64, b: f64, f: f64| (a + (b - a) * f).round() as u8;
    if t >= 0.0 {
        RGBColor(
            mix(247.0, 202.0, t),
            mix(247.0, 0.0, t),
            mix(247.0, 32.0, t),
        )
    } else {
        RGBColor(
            mix(247.0, 5.0, -t),
            mix(247.0, 113.0, -t),
            mix(247.0, 176.0, -t),
        )
    }
}

/// Persona x feature heatmap of centroid z-scores, with a legend.
pub fn heatmap(personas: &[Persona], features: &[String]) -> String {
    let cell_w = 52u32;
    let cell_h = 30u32;
    let left = 70u32;
    let top = 150u32;
    let width = left + cell_w * features.len() as u32 + 140;
    let height = top + cell_h * personas.len() as u32 + 20;
    svg(width, height, |root| {
        let style = ("sans-serif", 12).into_font();
        for (j, f) in features.iter().enumerate() {
            let x = (left + cell_w * j as u32 + cell_w / 2) as i32;
            root.draw(&Text::new(
                f.clone(),
                (x, top as i32 - 6),
                style.clone().transform(FontTransform::Rotate270),
            ))
            .map_err(err)?;
        }
        for (i, p) in personas.iter().enumerate() {
            let y = (top + cell_h * i as u32) as i32;
            root.draw(&Text::new(p.id.clone(), (10, y + 10), style.clone()))
                .map_err(err)?;
            for (j, f) in features.iter().enumerate() {
                let x = (left + cell_w * j as u32) as i32;
                let z = p.stat(f).and_then(|s| s.z).unwrap_or(0.0);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell_w as i32 - 2, y + cell_h as i32 - 2)],
                    diverging(z).filled(),
                ))
                .map_err(err)?;
                root.draw(&Text::new(
                    format!("{z:+.1}"),
                    (x + 10, y + 9),
                    style.clone(),
                ))
                .map_err(err)?;
            }
        }
        // Legend.
        let lx = (left + cell_w * features.len() as u32 + 20) as i32;
        root.draw(&Text::new(
            "z vs all abandoners",
            (lx, top as i32 - 20),
            style.clone(),
        ))
        .map_err(err)?;
        for (k, z) in [2.0, 1.0, 0.0, -1.0, -2.0].iter().enumerate() {
            let y = top as i32 + 22 * k as i32;
            root.draw(&Rectangle::new(
                [(lx, y), (lx + 20, y + 18)],
                diverging(*z).filled(),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                format!("{z:+.0} sd"),
                (lx + 28, y + 4),
                style.clone(),
            ))
            .map_err(err)?;
        }
        Ok(())
    })
}

/// Silhouette and Calinski-Harabasz against k, the chosen k marked.
pub fn k_curves(table: &[KRow]) -> String {
    svg(900, 280, |root| {
        let (left, right) = root.split_horizontally(450);
        let ks: Vec<f64> = table.iter().map(|r| r.k as f64).collect();
        let (kmin, kmax) = (
            ks.first().copied().unwrap_or(2.0) - 0.5,
            ks.last().copied().unwrap_or(6.0) + 0.5,
        );
        for (area, title, values) in [
            (
                left,
                "Silhouette (higher is better)",
                table.iter().map(|r| r.silhouette).collect::<Vec<_>>(),
            ),
            (
                right,
                "Calinski-Harabasz (higher is better)",
                table
                    .iter()
                    .map(|r| r.calinski_harabasz)
                    .collect::<Vec<_>>(),
            ),
        ] {
            let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let pad = ((hi - lo) * 0.15).max(1e-3);
            let mut chart = builder(&area, title, 15, [10, 28, 50])
                .build_cartesian_2d(kmin..kmax, (lo - pad)..(hi + pad))
                .map_err(err)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_labels(table.len())
                .x_label_formatter(&|x| format!("k={x:.0}"))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    ks.iter().cloned().zip(values.iter().cloned()),
                    colour(0).stroke_width(2),
                ))
                .map_err(err)?;
            chart
                .draw_series(table.iter().zip(&values).map(|(r, v)| {
                    let style = if r.chosen {
                        colour(5).filled()
                    } else {
                        colour(0).filled()
                    };
                    Circle::new((r.k as f64, *v), if r.chosen { 7 } else { 4 }, style)
                }))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// A 2-D projection of shoppers (first two principal components), coloured by persona.
pub fn projection(
    points: &[(f64, f64, usize)],
    personas: &[Persona],
    explained: [f64; 2],
) -> String {
    svg(900, 520, |root| {
        let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().map(|p| (p.0, p.1)).unzip();
        let range = |v: &[f64]| {
            let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() && hi > lo {
                (lo - 0.05 * (hi - lo))..(hi + 0.05 * (hi - lo))
            } else {
                -1.0..1.0
            }
        };
        let mut chart = builder(&root, "", 16, [10, 30, 40])
            .build_cartesian_2d(range(&xs), range(&ys))
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(format!("PC1 ({:.0}% of variance)", explained[0] * 100.0))
            .y_desc(format!("PC2 ({:.0}%)", explained[1] * 100.0))
            .draw()
            .map_err(err)?;
        for (i, p) in personas.iter().enumerate() {
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|q| q.2 == i)
                        .map(|q| Circle::new((q.0, q.1), 2, colour(i).mix(0.6).filled())),
                )
                .map_err(err)?
                .label(format!("{} {}", p.id, p.name))
                .legend(move |(x, y)| Circle::new((x, y), 4, colour(i).filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

/// Box plots of one feature per persona: box from the 25th to the 75th percentile, a line at the
/// median, whiskers to the 10th and 90th percentiles.
pub fn boxplots(feature: &str, personas: &[Persona]) -> String {
    let boxes: Vec<(usize, [f64; 5])> = personas
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.stat(feature).and_then(|s| s.quantiles).map(|q| (i, q)))
        .collect();
    if boxes.is_empty() {
        return String::new();
    }
    let n = personas.len();
    svg(440, 260, |root| {
        let lo = boxes.iter().map(|b| b.1[0]).fold(f64::INFINITY, f64::min);
        let hi = boxes
            .iter()
            .map(|b| b.1[4])
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.08).max(1e-6);
        let mut chart = builder(&root, feature, 15, [10, 26, 50])
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(n)
            .x_label_formatter(&|x| {
                personas
                    .get(x.round().max(0.0) as usize)
                    .map(|p| p.id.clone())
                    .unwrap_or_default()
            })
            .draw()
            .map_err(err)?;
        for (i, q) in &boxes {
            let x = *i as f64;
            let c = colour(*i);
            chart
                .draw_series([Rectangle::new(
                    [(x - 0.3, q[1]), (x + 0.3, q[3])],
                    c.mix(0.35).filled(),
                )])
                .map_err(err)?;
            chart
                .draw_series([Rectangle::new(
                    [(x - 0.3, q[1]), (x + 0.3, q[3])],
                    c.stroke_width(1),
                )])
                .map_err(err)?;
            for seg in [
                [(x - 0.3, q[2]), (x + 0.3, q[2])],
                [(x, q[0]), (x, q[1])],
                [(x, q[3]), (x, q[4])],
            ] {
                chart
                    .draw_series([PathElement::new(seg.to_vec(), c.stroke_width(2))])
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// The uplift of each persona (and of everyone) with its 95% interval as a whisker, zero marked.
pub fn uplift_whiskers(r: &crate::outcomes::Readout) -> String {
    let mut rows: Vec<(String, &crate::outcomes::readout::Uplift)> = r
        .personas
        .iter()
        .filter_map(|p| {
            p.comparison
                .uplift
                .as_ref()
                .map(|u| (p.persona_id.clone(), u))
        })
        .collect();
    if let Some(u) = &r.overall.uplift {
        rows.push(("all".into(), u));
    }
    if rows.is_empty() {
        return "<p>No holdout: no uplift to show.</p>".into();
    }
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let lo = rows.iter().map(|r| r.1.ci_low).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.1.ci_high).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.1).max(0.005);
    svg(900, 70 + 36 * n as u32, |root| {
        let frame = Rows {
            caption: "Uplift in recovery rate (points), 95% interval",
            sizes: [10, 28, 60],
            labels: &labels,
            x_ticks: TICKS,
            x_text: &|x| tick(*x, (hi - lo + 2.0 * pad) * 100.0, TICKS, true),
        };
        let mut chart = rows_chart(&root, &frame, (lo - pad) * 100.0..(hi + pad) * 100.0)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
        for (i, (_, u)) in rows.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - i - 1);
            let c = colour(i);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (u.ci_low * 100.0, y.clone()),
                        (u.ci_high * 100.0, y.clone()),
                    ],
                    c.stroke_width(3),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (u.absolute * 100.0, y),
                    6,
                    c.filled(),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// Cumulative recovery rate by day since T, one line per arm.
pub fn recovery_by_day(days: &[crate::outcomes::breakdown::ByDay]) -> String {
    let max = days
        .iter()
        .flat_map(|d| [d.treatment, d.holdout])
        .flatten()
        .fold(0.0, f64::max)
        .max(0.01)
        * 110.0;
    let last = days.len().max(1) as f64;
    svg(900, 300, |root| {
        let mut chart = builder(
            &root,
            "Recovered so far (%), by day since T",
            16,
            [10, 28, 44],
        )
        .build_cartesian_2d(0.0..last, 0.0..max)
        .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&|x| format!("day {x:.0}"))
            .y_labels(TICKS)
            .y_label_formatter(&|y| format!("{}%", tick(*y, max, TICKS, false)))
            .draw()
            .map_err(err)?;
        let arm = |pick: fn(&crate::outcomes::breakdown::ByDay) -> Option<f64>| {
            let points: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
                .chain(
                    days.iter()
                        .filter_map(|d| pick(d).map(|r| (d.day as f64, r * 100.0))),
                )
                .collect();
            // A line needs two points: an arm with no day known is left out.
            if points.len() < 2 {
                Vec::new()
            } else {
                points
            }
        };
        lines(
            &mut chart,
            [
                ("treatment", arm(|d| d.treatment), colour(0)),
                ("holdout", arm(|d| d.holdout), colour(5)),
            ],
        )
    })
}

/// A named line of a chart: (legend name, points, colour).
type Line<'n> = (&'n str, Vec<(f64, f64)>, RGBColor);

/// Each (name, points, colour) as a 2-pixel line with its legend entry (none without points),
/// then the legend, upper left: the line charts' common end.
fn lines<'a, 'b: 'a, const N: usize>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    series: [Line<'_>; N],
) -> Result<(), String> {
    for (name, points, c) in series.into_iter().filter(|s| !s.1.is_empty()) {
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Attributed revenue (what a platform would claim) next to the incremental revenue, per persona.
pub fn attributed_vs_incremental(r: &crate::outcomes::Readout) -> String {
    let rows: Vec<(String, f64, f64)> = r
        .personas
        .iter()
        .filter_map(|p| {
            let c = &p.comparison;
            Some((
                p.persona_id.clone(),
                c.attributed_revenue?,
                c.incremental_revenue.as_ref()?.estimate,
            ))
        })
        .collect();
    if rows.is_empty() {
        return "<p>Attributed revenue needs --touches and a holdout.</p>".into();
    }
    let n = rows.len();
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let lo = rows.iter().map(|r| r.2).fold(0.0, f64::min) * 1.1;
    let hi = rows.iter().flat_map(|r| [r.1, r.2]).fold(1.0, f64::max) * 1.1;
    svg(900, 80 + 44 * n as u32, |root| {
        let frame = Rows {
            caption: "Attributed (light) against incremental (dark) revenue",
            sizes: [10, 28, 60],
            labels: &labels,
            // plotters' default.
            x_ticks: 11,
            x_text: &|x| short(*x),
        };
        let mut chart = rows_chart(&root, &frame, lo..hi)?;
        for (i, (_, attributed, incremental)) in rows.iter().enumerate() {
            let y = n - i - 1;
            let c = colour(i);
            chart
                .draw_series([
                    Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(y)),
                            (*attributed, SegmentValue::Exact(y + 1)),
                        ],
                        c.mix(0.35).filled(),
                    ),
                    Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(y)),
                            (*incremental, SegmentValue::Exact(y + 1)),
                        ],
                        c.filled(),
                    ),
                ])
                .map_err(err)?;
        }
        Ok(())
    })
}

/// The reliability chart of the propensity (docs/propensity.md): each quantile bin's mean
/// predicted propensity against the share that returned, with the diagonal of perfect
/// calibration; empty when there are no bins.
pub fn reliability(bins: &[crate::propensity::metrics::Bin]) -> String {
    if bins.is_empty() {
        return String::new();
    }
    let top = bins
        .iter()
        .map(|b| b.mean_predicted.max(b.observed))
        .fold(0.0, f64::max);
    let top = (top * 1.15).clamp(0.02, 1.0);
    svg(480, 360, |root| {
        let mut chart = builder(
            &root,
            "Predicted vs observed returns, by bin",
            15,
            [12, 36, 50],
        )
        .build_cartesian_2d(0.0..top, 0.0..top)
        .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("mean predicted propensity")
            .y_desc("share that returned")
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (top, top)],
                RGBColor(160, 160, 160).stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                bins.iter().map(|b| (b.mean_predicted, b.observed)),
                colour(0).stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                bins.iter()
                    .map(|b| Circle::new((b.mean_predicted, b.observed), 4, colour(0).filled())),
            )
            .map_err(err)?;
        Ok(())
    })
}

/// The Qini curve of the per-shopper uplift (outcomes::targeting): incremental recoveries per
/// listed shopper (points) when the top share by uplift is messaged, against random targeting
/// (the straight line to the curve's end).
pub fn qini(q: &crate::outcomes::targeting::Qini) -> String {
    let ys = q.curve.iter().map(|p| p.incremental_recoveries * 100.0);
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(l, h), y| (l.min(y), h.max(y)));
    let pad = ((hi - lo) * 0.1).max(0.01);
    let (lo, hi) = (lo - pad, hi + pad);
    let last = q
        .curve
        .last()
        .map_or(0.0, |p| p.incremental_recoveries * 100.0);
    svg(900, 300, |root| {
        let mut chart = builder(
            &root,
            "Qini: incremental recoveries per 100 listed, messaging the top share by uplift",
            16,
            [10, 28, 56],
        )
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_labels(TICKS)
            .y_label_formatter(&|y| tick(*y, hi - lo, TICKS, true))
            .draw()
            .map_err(err)?;
        let curve: Vec<(f64, f64)> = q
            .curve
            .iter()
            .map(|p| (p.share, p.incremental_recoveries * 100.0))
            .collect();
        lines(
            &mut chart,
            [
                ("by uplift", curve, colour(0)),
                ("random", vec![(0.0, 0.0), (1.0, last)], colour(7)),
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::tick;

    /// Issue 31: at rates around 1% the by-day axis read "0%, 0%, 0%, 1%, 1%, 1%", and the
    /// uplift axis had a "-0.0" tick.
    #[test]
    fn ticks_differ_and_never_read_minus_zero() {
        let ticks: Vec<String> = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
            .iter()
            .map(|y| tick(*y, 1.3, 8, false))
            .collect();
        assert_eq!(ticks, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2"]);
        assert_eq!(tick(-0.000_1, 4.0, 8, true), "0.0");
        assert_eq!(tick(-1.5, 4.0, 8, true), "-1.5");
        assert_eq!(tick(2.0, 40.0, 8, true), "+2");
        assert_eq!(tick(12.0, 60.0, 8, false), "12");
    }
}
