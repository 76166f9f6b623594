//! Step 2: the deployments that explain the site's state now, as bars on a UTC time axis that
//! ends at "now" (older history behind one control), coloured by outcome, overlapping ones in
//! lanes of their own, the conflicting push marked and Kudu's refused pushes labelled on a lane
//! of marks. The picture is drawn at its container's width. Each bar and mark is focusable;
//! focus or hover shows its details as text below the picture.

use std::rc::Rc;

use kudu_core::Timestamp;
use kudu_core::diagnose::{Timeline, TimelineEntry, TimelineMark, TimelineMarkKind, TimelineView};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::components::timeline_table::TimelineTable;
use crate::time_text;
use crate::timeline_layout::{Bar, Label, MarkGlyph, layout, shown_entries, svg_number};

/// Drawn at this width until the container has been measured.
const FIRST_WIDTH: f64 = 420.0;
const LANE_HEIGHT: f64 = 16.0;
const LANE_GAP: f64 = 6.0;
/// Room above the first lane for the conflict marker.
const TOP: f64 = 12.0;
const MARKS_LANE: f64 = 22.0;
const AXIS_HEIGHT: f64 = 22.0;
/// Most deployments drawn (and listed in the table), newest kept.
pub const MAX_SHOWN: usize = 40;

/// The views the control offers, in its order, with their labels and `data-view` values.
const VIEWS: [(TimelineView, &str, &str); 3] = [
    (
        TimelineView::ExplainsNow,
        "What explains now",
        "explains-now",
    ),
    (TimelineView::LastDay, "Last 24 h", "last-day"),
    (TimelineView::All, "All", "all"),
];

#[derive(Properties, PartialEq)]
pub struct TimelinePanelProps {
    pub timeline: Rc<Timeline>,
    /// When the diagnosis was made: the axis ends here, open deployments run to it.
    pub now: Timestamp,
    /// The deployment list could not be read (an empty list then says nothing).
    #[prop_or_default]
    pub unread: bool,
}

/// What the detail line is about.
#[derive(Clone, Copy, PartialEq)]
enum Pointed {
    Bar(usize),
    Mark(usize),
}

