//! Exit codes and the failure that carries one to `main`.

/// The input could not be read or used.
pub const BAD_INPUT: u8 = 2;
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
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            code: BAD_INPUT,
            message: message.into(),
        }
    }
}
