//! `basalt-snapshot`: snapshot files of Basalt databases. `create` takes one (offline from a
//! stopped home, or online through a running server), `inspect` shows what one holds,
//! `verify` checks it end to end, `restore` brings a database back from a snapshot file or
//! from a `backup/databases/DB-TIME/` directory. See `basalt_tools::snapshot`.

use std::path::PathBuf;
use std::process::ExitCode;

use basalt_tools::snapshot::{self, Report};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "basalt-snapshot",
    version,
    about = "Takes, checks and restores snapshots of Basalt databases.",
    long_about = "Takes, checks and restores snapshots of Basalt databases. A snapshot file is a consistent \
image of one database at one LSN: its checkpointed files, zstd-compressed in checksummed chunks, with the \
database's digest (format: docs/formats.md). Nothing is ever installed before the whole snapshot is verified, \
and an existing database is never deleted: `restore --replace` moves it to <home>/backup/databases/ first.",
    after_help = "Examples:\n  \
basalt-snapshot create --home ./basalt-home --db GratefulDeadConcerts gd.snap\n  \
basalt-snapshot create --url http://localhost:2480 --user root --password root --db GratefulDeadConcerts gd.snap\n  \
basalt-snapshot inspect gd.snap\n  \
basalt-snapshot verify gd.snap\n  \
basalt-snapshot restore gd.snap --home ./other-home --as Copy\n  \
basalt-snapshot restore gd.snap --home ./other-home --as Before --until '2026-12-07 14:05:00' --archive /var/lib/basalt-archive\n  \
basalt-snapshot restore ./basalt-home/backup/databases/GratefulDeadConcerts-20261207T010203Z --home ./basalt-home --replace"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bar or lines.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Take a snapshot: from a stopped home (--home), or through a running server (--url).
    Create {
        /// The server home (offline; no server may run on it).
        #[arg(long, conflicts_with = "url", required_unless_present = "url")]
        home: Option<PathBuf>,
        /// A running server's HTTP address (online; writes go on meanwhile).
        #[arg(long)]
        url: Option<String>,
        /// The user (online); an administrator.
        #[arg(long, requires = "url", default_value = "root")]
        user: String,
        /// The password (online); also BASALT_PASSWORD.
        #[arg(long, requires = "url", env = "BASALT_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// The database.
        #[arg(long)]
        db: String,
        /// The snapshot file to write (written aside, then renamed).
        out: PathBuf,
    },
    /// Show a snapshot's database, LSN, time, sizes, record counts and digest.
    Inspect {
        /// The snapshot file.
        file: PathBuf,
    },
    /// Check every checksum, decompress everything, and recompute the digest from the records.
    Verify {
        /// The snapshot file.
        file: PathBuf,
        /// Where to unpack it while checking (removed afterwards).
        #[arg(long, default_value_os_t = std::env::temp_dir())]
        scratch: PathBuf,
    },
    /// Restore a database from a snapshot file or a backup directory into a stopped home.
    Restore {
        /// A snapshot file, or a `backup/databases/DB-TIME/` directory.
        source: PathBuf,
        /// The server home (no server may run on it).
        #[arg(long)]
        home: PathBuf,
        /// The database name to restore as (default: the snapshot's, or the directory's).
        #[arg(long = "as")]
        name: Option<String>,
        /// Move a database of that name to backup/databases/ and restore in its place.
        #[arg(long)]
        replace: bool,
        /// Point in time: then replay the WAL archive up to this LSN (inclusive), or up to the
        /// last transaction committed at or before this time (RFC 3339, or
        /// 'YYYY-MM-DD HH:MM:SS' in UTC).
        #[arg(long, value_name = "LSN|TIME")]
        until: Option<basalt_tools::time::Bound>,
        /// The WAL archive (the `[wal] archive` setting; its `DB/` folder is used if there is one).
        /// Default: the home's config/basalt.toml setting.
        #[arg(long, requires = "until", value_name = "DIR")]
        archive: Option<PathBuf>,
    },
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn print_text(command: &Command, r: &Report) {
    let h = &r.header;
    match command {
        Command::Create { .. } => println!(
            "wrote {}: database {} at LSN {}, {} raw, {} compressed, in {:.2}s",
            r.path.display(),
            h.database,
            h.lsn,
            mib(r.raw_bytes),
            mib(r.compressed_bytes),
            r.seconds
        ),
        Command::Verify { .. } => println!(
            "{}: OK: {} chunks, {} raw, digest {} at LSN {} recomputed from the records",
            r.path.display(),
            r.chunks,
            mib(r.raw_bytes),
            h.digest,
            h.lsn
        ),
        Command::Restore { .. } => {
            if let Some(b) = &r.moved_to_backup {
                println!("moved the database that was there to {}", b.display());
            }
            if let Some(p) = &r.pitr {
                println!(
                    "replayed {} entries from {} (LSN {} to {}{})",
                    p.entries_replayed,
                    p.archive.display(),
                    p.snapshot_lsn,
                    p.restored_lsn,
                    p.restored_time.as_ref().map(|t| format!(", last commit {t}")).unwrap_or_default()
                );
                if let Some(n) = &p.note {
                    println!("note: {n}");
                }
            }
            println!(
                "restored database {} at LSN {} into {} (digest {})",
                h.database,
                h.lsn,
                r.path.display(),
                h.digest
            );
        }
        Command::Inspect { .. } => {
            println!("database:    {}", h.database);
            println!("database id: {}", h.database_id);
            println!("LSN:         {}", h.lsn);
            println!("created:     {} (unix ms {})", created(h.created_unix_ms), h.created_unix_ms);
            println!("raw:         {}", mib(r.raw_bytes));
            println!("compressed:  {} (file size)", mib(r.compressed_bytes));
            println!("digest:      {}", h.digest);
            println!("files:       {}", h.files.len());
            println!("records per class:");
            for (class, n) in &h.classes {
                println!("  {class:<24} {n}");
            }
        }
    }
}

fn created(ms: u64) -> String {
    snapshot::utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

fn run(args: &Args) -> Result<Report, String> {
    match &args.command {
        Command::Create { home: Some(home), db, out, .. } => snapshot::create_offline(home, db, out, args.quiet),
        Command::Create { url: Some(url), user, password, db, out, .. } => {
            let password = password.clone().ok_or("give --password (or BASALT_PASSWORD) with --url")?;
            snapshot::create_online(url, user, &password, db, out, args.quiet)
        }
        Command::Create { .. } => Err("give --home HOME (offline) or --url URL (online)".into()),
        Command::Inspect { file } => snapshot::inspect(file),
        Command::Verify { file, scratch } => snapshot::verify(file, scratch, args.quiet),
        Command::Restore { source, home, name, replace, until, archive } => {
            let until = until.map(|bound| snapshot::Until { bound, archive: archive.clone() });
            snapshot::restore_until(source, home, name.as_deref(), *replace, args.quiet, until)
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("basalt-snapshot: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print_text(&args.command, &report);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("basalt-snapshot: {e}");
            ExitCode::FAILURE
        }
    }
}
