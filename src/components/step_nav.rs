//! The wizard's steps as an ordered list; the current one carries `aria-current="step"`.

use yew::prelude::*;

use crate::state::WizardStep;

#[derive(Properties, PartialEq)]
pub struct StepNavProps {
    pub current: WizardStep,
    pub on_select: Callback<WizardStep>,
}

/// Steps 1–4; choosing one moves focus to its section.
#[component]
pub fn StepNav(props: &StepNavProps) -> Html {
    html! {
        <nav class="kd-steps" aria-label="Steps">
            <ol>
                { for WizardStep::ALL.iter().enumerate().map(|(index, step)| {
                    let step = *step;
                    let current = step == props.current;
                    let onclick = props.on_select.reform(move |_: MouseEvent| step);
                    html! {
                        <li key={step.testid()}>
                            <button
                                type="button"
                                class={classes!("kd-step", current.then_some("kd-current"))}
                                aria-current={current.then_some("step")}
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
