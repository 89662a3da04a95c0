//! Where the client addressed the server, for the links the API writes.

use axum::http::{header, HeaderMap};

/// `scheme://host[:port]` as the client addressed us: the connection's own (`Host`), or what a
/// trusted proxy says it received (the first `X-Forwarded-Proto` / `X-Forwarded-Host` values).
pub(crate) fn of(headers: &HeaderMap, trust_proxy: bool) -> String {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '@', '?', '#']))
    };
    let own_host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    if trust_proxy {
        let scheme =
            first("x-forwarded-proto").filter(|p| p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("http"));
        let host = first("x-forwarded-host").unwrap_or(own_host);
        return format!("{}://{host}", scheme.map_or("http".into(), str::to_ascii_lowercase));
    }
    format!("http://{own_host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.insert("x-forwarded-proto", "https, http".parse().unwrap());
        h.insert("x-forwarded-host", "backup.example.com".parse().unwrap());
        assert_eq!(of(&h, false), "http://127.0.0.1:8080");
        assert_eq!(of(&h, true), "https://backup.example.com");
        h.insert("x-forwarded-host", "evil.example/path".parse().unwrap());
        h.insert("x-forwarded-proto", "gopher".parse().unwrap());
        assert_eq!(of(&h, true), "http://127.0.0.1:8080");
    }
}
