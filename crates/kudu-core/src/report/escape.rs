//! Making text from a Kudu site safe inside Markdown, and keeping secrets out of it.
//!
//! Everything the site wrote (deployer names, messages, log lines, file names) is hostile until
//! proven otherwise: it must not end a table row, open a heading, start HTML, close a code span
//! or ping anyone. Two shapes are used:
//! - [`code`]: an inline code span whose fence is longer than any backtick run inside, with
//!   pipes escaped (GitHub splits table cells before it parses code spans);
//! - [`text`]: prose with every CommonMark-active ASCII punctuation character backslash-escaped.
//!
//! Both fold line breaks (including U+2028/U+2029) and other control characters into spaces, cap
//! the length, and pass through [`redact`] first.

use crate::parse::one_line;

/// Longest site field kept in one cell or sentence, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// Longest prose (a finding's summary, an explanation) kept, in characters.
pub const MAX_PROSE_CHARS: usize = 2_000;

/// Query keys whose values are credentials (SAS `sig`, OAuth tokens, function keys).
const SECRET_KEYS: &[&str] = &[
    "sig",
    "signature",
    "token",
    "access_token",
    "code",
    "key",
    "password",
    "pwd",
    "secret",
    "client_secret",
];

/// An inline code span holding `raw` on one line, safe in a table cell.
pub fn code(raw: &str) -> String {
    let flat = one_line(&redact(raw), MAX_FIELD_CHARS);
    if flat.is_empty() {
        return "—".to_string();
    }
    let longest_run = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A space on both sides keeps a leading or trailing backtick from joining the fence;
    // CommonMark strips one space from each side again.
    format!("{fence} {} {fence}", escape_cell_pipes(&flat))
}

/// GitHub splits a table row at every `|` not escaped by an odd run of backslashes (and a code
/// span does not protect it), so each pipe gets one or two backslashes to make its run odd.
fn escape_cell_pipes(flat: &str) -> String {
    let mut out = String::with_capacity(flat.len() + 4);
    let mut backslashes = 0;
    for c in flat.chars() {
        if c == '|' {
            out.push_str(if backslashes % 2 == 0 { "\\" } else { "\\\\" });
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(c);
    }
    out
}

/// `raw` as Markdown prose on one line, with no active characters.
pub fn text(raw: &str) -> String {
    text_capped(raw, MAX_PROSE_CHARS)
}

/// [`text`] for a short field.
pub fn field(raw: &str) -> String {
    text_capped(raw, MAX_FIELD_CHARS)
}

/// U+2060 WORD JOINER: invisible, and enough to break what GitHub, Azure DevOps and ticket
/// systems turn into mentions and links after rendering (`@name`, `scheme://`, `www.`); a
/// backslash escape does not, because they look at the rendered text.
const WORD_JOINER: char = '\u{2060}';

fn text_capped(raw: &str, max_chars: usize) -> String {
    let flat = one_line(&redact(raw), max_chars);
    let mut out = String::with_capacity(flat.len() + 8);
    let digits = flat.chars().take_while(char::is_ascii_digit).count();
    let chars: Vec<char> = flat.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        let next = |n: usize| chars.get(index + n).copied();
        // `www` right before a dot, `:` right before `//`: a joiner between them.
        let www_dot = c.eq_ignore_ascii_case(&'w')
            && index >= 2
            && chars[index - 2..index]
                .iter()
                .all(|w| w.eq_ignore_ascii_case(&'w'))
            && next(1) == Some('.');
        let active = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&'
        );
        // What only matters at the start of a line: a list marker, a setext underline or an
        // ordered list's `1.`; callers put prose after their own prefix, but not always.
        let opens_block = (index == 0 && matches!(c, '-' | '+' | '='))
            || (digits > 0 && index == digits && matches!(c, '.' | ')'));
        if active || opens_block {
            out.push('\\');
        }
        out.push(c);
        let scheme_slashes = c == ':' && next(1) == Some('/') && next(2) == Some('/');
        if c == '@' || scheme_slashes || www_dot {
            out.push(WORD_JOINER);
        }
    }
    out
}

/// Replaces credentials with `REDACTED`: values of secret query keys (`sig=`, `token=`, …),
/// the token after `Bearer`/`Basic`, and user:password in URLs.
pub fn redact(raw: &str) -> String {
    let mut out = redact_query_values(raw);
    for scheme in ["Bearer ", "Basic ", "bearer ", "basic "] {
        out = redact_after(&out, scheme);
    }
    redact_userinfo(&out)
}

fn redact_query_values(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(eq) = rest.find('=') {
        let (before, after) = rest.split_at(eq);
        let key_start = before
            .char_indices()
            .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let key = &before[key_start..];
        let boundary = key_start == 0 || before[..key_start].ends_with(['?', '&', ' ', ';']);
        out.push_str(before);
        out.push('=');
        let value = &after[1..];
        if boundary && SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            let end = value
                .find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace())
                .unwrap_or(value.len());
            if end > 0 {
                out.push_str("REDACTED");
            }
            rest = &value[end..];
        } else {
            rest = value;
        }
    }
    out.push_str(rest);
    out
}

fn redact_after(raw: &str, marker: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find(marker) {
        let (before, after) = rest.split_at(at + marker.len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str("REDACTED");
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `https://user:pass@host` keeps only the host.
fn redact_userinfo(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("REDACTED@");
                rest = &after[userinfo_end + 1..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_pipes_and_newlines() {
        assert_eq!(code("GitHub"), "` GitHub `");
        assert_eq!(code("a`b``c"), "``` a`b``c ```");
        assert_eq!(code("x|y\nz"), "` x\\|y z `");
        assert_eq!(code("a\\|b"), "` a\\\\\\|b `");
        assert_eq!(code(""), "—");
    }

    #[test]
    fn prose_has_no_active_characters() {
        assert_eq!(
            text("# <b>hi</b> *x* | y"),
            "\\# \\<b\\>hi\\</b\\> \\*x\\* \\| y"
        );
        assert_eq!(text("line1\r\nline2\u{2028}3"), "line1  line2 3");
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redact("https://acct.blob.core.windows.net/c/app.zip?sv=2024&sig=abc%2Fdef&se=x"),
            "https://acct.blob.core.windows.net/c/app.zip?sv=2024&sig=REDACTED&se=x"
        );
        assert_eq!(
            redact("Authorization: Bearer eyJ0eXAi.x.y"),
            "Authorization: Bearer REDACTED"
        );
        assert_eq!(
            redact("https://$app:pw@app.scm.x/"),
            "https://REDACTED@app.scm.x/"
        );
        assert_eq!(redact("monkey=1 design=2"), "monkey=1 design=2");
    }

    /// Issue 16: a deployer, author or message from the site must not ping anyone or become a
    /// link where the report is pasted.
    #[test]
    fn prose_makes_no_mentions_or_autolinks() {
        let raw = "ping @octocat and @org/team: see https://evil.example/x, WWW.evil.example or \
                   mailto:a@b.example";
        for out in [text(raw), field(raw)] {
            for live in ["@o", "@b", "://", "WWW.", "www."] {
                assert!(!out.contains(live), "{live:?} in {out:?}");
            }
            // Still readable: only invisible joiners were added.
            assert_eq!(out.replace(WORD_JOINER, ""), raw);
        }
    }

    #[test]
    fn long_fields_are_capped() {
        let long = "a".repeat(MAX_FIELD_CHARS + 50);
        assert_eq!(field(&long).chars().count(), MAX_FIELD_CHARS + 1);
    }
}
