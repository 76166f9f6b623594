//! The Windows process model behind `GET /api/processes` and `GET /api/processes/{id}`
//! (README "Processes"): Kudu's SCM w3wp, the site's w3wp, and for each running deployment
//! the build tree Kudu starts under its w3wp: `cmd` running `deploy.cmd`, and the build tool
//! under it (`node` running npm). The tool's CPU time advances with the virtual clock while
//! the build works, whether or not it logs, and stands still once the build hangs; a build's
//! processes end with it, and all of them end when Kudu restarts (its workers die with it).

use serde_json::{Value, json};

use crate::time::{TICKS_PER_SEC, VTime, timespan_text};

/// Windows counts CPU time in clock ticks of 15.625 ms (156,250 .NET ticks).
const CPU_CLOCK_TICK: i64 = 156_250;

/// `cmd.exe`'s own CPU time: it only starts its children and waits [I].
const SHELL_CPU_TICKS: i64 = 3 * CPU_CLOCK_TICK;

/// A build's processes and its CPU time.
#[derive(Clone, Debug)]
pub struct BuildProcesses {
    /// `cmd /c deploy.cmd`, a child of Kudu's w3wp.
    pub shell_pid: u32,
    /// The build tool (`node` running npm), a child of the shell.
    pub tool_pid: u32,
    started: VTime,
    /// Share of one core while it works (switch `build_cpu_percent`).
    cpu_percent: i64,
    /// CPU time used before `working_since`, in .NET ticks.
    banked: i64,
    /// Since when the tool works (uses CPU); `None` once the build hangs.
    working_since: Option<VTime>,
}

impl BuildProcesses {
    /// A build whose processes start now and work, using `cpu_percent` of a core.
    pub fn start(now: VTime, shell_pid: u32, cpu_percent: i64) -> Self {
        BuildProcesses {
            shell_pid,
            tool_pid: shell_pid.wrapping_add(4),
            started: now,
            cpu_percent: cpu_percent.clamp(0, 100),
            banked: 0,
            working_since: Some(now),
        }
    }

    /// The build hangs: its CPU time stops where it is.
    pub fn freeze(&mut self, now: VTime) {
        self.banked = self.tool_cpu_ticks(now);
        self.working_since = None;
    }

    /// The tool's CPU time at `now`, whole Windows clock ticks.
    pub fn tool_cpu_ticks(&self, now: VTime) -> i64 {
        let working = self
            .working_since
            .map(|since| (now.0 - since.0).max(0) * self.cpu_percent / 100)
            .unwrap_or(0);
        let total = self.banked + working;
        total - total % CPU_CLOCK_TICK
    }
}

/// One process as Kudu's JSON shows it.
pub struct ProcessView<'a> {
    pub pid: u32,
    pub name: &'a str,
    pub scm: bool,
    pub parent: Option<u32>,
    pub children: Vec<u32>,
    pub cpu_ticks: i64,
    pub started: VTime,
    pub command_line: String,
    pub handles: Vec<String>,
}

/// The build processes of `builds` as seen at `now`, shell then tool for each.
pub fn build_views(
    builds: &[&BuildProcesses],
    kudu_pid: u32,
    now: VTime,
) -> Vec<ProcessView<'static>> {
    let mut out = Vec::new();
    for b in builds {
        out.push(ProcessView {
            pid: b.shell_pid,
            name: "cmd",
            scm: true,
            parent: Some(kudu_pid),
            children: vec![b.tool_pid],
            cpu_ticks: SHELL_CPU_TICKS,
            started: b.started,
            command_line: "cmd /c \"D:\\home\\site\\deployments\\tools\\deploy.cmd\"".into(),
            handles: vec!["D:\\home\\site\\deployments\\tools".into()],
        });
        out.push(ProcessView {
            pid: b.tool_pid,
            name: "node",
            scm: true,
            parent: Some(b.shell_pid),
            children: vec![],
            cpu_ticks: b.tool_cpu_ticks(now),
            started: b.started.plus_secs(1),
            command_line: "\"D:\\Program Files\\nodejs\\node.exe\" \"D:\\Program Files\\nodejs\\node_modules\\npm\\bin\\npm-cli.js\" ci".into(),
            handles: vec![
                "D:\\home\\site\\repository\\package-lock.json".into(),
                "C:\\local\\AppData\\npm-cache\\_cacache\\index-v5".into(),
            ],
        });
    }
    out
}

