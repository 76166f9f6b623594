//! Exit codes and the failure that carries one to `main`.

/// Something went wrong that is not one of the cases below (site unreachable, a read that
/// keeps failing).
pub const FAILURE: u8 = 1;
/// The input could not be read or used.
pub const BAD_INPUT: u8 = 2;
/// `wait`: the site was still busy when the timeout ran out.
pub const TIMEOUT: u8 = 3;
/// The site refused the credentials (401, 403, or a login page instead of JSON).
pub const AUTH: u8 = 4;
/// The command line itself was wrong (BSD `EX_USAGE`).
pub const USAGE: u8 = 64;

/// Standard output could not be written (BSD `EX_IOERR`).
pub const OUTPUT: u8 = 74;

/// Why a command failed: one line for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    /// One line, without the `kudu-doctor: ` prefix.
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(USAGE, message)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure::new(BAD_INPUT, message)
    }
}
