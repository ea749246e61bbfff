//! `basalt-server`: runs one Basalt node. See `basalt-server --help`.

use clap::Parser;

fn main() {
    let args = basalt_server::config::Args::parse();
    std::process::exit(basalt_server::app::run(args));
}
