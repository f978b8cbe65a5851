//! Text from outside (AWS names and descriptions, an image's files, the command line) shown on a
//! terminal or in Markdown must not be obeyed: an escape sequence could retitle the window, clear the
//! screen or hide lines, and a newline could forge a report line. [`visible`] shows such characters
//! instead. JSON, SARIF and JUnit keep exact values, escaped by their own serializers.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` would be obeyed rather than shown: C0 and C1 controls, DEL, and the bidirectional
/// overrides and isolates that reorder what a line appears to say.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written visibly: `\e` (escape), `\n`, `\r`, `\t`, `\xNN` for other
/// C0 controls and DEL, `\u{NNNN}` for C1 controls and bidirectional controls.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`visible`], cut to `max` characters of the original with an ellipsis: for names quoted in one-line
/// messages.
pub fn visible_cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", visible(&text[..end])),
        None => visible(text).into_owned(),
    }
}

/// Append `c` to `out`, written visibly if it is unsafe (as [`visible`] writes it).
pub fn push_visible(out: &mut String, c: char) {
    match c {
        '\u{1b}' => out.push_str("\\e"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && is_unsafe(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(visible("plain name-1.2 (ok) ✓"), "plain name-1.2 (ok) ✓");
        assert_eq!(
            visible("\u{1b}]0;owned\u{7}\u{1b}[2J"),
            "\\e]0;owned\\x07\\e[2J"
        );
        assert_eq!(visible("a\nb\r\tc\u{7f}"), "a\\nb\\r\\tc\\x7f");
        assert_eq!(visible("\u{9b}31m"), "\\u{009b}31m");
        assert_eq!(visible("abc\u{202e}cba"), "abc\\u{202e}cba");
        assert!(matches!(visible("clean"), Cow::Borrowed(_)));
        assert_eq!(visible_cut("abcdef", 3), "abc…");
        assert_eq!(visible_cut("a\u{1b}c", 3), "a\\ec");
    }
}
