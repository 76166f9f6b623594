//! The wizard's view, one component per file. Components get plain data and callbacks; only
//! [`wizard::Wizard`] sees the reducer. Everything that came from Kudu is rendered as text
//! nodes or attribute values, never as markup.

pub mod cleanup_plan;
pub mod cleanup_run_panel;
pub mod copy_button;
pub mod diagnosis_panel;
pub mod finding_card;
pub mod full_reset;
pub mod guide;
pub mod lock_inspector;
pub mod pasted_error;
pub mod pipeline_advice;
pub mod report_actions;
pub mod restart_advice;
pub mod status_banner;
pub mod step_nav;
pub mod timeline;
pub mod timeline_table;
pub mod wait_advice;
pub mod warnings_details;
pub mod wizard;
