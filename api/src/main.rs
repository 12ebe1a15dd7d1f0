//! The `switchboard` binary; everything lives in the library (`switchboard_api::cli`).

fn main() -> std::process::ExitCode {
    switchboard_api::cli::main()
}
