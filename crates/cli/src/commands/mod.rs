//! One module per subcommand; each exposes `run(args) -> Result<(), Failure>`.

pub mod diagnose;
pub mod fix;
pub mod parse;
pub mod wait;
