//! "Copy report" and "Download report": the Markdown report (built by `kudu_core::report`) of
//! this round and of the cleanup run beside it, for a support ticket or an issue. A preview
//! shows exactly what would be shared.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use kudu_core::report::CleanupReport;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::hooks::CleanupView;
use crate::report_text::{SharedReport, markdown_report};
use crate::round::Snapshot;

#[derive(Properties, PartialEq)]
pub struct ReportActionsProps {
    pub snapshot: Rc<Snapshot>,
    /// The cleanup run on screen, whose activity log goes into the report.
    pub cleanup: Option<Rc<CleanupView>>,
    pub site_name: AttrValue,
    pub scm_origin: AttrValue,
}

/// `data-testid="report"` with the `copy-report` and `download-report` buttons.
#[component]
pub fn ReportActions(props: &ReportActionsProps) -> Html {
    let status = use_state(|| None::<&'static str>);
    // Built once per round and cleanup update, not on every render (a status message or the
    // parent's re-render leaves the inputs unchanged).
    let report = use_memo(
        (
            props.snapshot.clone(),
            props.cleanup.clone(),
            props.site_name.clone(),
            props.scm_origin.clone(),
        ),
        |(snapshot, cleanup, site_name, scm_origin)| {
            let cleanup = cleanup.as_deref().map(|view| CleanupReport {
                kind: view.plan.kind,
                log: &view.log,
                outcome: view.outcome.as_ref(),
            });
            markdown_report(snapshot, cleanup, site_name, scm_origin)
        },
    );
    let on_copy = {
        let markdown = report.markdown.clone();
        let status = status.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(window) = web_sys::window() else {
                status.set(Some(
                    "Copy failed: use Download or select the preview instead",
                ));
                return;
            };
            let promise = window.navigator().clipboard().write_text(&markdown);
            let status = status.clone();
            spawn_local(async move {
                status.set(Some(if JsFuture::from(promise).await.is_ok() {
                    "Report copied as Markdown"
                } else {
                    "Copy failed: use Download or select the preview instead"
                }));
            });
        })
    };
    let on_download = {
        let report = report.clone();
        let status = status.clone();
        Callback::from(move |_: MouseEvent| {
            status.set(Some(if save_markdown(&report) {
                "Report downloaded"
            } else {
                "Download failed: use Copy or select the preview instead"
            }));
        })
    };
    html! {
        <section class="kd-section" data-testid="report" tabindex="-1" aria-label="Share a report">
            <h2>{ "Share a report" }</h2>
            <p>{ "A Markdown report of this diagnosis (timeline, lock, plan and any cleanup's \
                  requests and answers) to paste into a support ticket or an issue. It names the \
                  site by host only and holds no cookies, tokens or app settings." }</p>
            <p class="kd-report-buttons">
                <button type="button" class="kd-button" data-testid="copy-report" onclick={on_copy}>
                    { "Copy report" }
                </button>
                { " " }
                <button type="button" class="kd-button" data-testid="download-report"
                    data-file-name={report.file_name.clone()} onclick={on_download}>
                    { "Download report" }
                </button>
            </p>
            <p class="kd-meta" role="status" data-testid="report-status">{ status.unwrap_or("") }</p>
            <details>
                <summary>{ format!("Preview {}", report.file_name) }</summary>
                <pre class="kd-snippet" data-testid="report-preview"><code>{ report.markdown.clone() }</code></pre>
            </details>
        </section>
    }
}

/// Hands the report to the browser as a download: a Blob, an object URL and an
/// `<a download>` click; the URL is revoked once the browser has taken the file.
fn save_markdown(report: &SharedReport) -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let parts = js_sys::Array::of1(&report.markdown.as_str().into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/markdown;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return false;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return false;
    };
    let Some(anchor) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    else {
        let _ = web_sys::Url::revoke_object_url(&url);
        return false;
    };
    anchor.set_href(&url);
    anchor.set_download(&report.file_name);
    anchor.click();
    // Revoking at once can cancel the download in some browsers; a minute is plenty.
    Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    true
}
