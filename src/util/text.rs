//! Message helpers shared by every stage.

/// At most the first 80 characters of `s`, with an ellipsis when cut: for messages.
pub fn short(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(80) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
    }
}

/// `s` as one Markdown table cell: `|` escaped (`\|`) and line breaks made spaces, so text from
/// the data (a variant, a channel, a file name, a message) cannot break the table.
pub fn md_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['|', '\n', '\r']) {
        std::borrow::Cow::Owned(s.replace('|', "\\|").replace(['\n', '\r'], " "))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The text with its first letter upper-cased.
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 34): Markdown cells were written without escaping `|`.
    #[test]
    fn markdown_cells_escape_pipes_and_line_breaks() {
        assert_eq!(md_cell("email"), "email");
        assert_eq!(md_cell("a|b"), "a\\|b");
        assert_eq!(md_cell("one\ntwo|"), "one two\\|");
    }

    #[test]
    fn short_cuts_long_values_at_80_characters() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(100);
        assert_eq!(short(&long).chars().count(), 81);
        assert!(short(&long).ends_with('…'));
    }
}
