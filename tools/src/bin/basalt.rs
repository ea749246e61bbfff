//! `basalt`: the Basalt console. Everything lives in `basalt_tools::console`; `basalt --help`
//! describes the flags.

fn main() -> std::process::ExitCode {
    basalt_tools::console::cli::main()
}
