//! Number formats shared by reports and persona texts.

/// Money with thousands separators and two decimals: 12,345.60.
/// Money, or "unknown" when it is not known (never 0: docs/features.md).
pub fn money_or_unknown(x: Option<f64>) -> String {
    x.map_or_else(|| "unknown".to_string(), money)
}

pub fn money(x: f64) -> String {
    let s = format!("{:.2}", x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{}{out}.{frac}", if x < 0.0 { "-" } else { "" })
}

/// A share as a percentage with one decimal: 12.3%.
pub fn pct1(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A share as a whole percentage: 12%.
pub fn pct0(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Percentage points with a sign and two decimals: +3.21 pts (0 reads +0.00, never -0.00).
pub fn pts(x: f64) -> String {
    format!("{} pts", fixed(x * 100.0, 2, true))
}

/// `x` with `decimals` decimals (and a sign when `signed`), where a value that rounds to zero
/// reads as zero: never "-0.00".
pub fn fixed(x: f64, decimals: usize, signed: bool) -> String {
    let scale = 10f64.powi(decimals as i32);
    let v = (x * scale).round() / scale;
    let v = if v == 0.0 { 0.0 } else { v };
    match signed {
        true => format!("{v:+.decimals$}"),
        false => format!("{v:.decimals$}"),
    }
}
