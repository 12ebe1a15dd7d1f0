//! Which addresses are special-use (not the public internet).
//!
//! Addresses are canonicalised first: an IPv4-mapped IPv6 address
//! (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries, and the
//! NAT64 / 6to4 prefixes by the IPv4 address they embed. (Octal, hex and
//! short IPv4 spellings in URLs are already canonicalised by the URL parser.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IP address as it will be judged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `Some(range name)` for special-use addresses, `None` for public ones.
pub fn special_use(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// Link-local addresses (including cloud metadata at 169.254.169.254) are never
/// allowed implicitly, not even where loopback is.
pub fn is_link_local(ip: IpAddr) -> bool {
    matches!(special_use(ip), Some("link-local"))
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "unspecified",
        (10, ..) => "private",
        (100, 64..=127, _) => "carrier-grade NAT",
        (127, ..) => "loopback",
        (169, 254, _) => "link-local",
        (172, 16..=31, _) => "private",
        (192, 0, 0) => "IETF protocol assignments",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 88, 99) => "6to4 relay",
        (192, 168, _) => "private",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    Some(match segments {
        // 64:ff9b::/96 NAT64 and 64:ff9b:1::/48 local NAT64: judge the embedded IPv4.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return special_v4(embedded_v4(hi, lo)),
        [0x64, 0xff9b, 1, ..] => "NAT64 (local)",
        // 2002::/16 6to4: the next 32 bits are an IPv4 address.
        [0x2002, hi, lo, ..] => return special_v4(embedded_v4(hi, lo)),
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible (deprecated)",
        [0x100, 0, 0, 0, ..] => "discard",
        [0x2001, 0xdb8, ..] => "documentation",
        [0x2001, 0..=0x1ff, ..] => "IETF protocol assignments",
        [s0, ..] if s0 & 0xfe00 == 0xfc00 => "unique local (ULA)",
        [s0, ..] if s0 & 0xffc0 == 0xfe80 => "link-local",
        [s0, ..] if s0 & 0xffc0 == 0xfec0 => "site-local (deprecated)",
        [s0, ..] if s0 & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}
