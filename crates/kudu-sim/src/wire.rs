//! Requests and responses as the pure simulator sees them: plain data, no axum types, so the
//! state can be driven by scenarios and unit tests without sockets.

use std::collections::BTreeMap;

/// One HTTP request, already read in full.
#[derive(Clone, Debug, Default)]
pub struct SimRequest {
    pub method: String,
    /// The raw (still percent-encoded) path, starting with `/`.
    pub path: String,
    /// The raw query without `?`, empty when none.
    pub query: String,
    /// Header names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `http://host:port` or `https://myapp.scm.azurewebsites.net`, used for absolute URLs.
    pub base_url: String,
}

impl SimRequest {
    /// A request as the scenario driver sends it.
    pub fn new(method: &str, path_and_query: &str) -> SimRequest {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path_and_query.to_string(), String::new()),
        };
        SimRequest {
            method: method.to_string(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            base_url: "https://myapp.scm.azurewebsites.net".into(),
        }
    }

    /// Sets the body.
    pub fn with_body(mut self, body: Vec<u8>) -> SimRequest {
        self.body = body;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> SimRequest {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `path?query` as sent (Kudu keys its list ETag on PathAndQuery, facts §1.3).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }

    /// Decoded query parameters; the first occurrence wins, names compared case-insensitively
    /// as ASP.NET model binding does.
    pub fn params(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for pair in self.query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.entry(percent_decode(k).to_ascii_lowercase())
                .or_insert_with(|| percent_decode(v));
        }
        out
    }

    /// One decoded query parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().get(&name.to_ascii_lowercase()).cloned()
    }

    /// Whether the client asked for JSON (ASP.NET Core content negotiation, facts §2.5).
    pub fn accepts_json(&self) -> bool {
        self.header("accept")
            .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"))
    }
}

/// One HTTP response.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimResponse {
    pub status: u16,
    /// Header names lower-case, in the order they are sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Kudu's JSON content type.
pub const JSON: &str = "application/json; charset=utf-8";
/// A string body's content type.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";

impl SimResponse {
    /// An empty response.
    pub fn new(status: u16) -> SimResponse {
        SimResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON body with Kudu's content type.
    pub fn json(status: u16, value: &impl serde::Serialize) -> SimResponse {
        // Serialising plain data structs cannot fail; an empty body would show up in tests.
        let body = serde_json::to_vec(value).unwrap_or_default();
        SimResponse::new(status)
            .with_header("content-type", JSON)
            .with_body(body)
    }

    /// A `text/plain` body.
    pub fn text(status: u16, text: &str) -> SimResponse {
        SimResponse::new(status)
            .with_header("content-type", TEXT)
            .with_body(text.as_bytes().to_vec())
    }

    /// A `text/html` body.
    pub fn html(status: u16, html: &str) -> SimResponse {
        SimResponse::new(status)
            .with_header("content-type", HTML)
            .with_body(html.as_bytes().to_vec())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> SimResponse {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: Vec<u8>) -> SimResponse {
        self.body = body;
        self
    }

    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Decodes `%XX` escapes and `+` (query form encoding).
pub fn percent_decode(text: &str) -> String {
    decode(text, true)
}

/// Decodes `%XX` escapes in a path (where `+` is a plain character).
pub fn path_decode(text: &str) -> String {
    decode(text, false)
}

fn decode(text: &str, plus_as_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes a path segment or query value for a URL.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b c%2");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        let req = SimRequest::new("GET", "/x?Deployer=GitHub&message=hi%20there");
        assert_eq!(req.param("deployer").as_deref(), Some("GitHub"));
        assert_eq!(req.param("message").as_deref(), Some("hi there"));
    }
}
