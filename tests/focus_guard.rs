//! Issue 16: a confirm ignores clicks for a moment after the page gains focus, so a page that
//! brings the wizard to the front under the user's pointer cannot turn a click meant for
//! itself into a "Confirm". Every destructive confirm asks `TrustGate::runs`, so this tests
//! the one gate they share.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use kudu_doctor::testing::{RoundFailure, RoundOutcome, TrustGate, UiOptions, mount_with_cleanup};
use wasm_bindgen_test::*;
use web_sys::Event;

wasm_bindgen_test_configure!(run_in_browser);

/// The gate as the cleanup tests loosen it: synthetic clicks count, so only the focus rule
/// can say no.
const SYNTHETIC: TrustGate = TrustGate {
    synthetic_opens: true,
    synthetic_runs: true,
    synthetic_receipts: true,
};

#[wasm_bindgen_test]
async fn a_confirm_ignores_clicks_just_after_the_page_gains_focus() {
    let document = web_sys::window().unwrap().document().unwrap();
    let container = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&container).unwrap();
    let kudu: kudu_doctor::testing::ScriptedKudu =
        std::rc::Rc::new(|_| kudu_core::cleanup::RunReply::transport_error("no Kudu in this test"));
    let _handle = mount_with_cleanup(
        container,
        UiOptions::default(),
        None,
        vec![RoundOutcome::Failed(RoundFailure::Unreachable {
            failures: Vec::new(),
        })],
        kudu,
        SYNTHETIC,
    );
    yew::platform::time::sleep(Duration::from_millis(50)).await;
    let click = || Event::new("click").unwrap();
    assert!(SYNTHETIC.runs(&click()), "no focus yet: the gate is open");

    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&Event::new("focus").unwrap())
        .unwrap();
    assert!(
        !SYNTHETIC.runs(&click()),
        "a click right after the page gained focus started a run"
    );
    assert!(
        SYNTHETIC.opens(&click()),
        "opening a confirmation is not delayed"
    );
    yew::platform::time::sleep(Duration::from_millis(300)).await;
    assert!(!SYNTHETIC.runs(&click()), "still within the settle time");
    yew::platform::time::sleep(Duration::from_millis(400)).await;
    assert!(
        SYNTHETIC.runs(&click()),
        "the gate reopens once focus settled"
    );
}
