//! Finding elements in a mounted app, shared by the wasm test crates (`mod dom_queries;`).

use wasm_bindgen::JsCast;
use web_sys::Element;

/// Queries inside the element the app was mounted into.
pub trait DomQueries {
    /// The element the app was mounted into.
    fn root(&self) -> &Element;

    fn all(&self, selector: &str) -> Vec<Element> {
        let list = self.root().query_selector_all(selector).unwrap();
        (0..list.length())
            .map(|i| list.item(i).unwrap().dyn_into().unwrap())
            .collect()
    }

    fn find(&self, selector: &str) -> Option<Element> {
        self.root().query_selector(selector).unwrap()
    }

    fn one(&self, selector: &str) -> Element {
        self.find(selector)
            .unwrap_or_else(|| panic!("no element matches {selector}"))
    }

    fn text(&self, selector: &str) -> String {
        self.one(selector).text_content().unwrap_or_default()
    }
}
