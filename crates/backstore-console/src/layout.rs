//! The page every screen is drawn in, and the small pieces they share.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::api::Failure;
use crate::session::Signed;

/// A whole page: the navigation (for a signed-in person), a heading and `body`.
pub fn page(title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    fed_page(title, signed, None, body)
}

/// A page that the script keeps up to date from the server-sent events at `events`.
pub fn fed_page(title: &str, signed: Option<&Signed>, events: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · backstore" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/console/overview" { "backstore" }
                    @if let Some(s) = signed {
                        nav aria-label="Main" {
                            a href="/console/overview" { "Overview" }
                            a href="/console/units" { "Protection units" }
                        }
                        div.who {
                            span { (s.name) " · " (s.tenant) }
                            @if s.read_only { " " span.badge.readonly { "read-only" } }
                            form method="post" action="/console/sign-out" {
                                input type="hidden" name="_csrf" value=(s.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" data-events=[events] {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A refusal shown as the API stated it.
pub fn failure(f: &Failure) -> Markup {
    html! {
        div.error role="alert" {
            strong { (f.code) } " (" (f.status.as_u16()) "): " (f.message)
            @if f.is_unauthenticated() { " " a href="/console/sign-in" { "Sign in again" } }
        }
    }
}

/// A page that only shows a refusal, with its status.
pub fn failure_page(signed: Option<&Signed>, title: &str, f: &Failure) -> Response {
    let status =
        if f.status.is_client_error() || f.status.is_server_error() { f.status } else { StatusCode::BAD_GATEWAY };
    (status, page(title, signed, failure(f))).into_response()
}

/// A byte count as a person reads it.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// An RFC 3339 time as `2026-12-04 17:40 UTC` (what is not a time is shown as it is).
pub fn when(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// A JSON value's text (`""` for none).
pub fn text(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A status as a badge whose class names it (for its color).
pub fn badge(status: &str) -> Markup {
    html! { span class={ "badge s-" (status) } { (status) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_as_people_write_them() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(when("2026-12-04T17:40:05.5Z"), "2026-12-04 17:40 UTC");
        assert_eq!(when("soon"), "soon");
    }
}
