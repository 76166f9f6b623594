//! One module per subcommand; each exposes `run(args) -> Result<(), Failure>`.

pub mod parse;
