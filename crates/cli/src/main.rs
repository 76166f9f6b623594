//! `kudu-doctor`: the native command line of Kudu Doctor.
//!
//! For now it has one subcommand, `parse`, which runs the core's tolerant parsers on a saved
//! Kudu reply and prints the normalised result as JSON: a way to check what Kudu Doctor makes
//! of a real site's answers, and a stable contract for scripts. Each subcommand lives in its
//! own module under `commands/`; `main` only dispatches and turns outcomes into exit codes.

mod commands;
mod exit_code;
mod report;

use std::process::ExitCode;

use exit_code::{Failure, USAGE};

const HELP: &str = "\
kudu-doctor: diagnose HTTP 409 Conflict on Azure App Service deployments (Kudu)

USAGE:
    kudu-doctor parse KIND FILE    Parse a saved Kudu reply and print it as JSON
    kudu-doctor --help             Show this help
    kudu-doctor --version          Show the version

KIND (what FILE holds):
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
    0    parsed; the JSON is on stdout
    2    FILE could not be read or used; one line on stderr names the file, the field and
         the problem (`kudu-doctor: FILE: FIELD: PROBLEM`)
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
