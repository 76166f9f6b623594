//! The timeline as a table, for screen readers and for deployments without times.

use std::rc::Rc;

use kudu_core::diagnose::TimelineMarkKind;
use yew::prelude::*;

use crate::time_text;
use crate::timeline_layout::ShownEntries;

#[derive(Properties, PartialEq)]
pub struct TimelineTableProps {
    /// What the picture shows; the table lists the same deployments and refused pushes.
    pub shown: Rc<ShownEntries>,
}

/// A folded table with one row per deployment, newest first, after the pushes Kudu refused
/// (409) in the same span.
#[component]
pub fn TimelineTable(props: &TimelineTableProps) -> Html {
    let time =
        |at: Option<kudu_core::Timestamp>| at.map_or("—".to_string(), time_text::date_time_utc);
    html! {
        <details class="kd-details">
            <summary>{ "Deployments as a table" }</summary>
            <table class="kd-table" data-testid="timeline-table">
                <thead>
                    <tr>
                        <th scope="col">{ "Status" }</th>
                        <th scope="col">{ "Began" }</th>
                        <th scope="col">{ "Ended" }</th>
                        <th scope="col">{ "Author / deployer" }</th>
                        <th scope="col">{ "Message" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for props.shown.marks.iter().rev().filter(|mark| mark.kind == TimelineMarkKind::RefusedDeployment).map(|mark| html! {
                        <tr data-refused="true">
                            <td>{ "refused (409)" }</td>
                            <td>{ time_text::date_time_utc(mark.at) }</td>
                            <td>{ "—" }</td>
                            <td>{ format!("instance {}", mark.instance) }</td>
                            <td>{ format!("{} {}", mark.method.as_deref().unwrap_or_default(), mark.path.as_deref().unwrap_or_default()) }</td>
                        </tr>
                    }) }
                    { for props.shown.entries.iter().rev().map(|entry| {
                        let deployment = &entry.deployment;
                        html! {
                            <tr data-overlap={(!entry.overlaps.is_empty()).then_some("true")}>
                                <td>{ deployment.status.as_str() }
                                    if !deployment.status_text.is_empty() {
                                        <br /><span class="kd-meta">{ &deployment.status_text }</span>
                                    }
                                    if !entry.overlaps.is_empty() { { " (overlaps)" } }
                                </td>
                                <td>{ time(entry.begin) }</td>
                                <td>{ if entry.end.is_none() { "running".to_string() } else { time(entry.end) } }</td>
                                <td>{ format!("{} / {}", deployment.author, deployment.deployer) }</td>
                                <td>{ &deployment.message }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </details>
    }
}
