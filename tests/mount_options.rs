//! The mount options (`src/lib.rs`, read with serde-wasm-bindgen): missing, `undefined` or
//! `null` keys take their defaults, unknown keys are ignored, a wrong type is refused, and
//! options that are not an object are refused.
#![cfg(target_arch = "wasm32")]

use kudu_doctor::mount;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn container() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let element = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&element).unwrap();
    element
}

fn options(entries: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in entries {
        js_sys::Reflect::set(&object, &(*key).into(), value).unwrap();
    }
    object.into()
}

fn refused(options: JsValue) -> String {
    match mount(container(), options, None) {
        Ok(_) => panic!("accepted"),
        Err(error) => JsValue::from(error)
            .dyn_into::<js_sys::Error>()
            .map(|error| String::from(error.message()))
            .unwrap_or_default(),
    }
}

#[wasm_bindgen_test]
fn defaults_nulls_and_unknown_keys_are_accepted() {
    let mut handles = vec![
        mount(container(), JsValue::UNDEFINED, None).unwrap(),
        mount(container(), JsValue::NULL, None).unwrap(),
        mount(container(), options(&[]), None).unwrap(),
        mount(
            container(),
            options(&[
                ("origin", JsValue::NULL),
                ("autoOpen", JsValue::NULL),
                ("embedded", JsValue::TRUE),
                ("open", JsValue::UNDEFINED),
                ("prefetched", js_sys::Object::new().into()),
                ("somethingElse", 5.into()),
            ]),
            None,
        )
        .unwrap(),
    ];
    for handle in &mut handles {
        handle.unmount();
    }
}

#[wasm_bindgen_test]
fn wrong_types_are_refused() {
    assert!(refused(5.into()).contains("not an object"));
    for (key, value) in [
        ("autoOpen", JsValue::from(1)),
        ("embedded", JsValue::from("yes")),
        ("open", JsValue::from(0)),
        ("origin", JsValue::from(5)),
    ] {
        let message = refused(options(&[(key, value)]));
        assert!(message.starts_with("mount options: "), "{key}: {message}");
    }
    let message = refused(options(&[("origin", "javascript:alert(1)".into())]));
    assert!(message.contains("origin"), "{message}");
}
