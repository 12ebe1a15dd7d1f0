//! An RFC 2822 message for the Gmail API's `raw` field (base64url, unpadded).
//! Header values are checked: a CR or LF in an address or subject would let
//! an agent inject headers.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::invoke::ToolError;

pub fn rfc2822(to: &[String], cc: &[String], subject: &str, body: &str) -> Result<String, ToolError> {
    if to.is_empty() {
        return Err(ToolError::new("INVALID_ARGUMENTS", "`to` needs at least one address"));
    }
    for address in to.iter().chain(cc) {
        let plausible =
            address.contains('@') && !address.contains(['\r', '\n', ',', '<', '>']) && !address.trim().is_empty();
        if !plausible {
            return Err(ToolError::new(
                "INVALID_ARGUMENTS",
                format!("`{}` is not an email address", address.escape_debug()),
            ));
        }
    }
    if subject.contains(['\r', '\n']) {
        return Err(ToolError::new("INVALID_ARGUMENTS", "the subject must be one line"));
    }
    let mut message = format!("To: {}\r\n", to.join(", "));
    if !cc.is_empty() {
        message.push_str(&format!("Cc: {}\r\n", cc.join(", ")));
    }
    let subject = if subject.is_ascii() {
        subject.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(subject))
    };
    message.push_str(&format!("Subject: {subject}\r\n"));
    message.push_str(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let encoded = STANDARD.encode(body.as_bytes());
    for line in encoded.as_bytes().chunks(76) {
        message.push_str(std::str::from_utf8(line).unwrap_or_default());
        message.push_str("\r\n");
    }
    Ok(URL_SAFE_NO_PAD.encode(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> String {
        String::from_utf8(URL_SAFE_NO_PAD.decode(raw).expect("base64url")).expect("utf8")
    }

    #[test]
    fn a_message_has_headers_and_a_base64_body() {
        let raw = rfc2822(
            &["a@example.com".into()],
            &["c@example.com".into()],
            "Héllo",
            "Line one\nLine two",
        )
        .expect("ok");
        assert!(!raw.contains(['+', '/', '=']), "base64url without padding");
        let text = decode(&raw);
        assert!(
            text.starts_with("To: a@example.com\r\nCc: c@example.com\r\nSubject: =?UTF-8?B?"),
            "{text}"
        );
        let body = text.split("\r\n\r\n").nth(1).expect("body").replace("\r\n", "");
        assert_eq!(STANDARD.decode(body).expect("base64"), b"Line one\nLine two");
    }

    #[test]
    fn header_injection_is_refused() {
        assert!(rfc2822(&["a@example.com\r\nBcc: x@evil.test".into()], &[], "s", "b").is_err());
        assert!(rfc2822(&["a@example.com".into()], &[], "s\r\nBcc: x@evil.test", "b").is_err());
        assert!(rfc2822(&[], &[], "s", "b").is_err());
        assert!(rfc2822(&["not-an-address".into()], &[], "s", "b").is_err());
    }
}
