//! Step 2: recent deployments as bars on a UTC time axis, coloured by outcome, overlaps
//! outlined and the conflicting push marked. Each bar is focusable; focus or hover shows its
//! deployer, author, message, status and times as text below the picture.

use std::rc::Rc;

use kudu_core::Timestamp;
use kudu_core::diagnose::{Timeline, TimelineEntry};
use yew::prelude::*;

use crate::components::timeline_table::TimelineTable;
use crate::time_text;
use crate::timeline_layout::{Bar, layout, shown_entries, svg_number};

const WIDTH: f64 = 420.0;
const LANE_HEIGHT: f64 = 16.0;
const LANE_GAP: f64 = 6.0;
const TOP: f64 = 12.0;
const AXIS_HEIGHT: f64 = 22.0;
/// Most deployments drawn (and listed in the table), newest kept.
pub const MAX_SHOWN: usize = 40;

#[derive(Properties, PartialEq)]
pub struct TimelinePanelProps {
    pub timeline: Rc<Timeline>,
    /// When the diagnosis was made: open deployments are drawn up to it.
    pub now: Timestamp,
    /// The deployment list could not be read (an empty list then says nothing).
    #[prop_or_default]
    pub unread: bool,
}

/// `data-testid="timeline"`: the SVG, a detail line and a table fallback.
#[component]
pub fn TimelinePanel(props: &TimelinePanelProps) -> Html {
    let focused = use_state(|| None::<usize>);
    // A site with a huge history must not freeze the page: draw the recent ones only, and
    // leftover temp folders as one line.
    let shown = use_memo(props.timeline.clone(), |timeline| {
        shown_entries(timeline, MAX_SHOWN)
    });
    let entries = &shown.entries[..];
    let geometry = layout(entries, props.now, WIDTH);
    let lanes_height = geometry.lanes as f64 * (LANE_HEIGHT + LANE_GAP);
    let axis_y = TOP + lanes_height + 2.0;
    let height = axis_y + AXIS_HEIGHT;
    let detail = focused
        .and_then(|index| entries.get(index))
        .map(detail_line)
        .unwrap_or_else(|| "Focus or point at a bar to see who deployed what.".to_string());
    html! {
        <section class="kd-section" data-testid="timeline" tabindex="-1" aria-label="Timeline">
            <h2>{ "Timeline" }</h2>
            if entries.is_empty() && props.unread {
                <p>{ "The deployment list could not be read." }</p>
            } else if entries.is_empty() {
                <p>{ "Kudu lists no deployments for this site." }</p>
                if shown.leftover_temps > 0 {
                    <p class="kd-meta" data-testid="timeline-leftover-temps">
                        { leftover_temps_line(shown.leftover_temps) }
                    </p>
                }
            } else {
                <svg
                    class="kd-timeline-svg"
                    viewBox={format!("0 0 {} {}", svg_number(WIDTH), svg_number(height))}
                    role="group"
                    aria-label="Recent deployments on a time axis, UTC"
                >
                    <defs>
                        <pattern id="kd-hatch" patternUnits="userSpaceOnUse" width="6" height="6"
                            patternTransform="rotate(45)">
                            <rect class="kd-hatch-stripe" width="3" height="6" />
                        </pattern>
                    </defs>
                    <line class="kd-axis" x1="0" x2={svg_number(WIDTH)}
                        y1={svg_number(axis_y)} y2={svg_number(axis_y)} />
                    { for geometry.ticks.iter().map(|tick| html! {
                        <g class="kd-tick">
                            <line x1={svg_number(tick.x)} x2={svg_number(tick.x)}
                                y1={svg_number(TOP - 4.0)} y2={svg_number(axis_y + 3.0)} />
                            <text x={svg_number(tick.x)} y={svg_number(axis_y + 15.0)}
                                text-anchor={tick_anchor(tick.x)}>{ &tick.label }</text>
                        </g>
                    }) }
                    { for geometry.bars.iter().map(|bar| {
                        let entry = &entries[bar.entry];
                        let index = bar.entry;
                        let show = { let focused = focused.clone(); Callback::from(move |_: FocusEvent| focused.set(Some(index))) };
                        let hover = { let focused = focused.clone(); Callback::from(move |_: MouseEvent| focused.set(Some(index))) };
                        bar_view(bar, entry, show, hover)
                    }) }
                </svg>
                <p class="kd-detail" data-testid="timeline-detail" aria-live="polite">{ detail }</p>
                <ul class="kd-legend" aria-label="Legend">
                    { for ["success", "failed", "cancelled", "running", "partial"].iter().map(|outcome| html! {
                        <li><span class={classes!("kd-swatch", format!("kd-{outcome}"))} aria-hidden="true"></span>{ *outcome }</li>
                    }) }
                    <li><span class="kd-swatch kd-overlap-swatch" aria-hidden="true"></span>{ "overlap" }</li>
                    <li><span class="kd-marker-swatch" aria-hidden="true">{ "▼" }</span>{ "conflicting push" }</li>
                </ul>
                if shown.of > entries.len() {
                    <p class="kd-meta">
                        { format!("The {} most recent of {} deployments are shown.", entries.len(), shown.of) }
                    </p>
                }
                if shown.leftover_temps > 0 {
                    <p class="kd-meta" data-testid="timeline-leftover-temps">
                        { leftover_temps_line(shown.leftover_temps) }
                    </p>
                }
                if geometry.untimed > 0 {
                    <p class="kd-meta">
                        { format!("{} deployment(s) without times are only in the table.", geometry.untimed) }
                    </p>
                }
                <TimelineTable shown={shown.clone()} />
            }
        </section>
    }
}

