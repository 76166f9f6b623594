//! Faults on demand: per-path latency, 500/503 answers, dropped connections, slow and truncated
//! bodies. Rules are matched by path prefix and can be count-limited.

use serde::{Deserialize, Serialize};

/// What a matching request suffers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Answer with this status (500, 503, ...) and a short text body instead of Kudu's answer.
    Status { status: u16 },
    /// Wait this many real milliseconds before answering.
    Latency { ms: u64 },
    /// Close the connection without a complete answer.
    Drop,
    /// Send the body in small chunks, `chunk_delay_ms` apart.
    SlowBody { chunk_delay_ms: u64 },
    /// Cut the body in half (a JSON body no longer parses).
    TruncateBody,
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Matches request paths starting with this (e.g. `/api/deployments`).
    pub prefix: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it hits before it retires; `None` = forever.
    #[serde(default)]
    pub count: Option<u32>,
}

/// The active rules.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// The faults that hit a request to `path`, counting them down.
    pub fn take(&mut self, path: &str) -> Vec<FaultKind> {
        let mut hit = Vec::new();
        for rule in &mut self.rules {
            if path.starts_with(&rule.prefix) && rule.count != Some(0) {
                hit.push(rule.kind.clone());
                if let Some(n) = rule.count.as_mut() {
                    *n -= 1;
                }
            }
        }
        self.rules.retain(|r| r.count != Some(0));
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_limited_rules_retire() {
        let mut faults = Faults {
            rules: vec![FaultRule {
                prefix: "/api/deployments".into(),
                kind: FaultKind::Status { status: 503 },
                count: Some(1),
            }],
        };
        assert_eq!(faults.take("/api/vfs/"), vec![]);
        assert_eq!(
            faults.take("/api/deployments/latest"),
            vec![FaultKind::Status { status: 503 }]
        );
        assert_eq!(faults.take("/api/deployments"), vec![]);
        assert!(faults.rules.is_empty());
    }

    #[test]
    fn rules_parse_from_json() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"prefix":"/api","kind":"status","status":500,"count":2}"#)
                .unwrap();
        assert_eq!(rule.kind, FaultKind::Status { status: 500 });
        assert_eq!(rule.count, Some(2));
    }
}
