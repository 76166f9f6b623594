//! `kudu-doctor`: the native command line of Kudu Doctor.
//!
//! `parse` runs the core's tolerant parsers on a saved Kudu reply and prints the normalised
//! result as JSON. `diagnose` reads a live SCM site the way the wizard does and prints the
//! diagnosis; `wait` is the CI guard that blocks until a deployment would not get 409. Each
//! subcommand lives in its own module under `commands/`; `main` only dispatches and turns
//! outcomes into exit codes. HTTP lives in `scm`, the read-ingest-diagnose round in
//! `site_round`.

mod ci_format;
mod cleanup_shell;
mod commands;
mod duration_arg;
mod exit_code;
mod report;
mod scm;
mod site_round;
mod terminal_report;

use std::process::ExitCode;

use exit_code::{Failure, USAGE};

const HELP: &str = "\
kudu-doctor: diagnose HTTP 409 Conflict on Azure App Service deployments (Kudu)

USAGE:
    kudu-doctor diagnose URL [--json | --markdown] [--allow-host HOST] [--error-file FILE]
                                   Read a live SCM site and print the diagnosis
    kudu-doctor diagnose URL --format github | azure-devops
                                   The same as CI annotations and a job summary
    kudu-doctor wait URL [--timeout 15m] [--interval 5s] [--allow-host HOST]
                     [--fix-stale --backup-dir DIR]
                                   Block until a deployment would not get 409 (for CI)
    kudu-doctor fix URL [--backup-dir DIR] [--yes] [--full-reset] [--json] [--verbose]
                    [--i-know-nothing-is-deploying] [--restart-app] [--allow-host HOST]
                                   Back up and clear what blocks deployments, then verify
    kudu-doctor parse KIND FILE    Parse a saved Kudu reply and print it as JSON
    kudu-doctor --help             Show this help
    kudu-doctor --version          Show the version

URL is the SCM (Kudu) site's root: https://<app>.scm.azurewebsites.net (http:// is accepted
for local simulators). Requests go to that host only; redirects are not followed.

CREDENTIALS (environment only, never on the command line):
    KUDU_USERNAME, KUDU_PASSWORD   publishing credentials (user '$<app>'), sent as Basic auth
    KUDU_BEARER_TOKEN              an access token (az account get-access-token), as Bearer
With none set, no Authorization header is sent. Credentials go only to an App Service SCM
host (<app>.scm.azurewebsites.net, .us, .de, .chinacloudsites.cn, the regional unique names
and App Service Environments) over https, or to this machine; for any other host, or plain
http to another machine, the command refuses (exit 64) unless --allow-host HOST names it.
The ARRAffinity cookies from the first reply
are sent back on every later request, so all reads reach the same instance. Each request
times out after 20 s; broken connections and 429/502/503/504 are retried twice (1 s, 2 s).
HTTPS_PROXY, HTTP_PROXY and NO_PROXY are honoured.

