use serde_json::json;

use super::*;
use crate::binding::Reach;

fn parse(auth_type: AuthType, config: Value) -> Result<AuthInput, Vec<FieldError>> {
    let mut errors = Errors::default();
    let parsed = AuthInput::parse(auth_type, Some(&config), &mut errors);
    errors.finish(|| parsed.expect("no errors means a value"))
}

fn locs(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.loc.join(".")).collect()
}

#[test]
fn bearer_token_is_required_on_create_and_kept_on_update() {
    let input = parse(AuthType::Bearer, json!({})).expect("omitted token parses");
    assert_eq!(
        input.resolve(None, Reach::Elsewhere).expect_err("required").loc,
        ["body", "auth_config", "token"]
    );

    let stored = Credentials::Bearer {
        token: Secret::new("stored-token"),
    };
    let kept = parse(AuthType::Bearer, json!({}))
        .expect("parses")
        .resolve(Some(&stored), Reach::SavedUrl);
    assert_eq!(kept.expect("kept"), stored);

    let moved = parse(AuthType::Bearer, json!({}))
        .expect("parses")
        .resolve(Some(&stored), Reach::Elsewhere);
    assert!(moved.expect_err("host changed").msg.contains("host changed"));
}

#[test]
fn a_new_token_replaces_the_stored_one() {
    let stored = Credentials::Bearer {
        token: Secret::new("old"),
    };
    let input = parse(AuthType::Bearer, json!({"token": "new-token"})).expect("parses");
    assert_eq!(
        input.resolve(Some(&stored), Reach::SavedUrl).expect("ok"),
        Credentials::Bearer {
            token: Secret::new("new-token")
        }
    );
}

#[test]
fn malformed_auth_configs_are_located() {
    let cases = [
        (AuthType::None, json!({"token": "x"}), "body.auth_config"),
        (AuthType::Bearer, json!({"tokn": "x"}), "body.auth_config"),
        (
            AuthType::Bearer,
            json!({"token": "has space"}),
            "body.auth_config.token",
        ),
        (AuthType::Bearer, json!({"token": 5}), "body.auth_config"),
        (
            AuthType::Oauth,
            json!({"client_secret": "s"}),
            "body.auth_config.client_secret",
        ),
        (
            AuthType::Oauth,
            json!({"client_id": "a b"}),
            "body.auth_config.client_id",
        ),
        (
            AuthType::Oauth,
            json!({"scopes": ["ok", "not ok"]}),
            "body.auth_config.scopes",
        ),
        (
            AuthType::Oauth,
            json!({"access_token": "x".repeat(9000)}),
            "body.auth_config.access_token",
        ),
    ];
    for (auth_type, config, loc) in cases {
        let errors = parse(auth_type, config.clone()).expect_err(&config.to_string());
        assert_eq!(locs(errors), [loc], "{config}");
    }
    let too_many: Vec<String> = (0..51).map(|i| format!("s{i}")).collect();
    let errors = parse(AuthType::Oauth, json!({ "scopes": too_many })).expect_err("too many scopes");
    assert_eq!(locs(errors), ["body.auth_config.scopes"]);
}

#[test]
fn oauth_secrets_are_kept_unless_the_host_changed() {
    let stored = Credentials::Oauth(OauthConfig {
        client_id: Some("cid".into()),
        client_secret: Some(Secret::new("csecret")),
        access_token: Some(Secret::new("at")),
        ..OauthConfig::default()
    });
    let input = || parse(AuthType::Oauth, json!({"client_id": "cid"})).expect("parses");
    let Credentials::Oauth(kept) = input().resolve(Some(&stored), Reach::SavedUrl).expect("ok") else {
        panic!("oauth")
    };
    assert_eq!(kept.client_secret, Some(Secret::new("csecret")));
    assert_eq!(kept.access_token, Some(Secret::new("at")));
    let Credentials::Oauth(moved) = input().resolve(Some(&stored), Reach::Elsewhere).expect("ok") else {
        panic!("oauth")
    };
    assert_eq!(moved.client_secret, None);
    assert_eq!(moved.access_token, None);
    // Another path on the same server: the client stays, the access token
    // (issued for the saved URL only) does not.
    let Credentials::Oauth(path) = input().resolve(Some(&stored), Reach::SavedOrigin).expect("ok") else {
        panic!("oauth")
    };
    assert_eq!(path.client_secret, Some(Secret::new("csecret")));
    assert_eq!(path.access_token, None);
}

#[test]
fn a_stored_bearer_token_follows_an_edited_path_but_not_another_origin() {
    let stored = Credentials::Bearer {
        token: Secret::new("stored-token"),
    };
    let input = || parse(AuthType::Bearer, json!({})).expect("parses");
    assert_eq!(
        input().resolve(Some(&stored), Reach::SavedOrigin).expect("kept"),
        stored
    );
    assert!(input().resolve(Some(&stored), Reach::Elsewhere).is_err());
}

#[test]
fn hints_reveal_at_most_four_characters() {
    let long = Credentials::Bearer {
        token: Secret::new("abcdefghijklmnop-WXYZ"),
    };
    assert_eq!(long.hint().as_deref(), Some("••••WXYZ"));
    let short = Credentials::Bearer {
        token: Secret::new("short-tok"),
    };
    assert_eq!(short.hint().as_deref(), Some("••••"));
    assert_eq!(Credentials::None.hint(), None);
    assert!(!Credentials::None.is_configured());
    let pasted = Credentials::Oauth(OauthConfig {
        access_token: Some(Secret::new("0123456789abcdef-TAIL")),
        ..OauthConfig::default()
    });
    assert_eq!(pasted.hint().as_deref(), Some("access token ••••TAIL"));
    assert!(pasted.is_configured());
    assert_eq!(Credentials::Oauth(OauthConfig::default()).hint(), None);
}
