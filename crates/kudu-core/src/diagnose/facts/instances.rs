//! Which Kudu instance holds the deployment lock, and which one the replies came from.
//!
//! On a scaled-out plan every instance runs its own Kudu over one shared HOME (kudu-facts §5.3,
//! "Affinity"): the lock files are shared, the process holding a Windows lock handle and
//! KuduLite's cached lock expiry are not. The front end pins a client to one instance with the
//! `ARRAffinity` cookie, whose value is the instance id; az and webapps-deploy (965b34f6, #497)
//! pin it by name the same way. No Kudu reply says which instance answered (neither Kudu sends
//! an instance header, and `/api/environment` holds only the version), and the cookie is
//! `HttpOnly`, so only a shell that sees `Set-Cookie` (the CLI) can name the instance it
//! reached; the browser cannot. The trace folder's names still show how many Kudu processes
//! the site ran and on which instances (the first six characters of each id).

use serde::Serialize;

use crate::diagnose::LockReport;
use crate::session::Session;

/// What the diagnosis knows about instances (`instances` in the CLI's `--json`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Default)]
pub struct InstanceReport {
    /// The instance whose Kudu took the lock (`heldByWorker` on Linux), when the lock says.
    pub lock_holder: Option<String>,
    /// The instance the replies came from (its `ARRAffinity` value), when the shell could see
    /// it; the browser cannot.
    pub reading: Option<String>,
    /// Instances named in Kudu's trace folder (six characters each), first seen first.
    pub traced: Vec<String>,
    /// Whether the lock is held on the instance being read: `None` when either is unknown.
    pub same_instance: Option<bool>,
    /// What the user should know, when there is something to say.
    pub note: Option<String>,
}

impl InstanceReport {
    /// A restart from here may not reach the process that holds the lock: it is held on
    /// another instance, or the site ran Kudu on several and which one holds it is not known.
    pub fn restart_may_miss_the_holder(&self) -> bool {
        self.same_instance == Some(false) || (self.same_instance.is_none() && self.traced.len() > 1)
    }
}

/// Two ids name the same instance when one begins the other (trace names and `status.lock`
/// keep six characters, `heldByWorker` and the cookie the whole id), ignoring case.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    !a.is_empty() && !b.is_empty() && (a.starts_with(&b) || b.starts_with(&a))
}

/// At most this many characters of an id in words (the report keeps it whole).
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

