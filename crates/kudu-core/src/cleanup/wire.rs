//! What a shell and a run exchange: the requests [`CleanupRun::poll_requests`] hands out and
//! the replies that come back through [`CleanupRun::handle_reply`]. Plain data: the shell
//! sends the request as it is and reports what came back, failures below HTTP included.

use serde::Serialize;

use crate::parse::sign_in;
use crate::reads::HttpReply;

#[cfg(doc)]
use super::CleanupRun;

/// A request id, unique within one run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub struct RequestId(pub u64);

/// Why a request is sent.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RequestPurpose {
    /// Download the zip of a plan step (`step` indexes `plan.steps`).
    Backup { step: usize },
    /// Re-read before the destructive steps of `group`.
    Recheck { group: u32 },
    /// A deployment log a later re-check names, read while the backup downloads so that the
    /// re-check knows which child log to read in the same round.
    LogPrefetch,
    /// The VFS listing of a folder being backed up, read beside its zip: every file it lists
    /// must be in the archive with the listed size.
    BackupListing,
    /// A destructive plan step, sent exactly as planned.
    Step { step: usize },
    /// Re-read the Linux deployment lock after an unclear answer to the step that releases it
    /// (`step`), before that release may go again.
    LockCheck { step: usize },
    /// Is Kudu answering again after its restart?
    WaitForKudu,
    /// The final read.
    Verify,
}

/// One HTTP request for the shell to send, relative to the SCM origin.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct RunRequest {
    pub id: RequestId,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    /// Hand the body back as bytes ([`ReplyBody::Bytes`]): it is a zip.
    pub keep_bytes: bool,
    pub purpose: RequestPurpose,
}

/// A reply body as the shell read it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ReplyBody {
    Bytes(Vec<u8>),
    Text(String),
}

impl Default for ReplyBody {
    fn default() -> Self {
        ReplyBody::Text(String::new())
    }
}

impl ReplyBody {
    pub(super) fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            ReplyBody::Bytes(b) => String::from_utf8_lossy(b),
            ReplyBody::Text(t) => std::borrow::Cow::Borrowed(t),
        }
    }
}

/// What came back for a [`RunRequest`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RunReply {
    /// 0 when there was no HTTP answer (network error, opaque redirect).
    pub status: u16,
    pub content_type: Option<String>,
    /// Headers that matter, names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
    /// Set when the request failed below HTTP (timeout, connection reset).
    pub transport_error: Option<String>,
}

impl RunReply {
    /// A text answer (JSON, HTML, plain text).
    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        RunReply {
            status,
            content_type: Some(content_type.to_string()),
            body: ReplyBody::Text(body.into()),
            ..RunReply::default()
        }
    }

    /// A binary answer (a zip).
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        RunReply {
            status,
            content_type: Some(content_type.to_string()),
            body: ReplyBody::Bytes(body),
            ..RunReply::default()
        }
    }

    /// No HTTP answer at all.
    pub fn transport_error(error: impl Into<String>) -> Self {
        RunReply {
            transport_error: Some(error.into()),
            ..RunReply::default()
        }
    }

    pub(super) fn to_http(&self) -> HttpReply {
        HttpReply {
            status: self.status,
            content_type: self.content_type.clone(),
            body: self.body.text().into_owned(),
            headers: self.headers.clone(),
            transport_error: self.transport_error.clone(),
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Worth sending a read again: no answer, a server error or a gateway/unavailable status.
    pub(super) fn is_transient(&self) -> bool {
        self.transport_error.is_some() || matches!(self.status, 500 | 502..=504)
    }

    /// The front end asking for a sign-in instead of Kudu answering (see
    /// [`is_sign_in_reply`](crate::parse::sign_in::is_sign_in_reply)). Only the start of a
    /// byte body is looked at: a zip is not copied to find out it is not a web page.
    pub(super) fn is_sign_in(&self) -> bool {
        let start = match &self.body {
            ReplyBody::Text(text) => std::borrow::Cow::Borrowed(text.as_str()),
            ReplyBody::Bytes(bytes) => {
                let from = bytes
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(bytes.len());
                let to = bytes.len().min(from + SNIFFED_BYTES);
                String::from_utf8_lossy(&bytes[from..to])
            }
        };
        sign_in::is_sign_in(
            self.status,
            self.content_type.as_deref(),
            self.header("location"),
            &start,
            self.transport_error.as_deref(),
        )
    }
}

/// Enough of a byte body to tell a web page from a zip (the sign-in check reads at most the
/// first 300 characters).
const SNIFFED_BYTES: usize = 1024;
