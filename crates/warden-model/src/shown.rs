//! Text from a store or a file, made safe to print on a terminal.
//!
//! Names, labels and descriptions come from AOT files, CSV files and API
//! callers. Printed raw, an ESC byte in a label starts a terminal escape
//! sequence (recolouring, moving the cursor, rewriting what an auditor reads),
//! a bidirectional override reverses the text after it, and a line break forges
//! a line of output. [`shown`] writes every such character as a visible Rust
//! escape (`\u{1b}`), the same spelling identifier errors use; everything
//! else, `\` included, is printed as it is. JSON output needs none of this:
//! serde escapes control characters itself.

use std::borrow::Cow;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// `text` with control characters, format characters (zero-width,
/// bidirectional) and line or paragraph separators escaped, line breaks included.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// [`shown`] for a whole block of output: the same, except that `\n` stays a
/// line break. For the last step before a terminal, where lines are meant.
pub fn shown_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| !(keep_newlines && c == '\n') && hidden(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `c` changes how the text around it is shown instead of showing itself.
fn hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    matches!(
        c.general_category(),
        GeneralCategory::Control | GeneralCategory::Format | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert!(matches!(shown("Accounts payable clerk"), Cow::Borrowed(_)));
        assert_eq!(shown("José\\x"), "José\\x", "printable text and backslashes as they are");
        assert_eq!(shown("A\u{1b}[31mred"), "A\\u{1b}[31mred");
        assert_eq!(shown("a\nb\tc\r\u{7f}\u{9b}"), "a\\u{a}b\\u{9}c\\u{d}\\u{7f}\\u{9b}");
        assert_eq!(shown("\u{202e}nimda\u{200b}\u{2028}"), "\\u{202e}nimda\\u{200b}\\u{2028}");
        assert_eq!(shown_lines("line 1\nA\u{1b}]0;x\u{7}\n"), "line 1\nA\\u{1b}]0;x\\u{7}\n");
    }
}