pub(crate) fn report(session: &Session, lock: &LockReport) -> InstanceReport {
    let lock_holder = lock.worker.clone().filter(|w| !w.trim().is_empty());
    let reading = session
        .reached_instance
        .clone()
        .filter(|r| !r.trim().is_empty());
    let mut traced: Vec<String> = vec![];
    for entry in session.kudu_trace_dir.value().into_iter().flatten() {
        if let Some(name) = crate::parse::parse_trace_name(&entry.name)
            && !name.instance.is_empty()
            && !traced
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&name.instance))
        {
            traced.push(name.instance);
        }
    }
    let same_instance = match (&lock_holder, &reading) {
        (Some(holder), Some(reading)) => Some(same(holder, reading)),
        _ => None,
    };
    let reach = |holder: &str| {
        format!(
            "To reach it, send the cookie ARRAffinity={holder} (and ARRAffinitySameSite) to the \
             SCM site, as az and webapps-deploy pin an instance."
        )
    };
    let note = match (&lock_holder, &reading, same_instance) {
        (Some(holder), Some(reading), Some(false)) => Some(format!(
            // Not "does not release it": on Linux the lock folder is in the shared HOME, and
            // a Kudu that starts may clear it (the simulator's `linux_startup_clears_lock`, an
            // inference), which would leave the holder's deployment running unlocked.
            "The lock is held on instance {}, and you are reading instance {}: restarting Kudu \
             from here restarts only {}, not the deployment on {} that holds the lock. {}",
            short(holder),
            short(reading),
            short(reading),
            short(holder),
            reach(holder)
        )),
        // Windows locks name no instance, so the CLI knows only the one it reads.
        (None, Some(reading), None) if traced.len() > 1 => Some(format!(
            "This site ran Kudu on {} instances ({}), and you are reading instance {}; which \
             one holds the lock is not known, so restarting Kudu from here restarts only {} \
             and may not release it. To reach another instance, send the cookie \
             ARRAffinity=<its instance id> (and ARRAffinitySameSite) to the SCM site, as az \
             and webapps-deploy pin an instance.",
            traced.len(),
            traced.join(", "),
            short(reading),
            short(reading)
        )),
        (holder, None, _) if traced.len() > 1 => Some(format!(
            "This site ran Kudu on {} instances ({}){}; Kudu Doctor cannot see which one this \
             page reaches, so a restart of Kudu from here may restart another one.{}",
            traced.len(),
            traced.join(", "),
            holder
                .as_deref()
                .map(|h| format!(" and the lock is held on {}", short(h)))
                .unwrap_or_default(),
            holder
                .as_deref()
                .map(|h| format!(" {}", reach(h)))
                .unwrap_or_default()
        )),
        _ => None,
    };
    InstanceReport {
        lock_holder,
        reading,
        traced,
        same_instance,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::test_session::*;
    use crate::session::Observed;

    const HOLDER: &str = "05be397cd4ff388cb689fe6ef950e0c1961b6e95fbc8eb3ddfcb4c40f5f5d935";
    const OTHER: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    fn lock_held_by(worker: Option<&str>) -> LockReport {
        let s = Site::linux()
            .linux_lock("Performing continuous deployment", at(11, 50, 0))
            .build();
        let mut lock = crate::diagnose::diagnose(&s, at(12, 0, 0)).lock;
        lock.worker = worker.map(str::to_string);
        lock
    }

    fn traces(session: &mut Session, instances: &[&str]) {
        session.kudu_trace_dir = Observed::Value(
            instances
                .iter()
                .enumerate()
                .map(|(n, i)| {
                    file(
                        &format!(
                            "2026-11-26T11-0{n}-00_{i}_001_Startup_GET_api-deployments_0s.xml"
                        ),
                        at(11, n as i64, 0),
                    )
                })
                .collect(),
        );
    }

    #[test]
    fn a_lock_held_on_another_instance_names_both_and_how_to_reach_it() {
        let mut s = Session::new();
        s.reached_instance = Some(OTHER.into());
        let r = report(&s, &lock_held_by(Some(HOLDER)));
        assert_eq!(r.same_instance, Some(false));
        assert!(r.restart_may_miss_the_holder());
        let note = r.note.unwrap();
        assert!(
            note.contains(
                "held on instance 05be397cd4ff, and you are reading instance a1b2c3d4e5f6"
            ),
            "{note}"
        );
        assert!(
            note.contains("not the deployment on 05be397cd4ff that holds the lock"),
            "{note}"
        );
        assert!(note.contains(&format!("ARRAffinity={HOLDER}")), "{note}");
    }

    #[test]
    fn the_same_instance_by_prefix_says_nothing() {
        let mut s = Session::new();
        s.reached_instance = Some("05BE39".into());
        let r = report(&s, &lock_held_by(Some(HOLDER)));
        assert_eq!(r.same_instance, Some(true));
        assert_eq!(r.note, None);
        assert!(!r.restart_may_miss_the_holder());
    }

    #[test]
    fn unknown_reading_on_a_site_of_several_instances_warns_about_restarts() {
        let mut s = Session::new();
        traces(&mut s, &["05be39", "a1b2c3", "05be39"]);
        let r = report(&s, &lock_held_by(Some(HOLDER)));
        assert_eq!(r.traced, ["05be39", "a1b2c3"]);
        assert_eq!(r.same_instance, None);
        assert!(r.restart_may_miss_the_holder());
        let note = r.note.unwrap();
        assert!(
            note.contains("ran Kudu on 2 instances (05be39, a1b2c3)"),
            "{note}"
        );
        assert!(note.contains("lock is held on 05be397cd4ff"), "{note}");
    }

    /// The CLI on Windows: it knows the instance it reads, the lock names none.
    #[test]
    fn a_known_reading_and_an_unknown_holder_on_several_instances_warns_about_restarts() {
        let mut s = Session::new();
        s.reached_instance = Some(OTHER.into());
        traces(&mut s, &["05be39", "a1b2c3"]);
        let r = report(&s, &lock_held_by(None));
        assert_eq!(r.same_instance, None);
        assert!(r.restart_may_miss_the_holder());
        let note = r.note.unwrap();
        assert!(
            note.contains("ran Kudu on 2 instances (05be39, a1b2c3)"),
            "{note}"
        );
        assert!(
            note.contains("you are reading instance a1b2c3d4e5f6"),
            "{note}"
        );
        assert!(note.contains("may not release it"), "{note}");
    }

    #[test]
    fn one_instance_and_no_reading_is_no_note() {
        let mut s = Session::new();
        traces(&mut s, &["05be39"]);
        let r = report(&s, &lock_held_by(None));
        assert_eq!(r.note, None);
        assert!(!r.restart_may_miss_the_holder());
    }
}
