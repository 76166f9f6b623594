//! The wasm test runner, built from the same lockfile as the `wasm-bindgen` the app links, so
//! the two can never disagree on the bindgen schema.
fn main() -> anyhow::Result<()> {
    wasm_bindgen_cli::wasm_bindgen_test_runner::run_cli_with_args(std::env::args_os())
}
