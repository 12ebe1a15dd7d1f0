use std::collections::HashMap;

use super::resolver::StaticResolver;
use super::*;

fn guard(allow: &str, fuse: bool) -> EgressGuard {
    let names: HashMap<String, Vec<IpAddr>> = [
        ("public.example", vec!["93.184.216.34".parse().unwrap()]),
        ("private.example", vec!["10.1.2.3".parse().unwrap()]),
        (
            "mixed.example",
            vec!["93.184.216.34".parse().unwrap(), "192.168.1.1".parse().unwrap()],
        ),
        ("metadata.example", vec!["169.254.169.254".parse().unwrap()]),
        ("localhost", vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]),
        ("internal.example", vec!["10.9.9.9".parse().unwrap()]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let policy = EgressPolicy {
        allow: allow.parse().unwrap(),
        loopback_fuse: fuse,
    };
    EgressGuard::new(policy, Arc::new(StaticResolver(names)))
}

async fn verdict(guard: &EgressGuard, url: &str) -> Result<Vec<SocketAddr>, EgressError> {
    guard.check_url(&Url::parse(url).unwrap()).await
}

#[tokio::test]
async fn special_use_addresses_in_every_spelling_are_blocked() {
    let g = guard("none", false);
    let blocked = [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1/", "loopback"),
        ("http://0x7f.0.0.1/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
        ("http://2130706433/", "loopback"),
        ("http://localhost:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://metadata.example/", "link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://[fd00::1]/", "unique local (ULA)"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[64:ff9b::a00:1]/", "private"),
        ("http://[2002:c0a8:101::1]/", "private"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://private.example/", "private"),
        ("http://mixed.example/", "private"),
    ];
    for (url, range) in blocked {
        match verdict(&g, url).await {
            Err(EgressError::Blocked { range: got, .. }) => assert_eq!(got, range, "{url}"),
            other => panic!("{url} was not blocked: {other:?}"),
        }
    }
}

#[tokio::test]
async fn public_addresses_pass_and_unknown_names_do_not_resolve() {
    let g = guard("none", false);
    assert_eq!(
        verdict(&g, "https://public.example/mcp").await.unwrap(),
        ["93.184.216.34:443".parse().unwrap()]
    );
    assert_eq!(verdict(&g, "http://[2606:4700::1111]:8080/").await.unwrap().len(), 1);
    assert!(matches!(
        verdict(&g, "https://nowhere.example/").await,
        Err(EgressError::Unresolvable { .. })
    ));
}

#[tokio::test]
async fn the_allow_list_opens_exactly_what_it_names() {
    let g = guard("127.0.0.0/8, ::1, internal.example:8443", false);
    assert!(verdict(&g, "http://127.0.0.1:3000/").await.is_ok());
    assert!(verdict(&g, "http://localhost:3000/").await.is_ok());
    assert!(verdict(&g, "https://internal.example:8443/").await.is_ok());
    assert!(
        verdict(&g, "https://internal.example:9999/").await.is_err(),
        "other port"
    );
    assert!(verdict(&g, "http://10.0.0.1/").await.is_err());
    // Link-local stays blocked unless named by an explicit CIDR.
    let wide = guard("0.0.0.0/0, metadata.example:80", false);
    assert!(verdict(&wide, "http://169.254.169.254/").await.is_err());
    assert!(verdict(&wide, "http://metadata.example/").await.is_err());
    assert!(
        verdict(&guard("169.254.169.254/32", false), "http://169.254.169.254/")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_test_fuse_refuses_everything_but_loopback() {
    let g = guard("0.0.0.0/0, ::/0", true);
    assert!(verdict(&g, "http://127.0.0.1/").await.is_ok());
    for url in [
        "https://public.example/",
        "http://10.0.0.1/",
        "http://[2606:4700::1111]/",
    ] {
        assert!(
            matches!(verdict(&g, url).await, Err(EgressError::Blocked { .. })),
            "{url}"
        );
    }
}

#[test]
fn literal_hops_are_checked_and_names_deferred() {
    let g = guard("none", false);
    assert!(
        g.check_literal(&Url::parse("http://169.254.169.254/").unwrap())
            .is_err()
    );
    assert!(
        g.check_literal(&Url::parse("http://[::ffff:192.168.0.1]/").unwrap())
            .is_err()
    );
    assert!(g.check_literal(&Url::parse("https://93.184.216.34/").unwrap()).is_ok());
    assert!(g.check_literal(&Url::parse("https://any.example/").unwrap()).is_ok());
}

#[test]
fn allow_lists_parse_and_print() {
    let list: AllowList = "10.0.0.0/8, 127.0.0.1, [::1]:3000, mcp.internal:8080".parse().unwrap();
    assert_eq!(list.to_string(), "10.0.0.0/8,127.0.0.1/32,[::1]:3000,mcp.internal:8080");
    assert!("none".parse::<AllowList>().unwrap().is_empty());
    for bad in ["nonsense", "host:notaport", "10.0.0.0/99"] {
        assert!(bad.parse::<AllowList>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn the_resolver_reuses_pins_and_rechecks() {
    use reqwest::dns::Resolve as _;
    let g = guard("127.0.0.0/8", false);
    verdict(&g, "http://localhost/").await.expect_err("::1 is not allowed");
    let g = guard("127.0.0.0/8,::1", false);
    verdict(&g, "http://localhost/").await.expect("allowed");
    let resolver = resolver::GuardedResolver(g.clone());
    let addrs: Vec<_> = resolver.resolve("localhost".parse().unwrap()).await.unwrap().collect();
    assert_eq!(addrs.len(), 2);
    let refused = resolver.resolve("private.example".parse().unwrap()).await;
    assert!(refused.is_err(), "names resolved by the client are checked too");
}