/// `data-testid="timeline"`: the span control, the SVG, a detail line and a table fallback.
#[component]
pub fn TimelinePanel(props: &TimelinePanelProps) -> Html {
    let pointed = use_state(|| None::<Pointed>);
    let view = use_state(TimelineView::default);
    let width = use_state_eq(|| FIRST_WIDTH);
    let frame = use_node_ref();
    // A site with a huge history must not freeze the page: draw the recent ones only, and
    // leftover temp folders as one line.
    let shown = use_memo(
        (props.timeline.clone(), *view, props.now),
        |(timeline, view, now)| shown_entries(timeline, *view, *now, MAX_SHOWN),
    );
    let has_history =
        props.timeline.drawable().next().is_some() || !props.timeline.marks.is_empty();
    {
        // Drawn at the container's width in CSS pixels, so text keeps its size and the ticks
        // are chosen for the room there is: measured after each render, and whenever the frame
        // changes size (a window resize, or the drawer opening: a hidden frame measures 0).
        let (frame, width) = (frame.clone(), width.clone());
        use_effect(move || measure(&frame, &width));
    }
    {
        let (frame, width) = (frame.clone(), width.clone());
        use_effect_with(has_history, move |_| {
            let observed = frame.cast::<web_sys::Element>().and_then(|element| {
                let on_resize = Closure::<dyn FnMut()>::new(move || measure(&frame, &width));
                let observer =
                    web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok()?;
                observer.observe(&element);
                Some((observer, on_resize))
            });
            move || {
                if let Some((observer, _on_resize)) = observed {
                    observer.disconnect();
                }
            }
        });
    }
    let entries = &shown.entries[..];
    let geometry = layout(&shown, props.now, *width);
    let lanes_height = geometry.lanes.max(1) as f64 * (LANE_HEIGHT + LANE_GAP);
    let marks_y = TOP + lanes_height + MARKS_LANE / 2.0 - 2.0;
    let axis_y = TOP
        + lanes_height
        + if geometry.marks.is_empty() {
            2.0
        } else {
            MARKS_LANE + 2.0
        };
    let height = axis_y + AXIS_HEIGHT;
    let detail = match *pointed {
        Some(Pointed::Bar(index)) => entries.get(index).map(detail_line),
        Some(Pointed::Mark(index)) => shown.marks.get(index).map(|m| m.summary.clone()),
        None => None,
    }
    .unwrap_or_else(|| "Focus or point at a bar to see who deployed what.".to_string());
    let control = html! {
        <div class="kd-timeline-views" role="group" aria-label="Time span" data-testid="timeline-view">
            { for VIEWS.iter().map(|&(choice, label, value)| {
                let onclick = { let view = view.clone(); let pointed = pointed.clone(); Callback::from(move |_: MouseEvent| { pointed.set(None); view.set(choice); }) };
                html! {
                    <button type="button" class="kd-view-button" data-view={value}
                        aria-pressed={if *view == choice { "true" } else { "false" }} {onclick}>
                        { label }
                    </button>
                }
            }) }
        </div>
    };
    let refused = shown
        .marks
        .iter()
        .any(|m| m.kind == TimelineMarkKind::RefusedDeployment);
    let restarts = shown
        .marks
        .iter()
        .any(|m| m.kind != TimelineMarkKind::RefusedDeployment);
    let point = |target: Pointed| {
        let show = {
            let pointed = pointed.clone();
            Callback::from(move |_: FocusEvent| pointed.set(Some(target)))
        };
        let hover = {
            let pointed = pointed.clone();
            Callback::from(move |_: MouseEvent| pointed.set(Some(target)))
        };
        (show, hover)
    };
    html! {
        <section class="kd-section" data-testid="timeline" tabindex="-1" aria-label="Timeline">
            <h2>{ "Timeline" }</h2>
            if !has_history && props.unread {
                <p>{ "The deployment list could not be read." }</p>
            } else if !has_history {
                <p>{ "Kudu lists no deployments for this site." }</p>
                if shown.leftover_temps > 0 {
                    <p class="kd-meta" data-testid="timeline-leftover-temps">
                        { leftover_temps_line(shown.leftover_temps) }
                    </p>
                }
            } else {
                { control }
                <p class="kd-meta" data-testid="timeline-span">{ span_line(&shown.window, *view) }</p>
                <div class="kd-timeline-frame" ref={frame}>
                    <svg
                        class="kd-timeline-svg"
                        width={svg_number(geometry.width)}
                        height={svg_number(height)}
                        viewBox={format!("0 0 {} {}", svg_number(geometry.width), svg_number(height))}
                        role="group"
                        aria-label="Deployments on a time axis ending now, UTC"
                    >
                        <defs>
                            <pattern id="kd-hatch" patternUnits="userSpaceOnUse" width="6" height="6"
                                patternTransform="rotate(45)">
                                <rect class="kd-hatch-stripe" width="3" height="6" />
                            </pattern>
                        </defs>
                        <line class="kd-axis" x1="0" x2={svg_number(geometry.width)}
                            y1={svg_number(axis_y)} y2={svg_number(axis_y)} />
                        { for geometry.ticks.iter().map(|tick| html! {
                            <g class="kd-tick">
                                <line x1={svg_number(tick.x)} x2={svg_number(tick.x)}
                                    y1={svg_number(TOP - 4.0)} y2={svg_number(axis_y + 3.0)} />
                                { label_view(&tick.label, axis_y + 15.0, "kd-tick-label") }
                            </g>
                        }) }
                        <g class="kd-live-edge">
                            <line x1={svg_number(geometry.width - 0.5)} x2={svg_number(geometry.width - 0.5)}
                                y1={svg_number(TOP - 4.0)} y2={svg_number(axis_y + 3.0)} />
                            { label_view(&geometry.now_label, axis_y + 15.0, "kd-now-label") }
                        </g>
                        { for geometry.bars.iter().map(|bar| {
                            let (show, hover) = point(Pointed::Bar(bar.entry));
                            bar_view(bar, &entries[bar.entry], show, hover)
                        }) }
                        { for geometry.marks.iter().map(|glyph| {
                            let (show, hover) = point(Pointed::Mark(glyph.mark));
                            mark_view(glyph, &shown.marks[glyph.mark], marks_y, show, hover)
                        }) }
                    </svg>
                </div>
                <p class="kd-detail" data-testid="timeline-detail" aria-live="polite">{ detail }</p>
                <ul class="kd-legend" aria-label="Legend">
                    { for ["success", "failed", "cancelled", "running", "partial"].iter().map(|outcome| html! {
                        <li><span class={classes!("kd-swatch", format!("kd-{outcome}"))} aria-hidden="true"></span>{ *outcome }</li>
                    }) }
                    <li><span class="kd-swatch kd-overlap-swatch" aria-hidden="true"></span>{ "overlap" }</li>
                    <li><span class="kd-marker-swatch" aria-hidden="true">{ "▼" }</span>{ "conflicting push" }</li>
                    if refused {
                        <li><span class="kd-refused-swatch" aria-hidden="true">{ "◆" }</span>{ "refused push (409)" }</li>
                    }
                    if restarts {
                        <li><span class="kd-restart-swatch" aria-hidden="true">{ "|" }</span>{ "Kudu started / stopped" }</li>
                    }
                </ul>
                if shown.outside > 0 {
                    <p class="kd-meta" data-testid="timeline-outside">
                        { outside_line(shown.outside, *view) }
                    </p>
                }
                if shown.of > entries.len() {
                    <p class="kd-meta">
                        { format!("The {} most recent of {} deployments in this span are shown.", entries.len(), shown.of) }
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

/// Reads the frame's width into `width` (an equal width re-renders nothing; a hidden frame
/// measures 0 and is ignored).
fn measure(frame: &NodeRef, width: &UseStateHandle<f64>) {
    let Some(element) = frame.cast::<web_sys::Element>() else {
        return;
    };
    let measured = f64::from(element.client_width());
    if measured > 0.0 {
        width.set(measured);
    }
}

fn label_view(label: &Label, y: f64, class: &'static str) -> Html {
    html! {
        <text {class} x={svg_number(label.x)} y={svg_number(y)} text-anchor={label.anchor}>
            { &label.text }
        </text>
    }
}

/// "The deployments that explain the site now: 2026-11-26 11:57:48 UTC to now (12:00:00 UTC)."
fn span_line(window: &kudu_core::diagnose::TimeWindow, view: TimelineView) -> String {
    let what = match view {
        TimelineView::ExplainsNow => "The deployments that explain the site now",
        TimelineView::LastDay => "The last 24 hours",
        TimelineView::All => "Every deployment Kudu lists",
    };
    format!(
        "{what}: {} to now ({}).",
        time_text::date_time_secs_utc(window.from),
        time_text::clock_secs_utc(window.to)
    )
}

fn outside_line(count: usize, view: TimelineView) -> String {
    let which = if count == 1 {
        "1 older deployment is".to_string()
    } else {
        format!("{count} older deployments are")
    };
    match view {
        TimelineView::All => format!("{which} not shown."),
        _ => format!("{which} outside this span: choose \u{201c}All\u{201d} to see them."),
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
            data-lane={bar.lane.to_string()}
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

/// A refused push (a diamond, labelled while there is room) or a Kudu start or stop (a
/// stroke), on the marks lane.
fn mark_view(
    glyph: &MarkGlyph,
    mark: &TimelineMark,
    y: f64,
    onfocus: Callback<FocusEvent>,
    onmouseenter: Callback<MouseEvent>,
) -> Html {
    let (kind, shape) = match glyph.kind {
        TimelineMarkKind::RefusedDeployment => (
            "refused",
            format!(
                "M{},{} l6,6 l-6,6 l-6,-6 z",
                svg_number(glyph.x),
                svg_number(y - 6.0)
            ),
        ),
        TimelineMarkKind::KuduStarted | TimelineMarkKind::KuduStopped => (
            if glyph.kind == TimelineMarkKind::KuduStarted {
                "kudu-started"
            } else {
                "kudu-stopped"
            },
            format!(
                "M{},{} h3 v14 h-3 z",
                svg_number(glyph.x - 1.5),
                svg_number(y - 7.0)
            ),
        ),
    };
    html! {
        <g class={classes!("kd-mark", format!("kd-mark-{kind}"))}
            data-testid="timeline-mark" data-mark={kind}
            tabindex="0" role="img" aria-label={mark.summary.clone()}
            {onfocus} {onmouseenter}>
            <title>{ &mark.summary }</title>
            <path class="kd-mark-shape" d={shape} />
            if let Some(label) = &glyph.label {
                { label_view(label, y + 4.0, "kd-mark-label") }
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
