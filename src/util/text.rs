//! Message helpers shared by every stage.

/// At most the first 80 characters of `s`, with an ellipsis when cut: for messages.
pub fn short(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(80) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_cuts_long_values_at_80_characters() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(100);
        assert_eq!(short(&long).chars().count(), 81);
        assert!(short(&long).ends_with('…'));
    }
}
