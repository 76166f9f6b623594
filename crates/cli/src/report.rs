//! Writing to stdout and stderr without the panics of `println!`/`eprintln!` when a stream is
//! closed (`kudu-doctor parse ... | head -1`).

use std::io::Write as _;

use crate::exit_code::{Failure, OUTPUT};

/// The result, on stdout. A closed or failing stdout is a failure with its own exit code.
pub fn stdout_line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure {
            code: OUTPUT,
            message: format!("cannot write to standard output ({e})"),
        })
}

/// `kudu-doctor: warning: <text>` on stderr. Nothing more can be done if stderr is closed.
pub fn warning(text: &str) {
    let _ = writeln!(std::io::stderr(), "kudu-doctor: warning: {text}");
}

/// `kudu-doctor: <text>` on stderr: the one line that explains a non-zero exit.
pub fn error(text: &str) {
    let _ = writeln!(std::io::stderr(), "kudu-doctor: {text}");
}

/// A further hint on stderr, without the prefix.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
