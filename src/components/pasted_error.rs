//! "Paste the error you got": the user's own error text (a CI log's lines, `az`'s output, a
//! portal message) goes to the core, which classifies it and weighs it against what the site
//! shows; the box then says what the text was read as. The text is the user's, but it is
//! rendered as text all the same, never as markup.

use std::rc::Rc;

use kudu_core::Conflict;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

/// The most characters the box takes; the core keeps the first 4,000 of them.
const MAX_CHARS: &str = "20000";

#[derive(Properties, PartialEq)]
pub struct PastedErrorProps {
    /// What the core made of the text pasted last, if any.
    pub classified: Option<Rc<Conflict>>,
    /// The text the user submitted (empty: forget it).
    pub on_submit: Callback<String>,
    /// A round is reading the site: the text is taken once it has settled.
    pub busy: bool,
}

/// `data-testid="pasted-error"`.
#[component]
pub fn PastedErrorBox(props: &PastedErrorProps) -> Html {
    let input = use_node_ref();
    let onsubmit = {
        let input = input.clone();
        let on_submit = props.on_submit.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if let Some(area) = input.cast::<HtmlTextAreaElement>() {
                on_submit.emit(area.value());
            }
        })
    };
    html! {
        <section class="kd-section kd-pasted" data-testid="pasted-error"
            aria-labelledby="kd-pasted-heading">
            <h2 id="kd-pasted-heading">{ "The error you got" }</h2>
            <form {onsubmit}>
                <label for="kd-pasted-text">
                    { "Paste the error your deployment got (from the pipeline log, az or the \
                       portal). It stays in this page and is read together with what the site \
                       shows." }
                </label>
                <textarea id="kd-pasted-text" ref={input} data-testid="pasted-error-text"
                    rows="4" spellcheck="false" maxlength={MAX_CHARS}
                    placeholder="Conflict (CODE: 409) …" />
                <button type="submit" class="kd-button" data-testid="pasted-error-submit"
                    disabled={props.busy}>
                    { "Read this error" }
                </button>
            </form>
            if let Some(classified) = &props.classified {
                <p role="status" data-testid="pasted-error-kind"
                    data-kind={classified.kind.as_str()}>
                    { format!("Read as {}.", classified.kind.describe()) }
                    if let Some(operation) = &classified.holder_operation {
                        { " The operation: " }<code>{ operation.clone() }</code>{ "." }
                    }
                </p>
            }
        </section>
    }
}
