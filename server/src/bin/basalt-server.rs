//! `basalt-server`: runs one Basalt node. See `basalt-server --help`.

use clap::Parser;

// The server allocates on every request (bodies, rows, JSON): glibc's malloc took about a
// fifth of its CPU under 64 writing clients; mimalloc's thread-local free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = basalt_server::config::Args::parse();
    std::process::exit(basalt_server::app::run(args));
}
