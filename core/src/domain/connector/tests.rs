use serde_json::json;

use super::*;

fn draft(body: Value) -> Result<ConnectorDraft, Vec<String>> {
    let input: ConnectorInput = serde_json::from_value(body).expect("shape");
    ConnectorDraft::parse(input).map_err(|errs| errs.into_iter().map(|e| e.loc.join(".")).collect())
}

#[test]
fn a_minimal_body_parses_with_defaults() {
    let d = draft(json!({"name": "  Notes ", "server_url": "https://mcp.example.com/mcp"})).expect("valid");
    assert_eq!(d.name.as_str(), "Notes");
    assert_eq!(d.auth_type, AuthType::None);
    assert_eq!(d.description.as_str(), "");
    assert_eq!(d.enabled, None);
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let errs =
        draft(json!({"name": "", "server_url": "ftp://x", "description": "d".repeat(501), "auth_type": "basic"}))
            .expect_err("invalid");
    assert_eq!(
        errs,
        ["body.name", "body.description", "body.server_url", "body.auth_type"]
    );
    assert_eq!(draft(json!({})).expect_err("missing"), ["body.name", "body.server_url"]);
}

#[test]
fn server_urls_are_http_with_a_host_and_nothing_hidden() {
    for ok in [
        "http://localhost:3000/mcp",
        "https://mcp.example.com",
        "https://[::1]:8443/sse?x=1",
    ] {
        assert!(ServerUrl::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "not a url",
        "mcp.example.com/mcp",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@mcp.example.com",
        "https://user@mcp.example.com",
        "https://mcp.example.com/#frag",
        "http://",
        "https://:443/mcp",
    ] {
        assert!(ServerUrl::parse(bad).is_err(), "{bad}");
    }
    assert!(ServerUrl::parse(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
}

#[test]
fn origin_changes_are_detected() {
    let base = ServerUrl::parse("https://a.example.com/mcp").expect("valid");
    let same = ServerUrl::parse("https://a.example.com/other?q=1").expect("valid");
    assert!(!base.origin_differs(&same));
    for other in [
        "https://b.example.com/mcp",
        "http://a.example.com/mcp",
        "https://a.example.com:8443/mcp",
    ] {
        assert!(base.origin_differs(&ServerUrl::parse(other).expect("valid")), "{other}");
    }
}

#[test]
fn names_are_trimmed_bounded_and_keyed_case_insensitively() {
    assert_eq!(
        ConnectorName::parse(&"é".repeat(64)).map(|n| n.as_str().chars().count()),
        Ok(64)
    );
    assert!(ConnectorName::parse(&"é".repeat(65)).is_err());
    assert!(ConnectorName::parse("   ").is_err());
    assert!(ConnectorName::parse("a\u{0}b").is_err());
    assert_eq!(ConnectorName::parse("GitHub").expect("valid").key(), "github");
    assert!(Description::parse("line one\nline two").is_ok());
    assert!(Description::parse("bell\u{7}").is_err());
}

#[test]
fn look_alike_names_collide_and_invisible_ones_are_refused() {
    let key = |name: &str| ConnectorName::parse(name).expect(name).key();
    assert_eq!(key("Ｃａｒｏｌ"), key("Carol"), "fullwidth");
    assert_eq!(key("CAROL"), key("carol"));
    assert_eq!(key("Straße"), key("STRASSE"), "full case folding");
    assert_eq!(key("ﬁles"), key("files"), "compatibility ligature");
    assert_ne!(key("Carol"), key("Caro1"));
    for name in [
        "Car\u{200B}ol",    // zero-width space
        "\u{202E}loraC",    // right-to-left override
        "Carol\u{2066}",    // bidi isolate
        "\u{FEFF}Carol",    // byte order mark
        "\u{3164}",         // Hangul filler: a blank-looking name
        "\u{2800}\u{2800}", // Braille blank
    ] {
        let refused = ConnectorName::parse(name).expect_err(name);
        assert!(refused.contains("invisible"), "{refused}");
    }
    assert!(ConnectorName::parse("Notes 📝").is_ok(), "emoji are visible");
}
