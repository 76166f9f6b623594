//! Whether a reply is the front end asking for a sign-in instead of Kudu answering: the one
//! place that decides it, for the parsers, the cleanup run and every shell.
//!
//! Kudu has no authentication of its own; the App Service front end signs browsers in, and
//! how an expired session looks is not documented (kudu-facts 5.3). It shows as one of:
//! - 401 or 403;
//! - a redirect toward the sign-in page. `fetch` with `redirect: 'manual'` hides it as an
//!   opaque redirect with status 0, which the app's shell reports as [`REDIRECTED`]; a native
//!   client that does not follow redirects sees the 3xx and its `Location`;
//! - a 2xx whose body is the sign-in page itself (HTML where data was expected).
//!
//! A redirect to anywhere else is no sign-in: Kudu's VFS answers 307 to a folder asked for
//! without its trailing slash.

use crate::reads::HttpReply;

/// The `transport_error` a shell reports for a redirect that `fetch` stopped (an opaque
/// redirect has no status and no `Location`). Shared with the app's shell so that both sides
/// read the same text the same way.
pub const REDIRECTED: &str = "redirected (probably to a sign-in page)";

/// Whether `reply` is the front end asking the user to sign in again: 401, 403, a redirect
/// toward a sign-in page (or one `fetch` stopped), or a 2xx sign-in page.
pub fn is_sign_in_reply(reply: &HttpReply) -> bool {
    is_sign_in(
        reply.status,
        reply.content_type.as_deref(),
        reply.header("location"),
        &reply.body,
        reply.transport_error.as_deref(),
    )
}

/// [`is_sign_in_reply`] over a reply's parts, for replies that are not an [`HttpReply`] (the
/// cleanup run's, whose zip bodies stay bytes). `body_start` needs only the first few hundred
/// characters.
pub(crate) fn is_sign_in(
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body_start: &str,
    transport_error: Option<&str>,
) -> bool {
    if let Some(error) = transport_error {
        return error == REDIRECTED;
    }
    match status {
        // An opaque redirect reported as it is, without a transport error.
        0 | 401 | 403 => true,
        300..=399 => location.is_some_and(names_sign_in),
        200..=299 => {
            looks_like_html(content_type, body_start) && !looks_like_xml(content_type, body_start)
        }
        _ => false,
    }
}

/// A `Location` toward Azure AD or App Service authentication (`login.microsoftonline.com`,
/// `/.auth/login/aad`, an OAuth authorize endpoint, a `signin` page).
fn names_sign_in(location: &str) -> bool {
    let lower = location.to_ascii_lowercase();
    lower.contains("login") || lower.contains("oauth") || lower.contains("signin")
}

/// Whether a reply is a web page rather than data: a `text/html` content type, or a body that
/// opens with `<` (a login page served as 200).
pub fn looks_like_html(content_type: Option<&str>, body: &str) -> bool {
    let html_type = content_type.is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("text/html") || ct.contains("application/xhtml")
    });
    html_type
        || body
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
}

/// Kudu-W's Web API answers XML to a request that did not ask for JSON; that is a shell bug,
/// not an expired session, and must not be reported as one.
pub(crate) fn looks_like_xml(content_type: Option<&str>, body: &str) -> bool {
    let xml_type = content_type.is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        (ct.contains("/xml") || ct.contains("+xml")) && !ct.contains("xhtml")
    });
    let head: String = body.trim_start().chars().take(300).collect();
    let head = head.to_ascii_lowercase();
    xml_type
        || (head.starts_with("<?xml") && !head.contains("<html") && !head.contains("<!doctype"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_reply as reply;

    const LOGIN_PAGE: &str =
        "<!DOCTYPE html>\r\n<html dir=\"ltr\"><head><title>Sign in to your account</title>";

    fn redirect(status: u16, location: &str) -> HttpReply {
        let mut r = reply(status, "text/html", "");
        r.headers.push(("location".into(), location.into()));
        r
    }

    #[test]
    fn a_login_page_served_as_200_is_a_sign_in() {
        assert!(is_sign_in_reply(&reply(
            200,
            "text/html; charset=utf-8",
            LOGIN_PAGE
        )));
        // The content type lies, the body does not.
        assert!(is_sign_in_reply(&reply(
            200,
            "application/json",
            LOGIN_PAGE
        )));
        // An XHTML page with an XML prolog is still a page.
        let xhtml = "<?xml version=\"1.0\"?><!DOCTYPE html><html><title>Sign in</title></html>";
        assert!(is_sign_in_reply(&reply(200, "text/html", xhtml)));
    }

    #[test]
    fn a_redirect_to_sign_in_is_a_sign_in_and_other_redirects_are_not() {
        assert!(is_sign_in_reply(&redirect(302, "/.auth/login/aad")));
        assert!(is_sign_in_reply(&redirect(
            302,
            "https://login.microsoftonline.com/common/oauth2/authorize?client_id=x"
        )));
        // Kudu's own redirect of a folder to its slash form.
        assert!(!is_sign_in_reply(&redirect(
            307,
            "https://app.scm.azurewebsites.net/api/vfs/site/deployments/"
        )));
        assert!(!is_sign_in_reply(&reply(302, "text/html", "")));
    }

    #[test]
    fn authentication_errors_are_a_sign_in() {
        assert!(is_sign_in_reply(&reply(401, "text/plain", "")));
        assert!(is_sign_in_reply(&reply(403, "text/html", "Forbidden")));
    }

    #[test]
    fn a_redirect_fetch_stopped_is_a_sign_in() {
        let stopped = HttpReply {
            transport_error: Some(REDIRECTED.to_string()),
            ..HttpReply::default()
        };
        assert!(is_sign_in_reply(&stopped));
        // The same opaque redirect reported as status 0 without a transport error.
        assert!(is_sign_in_reply(&HttpReply::default()));
    }

    #[test]
    fn data_errors_and_failures_below_http_are_not() {
        for r in [
            reply(200, "application/json", "{\"id\":\"x\"}"),
            reply(204, "text/plain", ""),
            reply(404, "text/html", "<html>Not found</html>"),
            reply(
                409,
                "application/json",
                "\"There is a deployment currently in progress.\"",
            ),
            reply(500, "text/html", "<html>Server Error</html>"),
            reply(502, "text/html", LOGIN_PAGE),
            // Kudu-W's XML, answered to a request without `Accept: application/json`.
            reply(
                200,
                "application/xml; charset=utf-8",
                "<ArrayOfDeployResult></ArrayOfDeployResult>",
            ),
            reply(200, "", "<?xml version=\"1.0\"?><ArrayOfDeployResult/>"),
        ] {
            assert!(!is_sign_in_reply(&r), "{r:?}");
        }
        let timed_out = HttpReply {
            transport_error: Some("timed out".into()),
            ..HttpReply::default()
        };
        assert!(!is_sign_in_reply(&timed_out));
    }

    #[test]
    fn html_is_told_by_its_type_or_its_first_character() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), "{}"));
        assert!(looks_like_html(Some("application/xhtml+xml"), ""));
        assert!(looks_like_html(None, "\u{feff}  <html>"));
        assert!(!looks_like_html(Some("application/json"), "{}"));
        assert!(!looks_like_html(None, "plain text with <b>"));
    }
}
