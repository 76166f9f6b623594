//! The wizard's "Paste the error you got" box in headless Chromium: it is labelled, the text
//! goes to the core with the site's replies (an ARM swap conflict on an idle site becomes its
//! own cause, not "no lock found"), what it was read as is announced, and the user's text is
//! rendered as text.
#![cfg(target_arch = "wasm32")]

mod dom_queries;

use std::rc::Rc;
use std::time::Duration;

use dom_queries::DomQueries;
use kudu_core::plan::{PlanKind, plan};
use kudu_core::session::Observed;
use kudu_core::{IsDeploying, Session, Timestamp};
use kudu_doctor::MountHandle;
use kudu_doctor::testing::{RoundOutcome, SiteFacts, Snapshot, UiOptions, mount_with_outcomes};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

const ARM_SWAP: &str = "Cannot modify this site because another operation is in progress. Details: Id: 4e8e, OperationName: SwapSiteSlots, CreatedTime: 5/22/2024 12:34:56 PM";
const HOSTILE: &str = "<img src=x onerror=\"window.__kd_pasted_pwned=1\">";

/// An idle Linux site as the core reads it: nothing deploying, no lock, nothing left over.
fn idle_site() -> Session {
    let mut s = Session::new();
    s.deployments = Observed::Value(vec![]);
    s.latest = Observed::Missing;
    s.locks_dir = Observed::Value(vec![]);
    s.is_deploying = Observed::Value(IsDeploying {
        deploying: false,
        message: String::new(),
    });
    s.info_lock = Observed::Missing;
    s.deployments_dir = Observed::Value(vec![]);
    s.wwwroot_dir = Observed::Value(vec![]);
    s.active_file = Observed::Missing;
    for key in kudu_core::reads::SETTINGS_READ {
        s.settings.insert((*key).to_string(), Observed::Value(None));
    }
    s
}

fn diagnosed(session: Session) -> RoundOutcome {
    let now = Timestamp::from_unix_millis(js_sys::Date::now() as i64);
    let diagnosis = session.diagnose(now);
    let plan = plan(&session, &diagnosis, PlanKind::Targeted);
    RoundOutcome::Diagnosed(Rc::new(Snapshot {
        diagnosis,
        plan: Rc::new(plan),
        site: SiteFacts::default(),
        failed_reads: vec![],
        clock_offset_ms: 0,
        session: Rc::new(session),
    }))
}

struct Mounted {
    container: Element,
    _handle: MountHandle,
}

impl DomQueries for Mounted {
    fn root(&self) -> &Element {
        &self.container
    }
}

async fn settle() {
    yew::platform::time::sleep(Duration::from_millis(40)).await;
}

async fn mount(outcome: RoundOutcome) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    let container = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&container).unwrap();
    let handle = mount_with_outcomes(container.clone(), UiOptions::default(), None, vec![outcome]);
    let mounted = Mounted {
        container,
        _handle: handle,
    };
    for _ in 0..50 {
        settle().await;
        if mounted.find("[data-testid=pasted-error]").is_some() {
            break;
        }
    }
    mounted
}

impl Mounted {
    async fn paste(&self, text: &str) {
        let area: HtmlTextAreaElement = self
            .one("[data-testid=pasted-error-text]")
            .dyn_into()
            .unwrap();
        area.set_value(text);
        self.one("[data-testid=pasted-error-submit]")
            .dyn_into::<HtmlElement>()
            .unwrap()
            .click();
        settle().await;
    }

    fn causes(&self) -> Vec<String> {
        self.all("[data-testid=diagnosis] [data-cause]")
            .iter()
            .filter_map(|e| e.get_attribute("data-cause"))
            .collect()
    }
}

#[wasm_bindgen_test]
async fn a_pasted_arm_conflict_on_an_idle_site_is_its_own_cause() {
    let m = mount(diagnosed(idle_site())).await;
    assert!(
        m.causes().contains(&"no-lock-found".to_string()),
        "{:?}",
        m.causes()
    );
    assert!(m.find("[data-testid=pasted-error-kind]").is_none());

    m.paste(&format!("{HOSTILE}\n{ARM_SWAP}")).await;

    let causes = m.causes();
    assert_eq!(
        causes.first().map(String::as_str),
        Some("site-operation-in-progress"),
        "{causes:?}"
    );
    assert!(!causes.contains(&"no-lock-found".to_string()), "{causes:?}");
    let kind = m.one("[data-testid=pasted-error-kind]");
    assert_eq!(
        kind.get_attribute("data-kind").as_deref(),
        Some("site-operation-in-progress")
    );
    assert_eq!(kind.get_attribute("role").as_deref(), Some("status"));
    assert!(
        kind.text_content()
            .unwrap_or_default()
            .contains("SwapSiteSlots"),
        "{:?}",
        kind.text_content()
    );
}

#[wasm_bindgen_test]
async fn the_box_is_labelled_and_the_users_text_stays_text() {
    let m = mount(diagnosed(idle_site())).await;
    assert!(
        m.text("label[for=kd-pasted-text]")
            .contains("Paste the error")
    );
    assert_eq!(
        m.one("#kd-pasted-text")
            .get_attribute("data-testid")
            .as_deref(),
        Some("pasted-error-text")
    );

    m.paste(&format!("{HOSTILE} Conflict (CODE: 409)")).await;

    assert!(
        m.find("[data-testid=kudu-doctor] img").is_none(),
        "markup from the box was rendered"
    );
    let pwned =
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__kd_pasted_pwned".into()).unwrap();
    assert!(pwned.is_undefined());
    assert_eq!(
        m.one("[data-testid=pasted-error-kind]")
            .get_attribute("data-kind")
            .as_deref(),
        Some("unknown")
    );
    // Blank text forgets it: the diagnosis is the site's alone again.
    m.paste("   ").await;
    assert!(m.find("[data-testid=pasted-error-kind]").is_none());
    assert!(
        m.causes().contains(&"no-lock-found".to_string()),
        "{:?}",
        m.causes()
    );
}
