use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn load(file: Option<&str>, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let file = file.map(|text| (Path::new("switchboard.toml"), text));
    Settings::from_sources(&Sources::new(file, env(pairs))?)
}

#[test]
fn defaults_select_embedded_mode_on_loopback() {
    let s = load(None, &[]).expect("defaults load");
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, Path::new("./data"));
    assert_eq!(s.max_connectors, 10);
    assert!(s.is_embedded());
    assert!(matches!(s.database(), Ok(Database::Sqlite(p)) if p == Path::new("./data/switchboard.db")));
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    let file = "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/sb\"\nmax_connectors = 5\n";
    let s = load(Some(file), &[("SWITCHBOARD_LISTEN", "127.0.0.1:9999")]).expect("loads");
    assert_eq!(s.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(s.data_dir, Path::new("/srv/sb"));
    assert_eq!(s.max_connectors, 5);
}

#[test]
fn a_bad_value_names_the_setting_and_its_origin() {
    let err = load(None, &[("SWITCHBOARD_LISTEN", "not-an-address")]).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("SWITCHBOARD_LISTEN") && msg.contains("environment"),
        "{msg}"
    );

    let err = load(Some("log_format = \"xml\""), &[]).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("SWITCHBOARD_LOG_FORMAT") && msg.contains("switchboard.toml"),
        "{msg}"
    );
}

#[test]
fn unknown_file_keys_and_wrong_types_are_refused() {
    let err = load(Some("lissten = \"x\""), &[]).expect_err("typo refused");
    assert!(err.to_string().contains("`lissten`"), "{err}");
    let err = load(Some("listen = [1]"), &[]).expect_err("array refused");
    assert!(err.to_string().contains("`listen`"), "{err}");
    let err = load(Some("listen = "), &[]).expect_err("syntax refused");
    assert!(matches!(err, ConfigError::File { .. }), "{err}");
}

#[test]
fn empty_environment_values_count_as_unset() {
    let s = load(None, &[("DATABASE_URL", ""), ("SWITCHBOARD_LISTEN", "")]).expect("loads");
    assert!(s.database_url.is_none());
    assert_eq!(s.listen.port(), 8080);
}

#[test]
fn database_url_selects_the_backend() {
    let pg = load(
        None,
        &[
            ("DATABASE_URL", "postgres://u:pw@db/sb"),
            ("REDIS_URL", "redis://r:6379"),
        ],
    )
    .expect("loads");
    assert!(matches!(pg.database(), Ok(Database::Postgres(_))));
    assert!(!pg.is_embedded());
    let sqlite = load(None, &[("DATABASE_URL", "sqlite:/tmp/x.db?mode=rwc")]).expect("loads");
    assert!(matches!(sqlite.database(), Ok(Database::Sqlite(p)) if p == Path::new("/tmp/x.db")));
    for bad in ["mysql://u:pw@db/sb", "sqlite:"] {
        let err = load(None, &[("DATABASE_URL", bad)]).expect_err(bad);
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(!err.to_string().contains("pw@"), "secret echoed: {err}");
    }
}

#[test]
fn secrets_are_checked_and_redacted() {
    let err = load(None, &[("SWITCHBOARD_JWT_SECRET", "short-canary")]).expect_err("short secret");
    assert!(err.to_string().contains("SWITCHBOARD_JWT_SECRET"));
    assert!(!err.to_string().contains("short-canary"));
    let s = load(None, &[("SWITCHBOARD_JWT_SECRET", &"s".repeat(32))]).expect("loads");
    assert!(!format!("{s:?}").contains("ssssssss"), "Debug leaks the secret");
}

