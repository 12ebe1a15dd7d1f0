//! The rules of [`super::connector`]'s text fields as regular expressions,
//! for the API document. They are built from the same predicates the
//! parsers use, and a test holds each expression to its parser.

use std::sync::LazyLock;

use super::connector::{URL_PATTERN, is_invisible};
use super::headers::RESERVED;

/// A name: none of its characters control or invisible, and not blank (the
/// length is the document's `maxLength`).
pub fn name_pattern() -> &'static str {
    static PATTERN: LazyLock<String> = LazyLock::new(|| {
        let refused = |c: char| c.is_control() || is_invisible(c);
        let refused_class = class(refused);
        let either = class(|c| c.is_whitespace() || refused(c));
        format!("^[^{refused_class}]*[^{either}][^{refused_class}]*$")
    });
    &PATTERN
}

/// A description: no control characters but tabs and newlines.
pub fn description_pattern() -> &'static str {
    static PATTERN: LazyLock<String> =
        LazyLock::new(|| format!("^[^{}]*$", class(|c| c.is_control() && c != '\t' && c != '\n')));
    &PATTERN
}

/// A server URL (see [`super::connector::url_shape`]).
pub fn url_pattern() -> &'static str {
    URL_PATTERN
}

/// Visible ASCII, no spaces: tokens, client ids, scopes, idempotency keys.
pub const VISIBLE_ASCII: &str = "^[\\u0021-\\u007E]+$";

/// A custom header's name: RFC 9110 token characters (the length is `maxLength`).
pub const HEADER_NAME: &str = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

/// The header names Switchboard sets itself, in any case: a custom header
/// must not match this.
pub fn reserved_header_pattern() -> String {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| match c {
                'a'..='z' => format!("[{}{c}]", c.to_ascii_uppercase()),
                other => other.to_string(),
            })
            .collect()
    };
    let mut names: Vec<String> = RESERVED.iter().map(|n| any_case(n)).collect();
    names.extend(["mcp-", "sec-"].map(|prefix| format!("{}.*", any_case(prefix))));
    format!("^(?:{})$", names.join("|"))
}

/// A custom header's value: visible ASCII with inner spaces or tabs.
pub const HEADER_VALUE: &str = "^[\\u0021-\\u007E](?:[\\u0020-\\u007E\\t]*[\\u0021-\\u007E])?$";

/// The members of a character class (without brackets) matching `member`:
/// ranges of `\uXXXX` escapes, astral characters written as themselves
/// (`\u` takes four digits in every regex dialect the document meets).
fn class(member: impl Fn(char) -> bool) -> String {
    let mut ranges: Vec<(char, char)> = Vec::new();
    for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
        if !member(c) {
            continue;
        }
        match ranges.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(c) => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
        .into_iter()
        .map(|(start, end)| match start == end {
            true => escape(start),
            false => format!("{}-{}", escape(start), escape(end)),
        })
        .collect()
}

fn escape(c: char) -> String {
    let code = u32::from(c);
    if code <= 0xFFFF {
        format!("\\u{code:04X}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::domain::connector::url_shape;
    use crate::domain::{ConnectorName, Description};

    /// Strings near every rule's edge, plus every character of interest alone and inside a name.
    fn corpus() -> Vec<String> {
        let mut strings: Vec<String> = [
            "Notes",
            " Notes ",
            "",
            " ",
            "\u{3000}",
            "a\u{200B}b",
            "\u{202E}x",
            "\tNotes",
            "Notes\n",
            "x\u{85}",
            "\u{3164}",
            "\u{2800}",
            "📝 Notes",
            "Ｃａｒｏｌ",
            "a\u{E0001}",
            "a\u{1D173}",
            "\u{A0}a\u{A0}",
            "http://a",
            "https://a.b:8080/mcp",
            "HTTP://A/x?y=z",
            "http:/a",
            "http://",
            "http:///a",
            "http://a b",
            "http://a\tb",
            "http://a\\b",
            "http://a/b\\c",
            "http://u@a",
            "http://a#f",
            "http://a/#f",
            "http://a/ b",
            "ftp://a",
            " http://a",
            "http://a ",
            "http://[::1]:9/x",
            "http://a/\u{7f}",
            "http://a/é",
            "http://é/",
            "http://a?x",
            "http://a/\u{85}",
        ]
        .map(str::to_owned)
        .into();
        for code in (0..0x3100_u32).chain([0xFEFF, 0xFFA0, 0xFFF9, 0x110BD, 0xE0020, 0x1F4DD]) {
            if let Some(c) = char::from_u32(code) {
                strings.push(c.to_string());
                strings.push(format!("a{c}b"));
                strings.push(format!("{c}a"));
            }
        }
        strings
    }

    #[test]
    fn each_pattern_accepts_exactly_what_its_parser_accepts() {
        let name = Regex::new(name_pattern()).unwrap();
        let description = Regex::new(description_pattern()).unwrap();
        let url = Regex::new(url_pattern()).unwrap();
        for s in corpus() {
            assert_eq!(name.is_match(&s), ConnectorName::parse(&s).is_ok(), "name {s:?}");
            assert_eq!(
                description.is_match(&s),
                Description::parse(&s).is_ok(),
                "description {s:?}"
            );
            assert_eq!(url.is_match(&s), url_shape(&s).is_ok(), "server_url {s:?}");
        }
    }

    #[test]
    fn the_header_patterns_accept_exactly_what_the_header_check_accepts() {
        let (name, reserved, value) = (
            Regex::new(HEADER_NAME).unwrap(),
            Regex::new(&reserved_header_pattern()).unwrap(),
            Regex::new(HEADER_VALUE).unwrap(),
        );
        let check = |n: &str, v: &str| {
            let input = [(n.to_owned(), Some(v.to_owned()))].into_iter().collect();
            crate::domain::CustomHeaders::check(&input).is_ok()
        };
        let names = [
            "X-Tenant",
            "x_1",
            "Authorization",
            "AUTHORIZATION",
            "Host",
            "te",
            "Te-x",
            "Mcp-Session-Id",
            "mcp-",
            "Sec-Fetch",
            "sec",
            "X Tenant",
            "X:Y",
            "é",
            "",
            "Content-Type",
            "Last-Event-ID",
            "a`b|c~",
        ];
        let values = [
            "acme", "a b", "a\tb", " a", "a ", "\ta", "é", "a\u{7f}", "", "~", "a  b",
        ];
        for n in names {
            for v in values {
                let by_patterns = name.is_match(n) && !reserved.is_match(n) && !n.is_empty() && value.is_match(v);
                assert_eq!(by_patterns, check(n, v), "{n:?}: {v:?}");
            }
        }
        let visible = Regex::new(VISIBLE_ASCII).unwrap();
        for (s, ok) in [("tok-1", true), ("a b", false), ("", false), ("é", false), ("~!", true)] {
            assert_eq!(visible.is_match(s), ok, "{s:?}");
            assert_eq!(crate::domain::validation::header_safe(s, "x", 100).is_ok(), ok, "{s:?}");
        }
    }
}
