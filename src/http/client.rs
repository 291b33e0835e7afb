//! The client as seen: its address, the scheme and the host it asked for. Computed once
//! per request, here only, from the TCP peer and — only when that peer is one of
//! `ROYAL_CARE_TRUSTED_PROXIES` — the proxy's `X-Forwarded-For`, `-Proto` and `-Host`.
//! Everyone else's `X-Forwarded-*` headers are ignored, so a client cannot pick the
//! address the login throttle counts it under. The throttle, the access log, the origin
//! check and absolute links all read `Request::client()`.

use super::parse::Head;
use crate::config::{is_trusted_proxy, ProxyNet};
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the TCP peer, or behind a trusted proxy the right-most
    /// `X-Forwarded-For` address that is not itself a trusted proxy.
    pub ip: IpAddr,
    /// `https` when a trusted proxy says so, else `http` (we never terminate TLS).
    pub scheme: &'static str,
    /// The host (and port) the client asked for: a trusted proxy's `X-Forwarded-Host`,
    /// else `Host`; empty when neither is given.
    pub host: String,
    /// True when the TCP peer is a trusted proxy.
    pub via_proxy: bool,
}

impl Client {
    /// `scheme://host`, the origin the client's browser is on.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }
}

/// The client of a request with head `head` from TCP peer `peer` (module doc).
pub fn client(head: &Head, peer: SocketAddr, trusted: &[ProxyNet]) -> Client {
    let peer_ip = peer.ip().to_canonical();
    let host = head.header("host").unwrap_or("").to_string();
    if !is_trusted_proxy(trusted, peer_ip) {
        return Client { ip: peer_ip, scheme: "http", host, via_proxy: false };
    }
    let ip = forwarded_for(head, peer_ip, trusted);
    // Proxies may append a list; the first value is what the client used.
    let first = |name: &str| head.header(name).and_then(|v| v.split(',').next()).map(str::trim);
    let scheme = match first("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = match first("x-forwarded-host") {
        Some(h) if !h.is_empty() && h.bytes().all(is_host_byte) => h.to_string(),
        _ => host,
    };
    Client { ip, scheme, host, via_proxy: true }
}

/// Walks `X-Forwarded-For` (every such header, in order) from the right past trusted
/// proxies; the first address that is not one is the client. An unreadable entry ends
/// the walk at the last trusted hop (nothing left of it can be believed); a chain of
/// trusted proxies only gives its left-most address.
fn forwarded_for(head: &Head, peer: IpAddr, trusted: &[ProxyNet]) -> IpAddr {
    let hops: Vec<&str> = head
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut seen = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { return seen };
        seen = ip;
        if !is_trusted_proxy(trusted, ip) {
            return ip;
        }
    }
    seen
}

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]:443` or `1.2.3.4:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip().to_canonical())
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> Head {
        let mut raw = String::from("GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n");
        for (k, v) in headers {
            raw.push_str(&format!("{k}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        crate::http::parse::parse_head(raw.as_bytes()).unwrap().unwrap().0
    }

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    const CADDY: &str = "127.0.0.1:40000";

    #[test]
    fn an_untrusted_peers_forwarded_headers_are_ignored() {
        let h = head(&[("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil")]);
        let c = client(&h, "10.0.0.5:1234".parse().unwrap(), &nets(&["127.0.0.1"]));
        assert_eq!(
            c,
            Client { ip: "10.0.0.5".parse().unwrap(), scheme: "http", host: "127.0.0.1:8000".into(), via_proxy: false }
        );
        // With no trusted proxy at all, not even the loopback is believed.
        let c = client(&h, CADDY.parse().unwrap(), &[]);
        assert_eq!(c.ip.to_string(), "127.0.0.1");
        assert_eq!(c.scheme, "http");
    }

    #[test]
    fn a_trusted_proxy_is_believed_for_address_scheme_and_host() {
        let h = head(&[
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "care.example.ph"),
        ]);
        let c = client(&h, CADDY.parse().unwrap(), &nets(&["127.0.0.1"]));
        assert_eq!(c.ip.to_string(), "203.0.113.7");
        assert_eq!(c.origin(), "https://care.example.ph");
        assert!(c.via_proxy);
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        // The client wrote "6.6.6.6" itself; the proxies appended what they saw.
        let h = head(&[("X-Forwarded-For", "6.6.6.6, 203.0.113.7"), ("X-Forwarded-For", "10.1.2.3")]);
        assert_eq!(client(&h, CADDY.parse().unwrap(), &trusted).ip.to_string(), "203.0.113.7");
        let h = head(&[("X-Forwarded-For", "10.9.9.9, 10.1.2.3")]);
        assert_eq!(client(&h, CADDY.parse().unwrap(), &trusted).ip.to_string(), "10.9.9.9");
        let h = head(&[("X-Forwarded-For", "[2001:db8::1]:443")]);
        assert_eq!(client(&h, CADDY.parse().unwrap(), &trusted).ip.to_string(), "2001:db8::1");
        // Garbage stops the walk at the last hop that could be believed.
        let h = head(&[("X-Forwarded-For", "203.0.113.7, junk, 10.1.2.3")]);
        assert_eq!(client(&h, CADDY.parse().unwrap(), &trusted).ip.to_string(), "10.1.2.3");
        // No header: the proxy itself.
        assert_eq!(client(&head(&[]), CADDY.parse().unwrap(), &trusted).ip.to_string(), "127.0.0.1");
    }

    #[test]
    fn odd_forwarded_proto_and_host_fall_back() {
        let h = head(&[("X-Forwarded-Proto", "gopher"), ("X-Forwarded-Host", "a b/c")]);
        let c = client(&h, CADDY.parse().unwrap(), &nets(&["127.0.0.1"]));
        assert_eq!(c.origin(), "http://127.0.0.1:8000");
    }
}