fn bar_view(
    bar: &Bar,
    entry: &TimelineEntry,
    onfocus: Callback<FocusEvent>,
    onmouseenter: Callback<MouseEvent>,
) -> Html {
    let y = TOP + bar.lane as f64 * (LANE_HEIGHT + LANE_GAP);
    let detail = detail_line(entry);
    let marker = format!(
        "M{},{} l-4,-7 h8 z",
        svg_number(bar.x + bar.width / 2.0),
        svg_number(y - 1.0)
    );
    let (x, y, width, height) = (
        svg_number(bar.x),
        svg_number(y),
        svg_number(bar.width),
        svg_number(LANE_HEIGHT),
    );
    html! {
        <g
            class={classes!(
                "kd-bar",
                format!("kd-{}", bar.outcome.as_str()),
                bar.overlaps.then_some("kd-overlap"),
                bar.conflicting.then_some("kd-conflict"),
            )}
            data-testid="timeline-bar"
            data-deployment-id={entry.deployment.id.clone()}
            data-outcome={bar.outcome.as_str()}
            data-overlap={bar.overlaps.then_some("true")}
            data-conflict={bar.conflicting.then_some("true")}
            tabindex="0"
            role="img"
            aria-label={detail.clone()}
            {onfocus}
            {onmouseenter}
        >
            <title>{ detail }</title>
            <rect class="kd-bar-fill" x={x.clone()} y={y.clone()}
                width={width.clone()} height={height.clone()} rx="2" />
            if bar.open_ended {
                <rect class="kd-bar-hatch" {x} {y} {width} {height}
                    fill="url(#kd-hatch)" rx="2" />
            }
            if bar.conflicting {
                <path class="kd-marker" d={marker} />
            }
        </g>
    }
}

/// The one line that stands for every leftover `temp-` record.
fn leftover_temps_line(count: usize) -> String {
    let folders = if count == 1 { "folder" } else { "folders" };
    format!(
        "{count} leftover temp {folders} (temp-…) from pushes that are over: not drawn; \
         the cleanup plan lists them."
    )
}

/// Labels near an edge grow inwards so they are not cut off.
fn tick_anchor(x: f64) -> &'static str {
    const EDGE: f64 = 36.0;
    if x < EDGE {
        "start"
    } else if x > WIDTH - EDGE {
        "end"
    } else {
        "middle"
    }
}

/// Everything a person wants to know about one deployment, as one line of text.
pub fn detail_line(entry: &TimelineEntry) -> String {
    let deployment = &entry.deployment;
    let id: String = deployment
        .id
        .as_deref()
        .unwrap_or("(no id)")
        .chars()
        .take(12)
        .collect();
    let status = if deployment.status_text.is_empty() {
        deployment.status.as_str().to_string()
    } else {
        format!(
            "{} ({})",
            deployment.status.as_str(),
            deployment.status_text
        )
    };
    let times = match (entry.begin, entry.end) {
        (Some(begin), Some(end)) => format!(
            "{}–{} ({})",
            time_text::date_time_utc(begin),
            time_text::clock_utc(end),
            time_text::duration(begin.secs_until(end))
        ),
        (Some(begin), None) => format!("since {}, still running", time_text::date_time_utc(begin)),
        (None, _) => "no times recorded".to_string(),
    };
    let or_unknown = |text: &str| {
        if text.is_empty() {
            "unknown".to_string()
        } else {
            text.to_string()
        }
    };
    format!(
        "{id} · {status} · by {} via {} · \u{201c}{}\u{201d} · {times}",
        or_unknown(&deployment.author),
        or_unknown(&deployment.deployer),
        deployment.message.trim(),
    )
}
