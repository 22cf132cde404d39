//! The standalone `oxflow` command (for now: the tracking commands).

fn main() -> std::process::ExitCode {
    oxflow::tracking::cli::main()
}
