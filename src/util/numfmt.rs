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

/// Appends `x` to `buf` exactly as `write!(buf, "{x}")` would (the shortest digits that read back
/// as `x`, laid out without an exponent: `3`, `0.1`, `-0`, `0.0000001`, `100000000000000000000`,
/// `NaN`, `inf`), two to three times faster: whole numbers through itoa, the rest through ryu's
/// shortest digits, moved into place. Both algorithms give the shortest digits nearest to `x`, so
/// the text is the same (checked against `{x}` on random bit patterns and on round figures, in
/// the tests below). The CSV outputs spend most of their time here (issue 33).
pub fn plain(buf: &mut String, x: f64) {
    use std::fmt::Write as _;
    if x == x.trunc() && x.abs() < 9.0e15 && !(x == 0.0 && x.is_sign_negative()) {
        buf.push_str(itoa::Buffer::new().format(x as i64));
        return;
    }
    // Rust's own for what is not finite, -0, and numbers that could tie: ryu breaks a tie between
    // two shortest digit strings to the even one, Rust upwards (849466754730028.25: ryu .2, Rust
    // .3). A tie needs x to equal a decimal of at most 18 significant digits, but x = N / 2^f (N
    // odd) has at least floor(0.69897 f) + 1 of them: 19 or more from f = 26 on. Below that
    // (halves, quarters, large numbers), Rust's own.
    if !x.is_finite() || x == 0.0 || fraction_bits(x) < 27 {
        write!(buf, "{x}").expect("formatting into a String");
        return;
    }
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(x);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu writes a whole exponent")),
        None => (text, 0),
    };
    fn ascii(d: &[u8]) -> &str {
        std::str::from_utf8(d).expect("ASCII digits")
    }
    // The digits without the point (at most 17, ryu's longest), and where the point goes.
    let point = mantissa.find('.').unwrap_or(mantissa.len()) as i32 + exponent;
    let mut all = [0u8; 24];
    let mut len = 0;
    for b in mantissa.bytes().filter(|&b| b != b'.') {
        all[len] = b;
        len += 1;
    }
    let first = all[..len].iter().position(|&b| b != b'0').unwrap_or(len);
    let last = all[..len]
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(first, |i| i + 1);
    let (digits, point) = (&all[first..last], point - first as i32);
    if negative {
        buf.push('-');
    }
    if point <= 0 {
        buf.push_str("0.");
        (0..-point).for_each(|_| buf.push('0'));
        buf.push_str(ascii(digits));
    } else if point as usize >= digits.len() {
        buf.push_str(ascii(digits));
        (0..point as usize - digits.len()).for_each(|_| buf.push('0'));
    } else {
        buf.push_str(ascii(&digits[..point as usize]));
        buf.push('.');
        buf.push_str(ascii(&digits[point as usize..]));
    }
}

/// f in x = N / 2^f with N odd (0 for whole numbers): the binary digits after the point.
fn fraction_bits(x: f64) -> i64 {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | (1u64 << 52), biased - 1075),
    };
    if mantissa == 0 {
        return 0;
    }
    (-exponent - i64::from(mantissa.trailing_zeros())).max(0)
}

#[cfg(test)]
mod plain_tests {
    use super::plain;
    use rand::{Rng, SeedableRng};

    fn same(x: f64) {
        let mut buf = String::new();
        plain(&mut buf, x);
        assert_eq!(buf, format!("{x}"), "bits {:#018x}", x.to_bits());
    }

    #[test]
    fn plain_writes_what_display_writes_on_round_figures() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            3.0,
            0.1,
            0.5,
            -0.25,
            1.0 / 3.0,
            2.0 / 3.0,
            57.53,
            110.56993399339932,
            19.633217592592594,
            1e-7,
            1.5e-7,
            123e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            1e15,
            9.0e15,
            9.007199254740993e15,
            1e16,
            1.5e16,
            1e20,
            1e21,
            1e22,
            123456789.125,
            0.1 + 0.2,
            100.0,
            365.0,
            1e-5,
            1e-6,
            0.001,
            12.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::EPSILON,
            f64::from_bits(0x4308_24af_2150_4162), // 849466754730028.25: a tie
            0.30000000000000004,
        ];
        for x in cases {
            same(x);
            same(-x);
        }
    }

    #[test]
    fn fraction_bits_by_hand() {
        assert_eq!(super::fraction_bits(3.0), 0);
        assert_eq!(super::fraction_bits(0.5), 1);
        assert_eq!(super::fraction_bits(-12.25), 2);
        assert_eq!(super::fraction_bits(5e-324), 1074);
        assert_eq!(super::fraction_bits(0.1), 55);
    }

    #[test]
    fn plain_writes_what_display_writes_on_random_numbers() {
        // Random bit patterns (every exponent) and random values of the sizes the outputs hold
        // (shares, money, days, z-scores, with few and many digits).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
        for _ in 0..200_000 {
            same(f64::from_bits(rng.gen()));
            // Large numbers with a few bits after the point: where ties between shortest
            // digit strings live.
            same(
                rng.gen_range(1u64 << 40..1u64 << 53) as f64
                    / f64::from(1u32 << rng.gen_range(1..12)),
            );
            let x: f64 = rng.gen_range(-1e4..1e4);
            same(x);
            same((x * 100.0).round() / 100.0);
            same(x / 3.0e6);
            same(rng.gen_range(0..1000) as f64 / rng.gen_range(1..1000) as f64);
        }
    }

    /// The same on 30 million random bit patterns and 30 million tie-prone numbers (about 30 s in
    /// a release build): `cargo test --release --lib plain_on_millions -- --ignored`.
    #[test]
    #[ignore]
    fn plain_on_millions() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(34);
        for _ in 0..30_000_000 {
            same(f64::from_bits(rng.gen()));
            same(
                rng.gen_range(1u64 << 30..1u64 << 53) as f64
                    / f64::from(1u32 << rng.gen_range(1..30)),
            );
        }
    }
}