#[test]
fn numeric_limits_must_be_positive() {
    for name in ["SWITCHBOARD_MAX_CONNECTORS", "SWITCHBOARD_DB_MAX_CONNECTIONS"] {
        let err = load(None, &[(name, "0")]).expect_err(name);
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn only_the_two_supported_mixes_start() {
    let embedded = load(None, &[]).expect("embedded");
    assert!(matches!(embedded.mode(), Ok(Mode::Embedded { queue, .. }) if queue == Path::new("./data/queue.db")));
    let distributed = load(
        None,
        &[("DATABASE_URL", "postgres://db/sb"), ("REDIS_URL", "redis://r")],
    )
    .expect("distributed");
    assert!(matches!(distributed.mode(), Ok(Mode::Distributed { .. })));
    let err = load(None, &[("DATABASE_URL", "postgres://db/sb")]).expect_err("postgres without redis");
    assert!(err.to_string().contains("REDIS_URL"), "{err}");
    let err = load(None, &[("REDIS_URL", "redis://r")]).expect_err("sqlite with redis");
    assert!(err.to_string().contains("distributed mode needs both"), "{err}");
}

#[test]
fn job_settings_take_durations_and_defaults_depend_on_the_mode() {
    let s = load(
        None,
        &[
            ("SWITCHBOARD_TEST_BUDGET", "250ms"),
            ("SWITCHBOARD_HEALTH_INTERVAL", "0"),
        ],
    )
    .expect("loads");
    assert_eq!(s.jobs.test_budget, std::time::Duration::from_millis(250));
    assert_eq!(s.jobs.health_interval, None);
    assert_eq!(
        s.egress_allow(),
        crate::egress::AllowList::loopback(),
        "embedded allows loopback"
    );
    let pg = load(
        None,
        &[("DATABASE_URL", "postgres://db/sb"), ("REDIS_URL", "redis://r")],
    )
    .expect("loads");
    assert!(pg.egress_allow().is_empty(), "distributed allows nothing private");
    let exposed = load(None, &[("SWITCHBOARD_LISTEN", "0.0.0.0:8080")]).expect("loads");
    assert!(
        exposed.egress_allow().is_empty(),
        "embedded on a non-loopback listener allows nothing private"
    );
    let v6 = load(None, &[("SWITCHBOARD_LISTEN", "[::1]:8080")]).expect("loads");
    assert_eq!(v6.egress_allow(), crate::egress::AllowList::loopback());
    let explicit = load(None, &[("SWITCHBOARD_EGRESS_ALLOW", "none")]).expect("loads");
    assert!(
        explicit.egress_allow().is_empty(),
        "setting the variable replaces the default"
    );
    for (name, value) in [
        ("SWITCHBOARD_TEST_BUDGET", "soon"),
        ("SWITCHBOARD_TEST_BUDGET", "0s"),
        ("SWITCHBOARD_EGRESS_ALLOW", "not-a-cidr"),
        ("SWITCHBOARD_REDIS_PREFIX", "has:colon"),
        ("SWITCHBOARD_WORKER_HEARTBEAT", "500ms"),
    ] {
        let err = load(None, &[(name, value)]).expect_err(value);
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn ui_origins_are_plain_origins() {
    let settings = load(
        None,
        &[
            (
                "SWITCHBOARD_UI_FRAME_ANCESTORS",
                "https://app.example.com, http://localhost:3000/",
            ),
            ("SWITCHBOARD_UI_TOKEN_ORIGINS", "https://app.example.com"),
        ],
    )
    .unwrap();
    assert_eq!(
        settings.ui_frame_ancestors,
        ["https://app.example.com", "http://localhost:3000"]
    );
    // Nothing that would widen or extend the page's frame-ancestors list.
    for bad in [
        "https://*.example.com",
        "https://a.com;sandbox",
        "https://a.com/path",
        "*",
        "'self'",
        "javascript:alert(1)",
    ] {
        let error = load(None, &[("SWITCHBOARD_UI_FRAME_ANCESTORS", bad)]).unwrap_err();
        assert!(
            error.to_string().contains("SWITCHBOARD_UI_FRAME_ANCESTORS"),
            "{bad}: {error}"
        );
    }
}
