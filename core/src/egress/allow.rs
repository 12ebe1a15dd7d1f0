//! `SWITCHBOARD_EGRESS_ALLOW`: comma-separated CIDRs (`10.0.0.0/8`, `::1/128`,
//! a bare IP) and `host:port` pairs (`mcp.internal:8080`, `[::1]:3000`), or `none`.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<IpNet>,
    host_ports: Vec<(String, u16)>,
}

impl AllowList {
    /// Loopback only (embedded mode's default: test a server on your own machine).
    pub fn loopback() -> Self {
        Self {
            nets: vec!["127.0.0.0/8".parse().expect("valid"), "::1/128".parse().expect("valid")],
            host_ports: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.host_ports.is_empty()
    }

    /// Whether a special-use address is allowed for `host:port`. With the port
    /// unknown (`None`, at name resolution), `host:port` entries match any port.
    /// Link-local addresses pass only through an explicit CIDR.
    pub fn permits(&self, host: &str, ip: IpAddr, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let by_net = self
            .nets
            .iter()
            .any(|net| net.contains(&ip) && (net.prefix_len() > 0 || !super::ranges::is_link_local(ip)));
        let by_host = || {
            self.host_ports.iter().any(|(h, p)| {
                port.is_none_or(|port| port == *p) && (h.eq_ignore_ascii_case(host) || h.parse() == Ok(ip))
            })
        };
        by_net || (by_host() && !super::ranges::is_link_local(ip))
    }
}

impl std::fmt::Display for AllowList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let nets = self.nets.iter().map(ToString::to_string);
        let hosts = self.host_ports.iter().map(|(h, p)| {
            if h.contains(':') {
                format!("[{h}]:{p}")
            } else {
                format!("{h}:{p}")
            }
        });
        f.write_str(&nets.chain(hosts).collect::<Vec<_>>().join(","))
    }
}

impl FromStr for AllowList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut list = Self::default();
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(list);
        }
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                list.nets.push(net.trunc());
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                list.nets.push(IpNet::from(ip));
            } else if let Some((host, port)) = entry.rsplit_once(':') {
                let port: u16 = port.parse().map_err(|_| format!("`{entry}`: bad port"))?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() || host.contains('/') {
                    return Err(format!("`{entry}`: expected host:port"));
                }
                list.host_ports.push((host.to_ascii_lowercase(), port));
            } else {
                return Err(format!("`{entry}` is neither a CIDR nor host:port"));
            }
        }
        Ok(list)
    }
}
