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
/// `fix`: there is nothing the cleanup can do (the site is clear, or what blocks it is not a
/// leftover: a live deployment, a setting); the message says which.
pub const NOTHING_TO_FIX: u8 = 5;
/// `fix` / `wait --fix-stale`: the cleanup stopped, or was refused, before anything was
/// deleted or restarted.
pub const ABORTED: u8 = 6;
/// `fix` / `wait --fix-stale`: the cleanup deleted or restarted something, then failed or
/// stopped; the message names what was done and where the backup is.
pub const PART_WAY: u8 = 7;
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
