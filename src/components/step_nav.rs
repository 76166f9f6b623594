//! The wizard's steps as an ordered list; the current one carries `aria-current="step"`.

use yew::prelude::*;

use crate::state::WizardStep;

/// Steps 1–4; choosing one moves focus to its section. A view function, not a component: it
/// has no state, and each component type costs the wasm its own copy of Yew's lifecycle code.
pub fn step_nav(current: WizardStep, on_select: &Callback<WizardStep>) -> Html {
    html! {
        <nav class="kd-steps" aria-label="Steps">
            <ol>
                { for WizardStep::ALL.iter().enumerate().map(|(index, step)| {
                    let step = *step;
                    let is_current = step == current;
                    let onclick = on_select.reform(move |_: MouseEvent| step);
                    html! {
                        <li key={step.testid()}>
                            <button
                                type="button"
                                class={classes!("kd-step", is_current.then_some("kd-current"))}
                                aria-current={is_current.then_some("step")}
                                data-step={step.testid()}
                                {onclick}
                            >
                                <span class="kd-step-number" aria-hidden="true">
                                    { index + 1 }
                                </span>
                                { step.title() }
                            </button>
                        </li>
                    }
                }) }
            </ol>
        </nav>
    }
}