/// `ProcessInfo` as `ProcessController` writes it: the list's fields, and with `details` the
/// CPU times, links, handles and environment flags (projectkudu/kudu
/// `Kudu.Contracts/Diagnostics/ProcessInfo.cs`). The environment holds the site's settings in
/// production; here only the keys Kudu's flags come from and one secret-looking value, so a
/// client that kept it would show.
pub fn process_json(
    base_url: &str,
    site: &str,
    view: &ProcessView,
    details: bool,
    now: VTime,
) -> Value {
    let href = |pid: u32| format!("{base_url}/api/processes/{pid}");
    let app_pool = format!("{}{site}", if view.scm { "~1" } else { "" });
    let mut value = json!({
        "id": view.pid,
        "name": view.name,
        "machineName": "RD00155D5B2C1A",
        "href": href(view.pid),
        "user_name": format!("IIS APPPOOL\\{}", if view.scm { format!("~1{site}") } else { site.to_string() }),
    });
    if details && let Some(obj) = value.as_object_mut() {
        let cpu = view.cpu_ticks;
        let user = cpu * 4 / 5;
        obj.insert("minidump".into(), json!(format!("{}/dump", href(view.pid))));
        obj.insert("parent".into(), json!(href(view.parent.unwrap_or(0))));
        obj.insert(
            "children".into(),
            json!(
                view.children
                    .iter()
                    .map(|pid| href(*pid))
                    .collect::<Vec<_>>()
            ),
        );
        obj.insert("open_file_handles".into(), json!(view.handles));
        obj.insert("file_name".into(), json!(format!("{}.exe", view.name)));
        obj.insert("command_line".into(), json!(view.command_line));
        obj.insert("handle_count".into(), json!(420));
        obj.insert("thread_count".into(), json!(24));
        obj.insert("start_time".into(), json!(view.started.to_json()));
        obj.insert("total_cpu_time".into(), json!(timespan_text(cpu)));
        obj.insert("user_cpu_time".into(), json!(timespan_text(user)));
        obj.insert(
            "privileged_cpu_time".into(),
            json!(timespan_text(cpu - user)),
        );
        obj.insert("working_set".into(), json!(87_654_400_i64));
        obj.insert("private_memory".into(), json!(65_536_000_i64));
        obj.insert("time_stamp".into(), json!(now.to_json()));
        obj.insert(
            "environment_variables".into(),
            json!({
                "APP_POOL_ID": app_pool,
                "WEBSITE_SITE_NAME": site,
                "APPSETTING_SIM_SECRET": "sim-secret-do-not-keep",
            }),
        );
        obj.insert("is_scm_site".into(), json!(view.scm));
        obj.insert("is_webjob".into(), json!(false));
    }
    value
}

/// A w3wp's CPU time [I]: it serves requests all the time, so it grows with its age.
pub fn w3wp_cpu_ticks(started: VTime, now: VTime) -> i64 {
    let secs = now.secs_since(started).max(0);
    let ticks = secs * TICKS_PER_SEC / 50;
    ticks - ticks % CPU_CLOCK_TICK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_advances_while_working_in_whole_clock_ticks_and_stops_when_hung() {
        let start = VTime::default_start();
        let mut build = BuildProcesses::start(start, 4100, 60);
        let at = |secs| build.tool_cpu_ticks(start.plus_secs(secs));
        assert_eq!(at(10) % CPU_CLOCK_TICK, 0);
        assert!(at(10) > at(5) && at(5) > 0);
        build.freeze(start.plus_secs(10));
        let frozen = build.tool_cpu_ticks(start.plus_secs(10));
        assert_eq!(build.tool_cpu_ticks(start.plus_secs(900)), frozen);
    }
}