DIAGNOSE:
    Prints the primary cause with its evidence and what to do, other findings, the lock, recent
    deployments, the targeted cleanup plan (shown, not run) and warnings. With --json:
    {\"site\", \"now\", \"primary\": \"<cause id>\", \"causes\": [\"<cause id>\", ...],
     \"personality\", \"clear\", \"blocked_by\": [...], \"findings\", \"lock\", \"timeline\",
     \"kudu_traces\": [{\"kind\": \"refused-deployment\" | \"kudu-started\" | \"kudu-stopped\",
     \"at\", \"instance\", \"method\", \"path\", \"status\", \"duration_secs\", \"file\",
     \"held_by\", \"summary\"}, ...], \"pasted_error\": {\"kind\", \"operation\",
     \"holder_operation\", \"since\", \"message\"} | null, \"instances\": {\"lock_holder\",
     \"reading\", \"traced\": [...], \"same_instance\", \"note\"}, \"warnings\", \"plan\"}
    --error-file FILE (- for stdin) gives it the error text the deployment got (a CI log's
    lines, az's output, a JSON body): it is classified (Kudu's lock texts, azure-cli's
    DeploymentLockFailed and DeploymentIdExists, ARM's \"another operation is in progress\",
    the capacity \"No available instances\") and combined with what the site shows.
    With --markdown: the wizard's shareable report (site host, diagnosis with evidence,
    prevention from the site's history, timeline table, lock, plan), ready to paste into a
    support ticket or an issue; it holds no cookies, tokens or app settings.
    Cause ids: session-expired, flex-consumption, run-from-package-url, autoswap-in-progress,
    scan-underway, deployment-in-progress, status-lock-denied, cancelled-then-retried,
    stale-lock, windows-lock-held, partial-deploy, site-operation-in-progress,
    no-available-instances, restart-raced-deployment, parallel-deployments,
    client-self-collision, healthy, no-lock-found.

WAIT:
    Re-diagnoses every --interval until the site is clear, as the wizard's verdict decides:
    no deployment is running or scan under way (a build that outlives the Linux lock's 25
    minutes still counts), no lock Kudu honours is held, no auto swap runs, status.lock is
    readable, and nothing that decides it failed to read. A Linux lock past its expiry blocks
    while /api/isdeploying says True. A run-from-package URL is reported, not waited for.
    Progress goes to stderr; the final line to stdout.
    --fix-stale --backup-dir DIR: when the only blocker is a lock that strong evidence calls
    stale (a Kudu start or an outcome on record after the holder's last activity; never
    silence alone, never a live deployment), runs the targeted cleanup as `fix --yes` would,
    its backup saved into DIR, says each step it took, and goes on waiting (at most 2
    cleanups per wait). A cleanup that deleted something and then failed ends the wait (7).

CI FORMATS (diagnose --format):
    github         an ::error:: annotation with the leading cause while a deployment would get
                   409 (::warning:: or ::notice:: otherwise), ::warning:: for other findings;
                   the Markdown report is appended to $GITHUB_STEP_SUMMARY when it is set
    azure-devops   ##vso[task.logissue type=error] lines; in a pipeline (TF_BUILD) the report
                   goes to $AGENT_TEMPDIRECTORY/kudu-doctor-report.md and is attached with
                   ##vso[task.uploadsummary]
    Site text in them is escaped, so it cannot start a command of its own.

FIX:
    Diagnoses the site and prints the diagnosis and the plan (the wizard's targeted plan, or
    with --full-reset its full reset, which keeps tools/, settings.xml and the active
    deployment). Asks for the site name typed on stdin (--yes skips it, except for
    --full-reset). Then runs the plan as the wizard does: both backup archives are downloaded
    and checked, the backup file is written to --backup-dir (default: the current folder,
    never over an existing file), read back and checked before anything is deleted; the site
    is re-read before each group of steps and any change stops the run; deletes are exactly
    the plan's; Windows restarts Kudu (and, with --restart-app, the app) and waits for it; a
    final read verifies. A plan that rests on weak evidence (a deployment whose log is only
    silent) is refused unless --i-know-nothing-is-deploying gives your word that nothing is
    deploying. On Linux, Kudu has no restart API: when a restart is advised, the exact
    `az webapp restart` command is printed, never run. --verbose prints every request and its
    answer; --json prints one JSON event per line instead of text (diagnosis, the run's
    events, backup-saved, request with --verbose, and a final result event with result,
    exit_code, message, done and backup).

PARSE: KIND (what FILE holds):
    deployments   GET /api/deployments (a list) or one deployment record
    log           GET /api/deployments/<id>/log (JSON) or a log.log file
    vfs           GET /api/vfs/<dir>/ (a directory listing)
    isdeploying   GET /api/isdeploying
    lock          site/locks/deployment/info.lock (or a status.lock / deployments.lock)
    conflict      the body of a 409 Conflict (text, quoted string or {\"Message\": ...})
    setting       GET /api/settings/<key>

FILE is a path, or - for standard input.

OUTPUT (stdout, JSON; times are RFC 3339 UTC with Z, or null):
    deployments   [{\"id\", \"status\", \"status_code\", \"received\", \"started\", \"ended\",
                    \"deployer\", \"author\", \"message\", \"complete\", \"active\", \"temp\"}]
                  (one element for a single record); status is one of pending, building,
                  deploying, failed, success, cancelled, conflict, partial-success, unknown;
                  status_code is the number Kudu sent, or null
    log           [{\"time\", \"id\", \"message\", \"level\"}], level one of info, warning, error
    vfs           [{\"name\", \"is_dir\", \"size\", \"modified\"}]
    isdeploying   {\"deploying\", \"message\"}
    lock          {\"holder_operation\", \"worker\", \"pid\", \"acquired\", \"expires\"}
    conflict      {\"kind\", \"operation\", \"holder_operation\", \"since\", \"message\"}, kind one of
                  deployment-in-progress, operation-conflict, run-from-package-url,
                  autoswap-in-progress, unknown
    setting       {\"key\", \"value\"}: key as the reply names it, or null (a plain
                  /api/settings/<key> reply is just the value); value null for JSON null

Fields that could not be used are reported on stderr as warnings
(`kudu-doctor: warning: FILE: FIELD: PROBLEM`) and do not change the exit code.

EXIT CODES:
    0    parse: parsed; diagnose: the report is on stdout; wait: the site is clear; fix: fixed
         (the final read shows no lock and nothing deploying)
    1    the site could not be reached, or another error (one line on stderr)
    2    parse: FILE could not be read or used; one line on stderr names the file, the field
         and the problem (`kudu-doctor: FILE: FIELD: PROBLEM`)
    3    wait: still busy when --timeout ran out; the message says what holds it and, when the
         lock looks stuck, points at the wizard and `kudu-doctor diagnose`
    4    the site asked for a sign-in (401, 403, a login page or a redirect): set the
         credential variables above (diagnose still prints its report first)
    5    fix: nothing to fix (the site is clear, or what blocks it is no leftover: a live
         deployment, a setting; the message says which)
    6    fix, wait --fix-stale: stopped or refused with nothing deleted (not confirmed, weak
         evidence, the backup failed, or the site changed before the first delete)
    7    fix, wait --fix-stale: failed part way; the message names what was deleted and where
         the backup is
    64   usage error (unknown subcommand or KIND, wrong number of arguments)
    74   the result could not be written to stdout
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None => Err(Failure::usage("missing subcommand")),
        Some("-h" | "--help" | "help") => report::stdout_line(HELP.trim_end()),
        Some("-V" | "--version") => {
            report::stdout_line(&format!("kudu-doctor {}", env!("CARGO_PKG_VERSION")))
        }
        Some("parse") => commands::parse::run(&args[1..]),
        Some("diagnose") => commands::diagnose::run(&args[1..]),
        Some("wait") => commands::wait::run(&args[1..]),
        Some("fix") => commands::fix::run(&args[1..]),
        Some(other) => Err(Failure::usage(format!("unknown subcommand '{other}'"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report::error(&failure.message);
            if failure.code == USAGE {
                report::note("Try 'kudu-doctor --help'.");
            }
            ExitCode::from(failure.code)
        }
    }
}
