//! `basalt-import`: loads a GraphML file, Basalt's two-file CSV format, or OrientDB's JSON
//! export into a database, with a progress bar; offline (a stopped home or a database
//! directory) or into a running server (`--url`). See `basalt_tools::import`.

use std::path::PathBuf;
use std::process::ExitCode;

use basalt_tools::import::{self, Input, Offline};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "basalt-import",
    version,
    about = "Loads a graph into a Basalt database: GraphML, CSV (a vertices file and an edges file), or an OrientDB export.",
    long_about = "Loads a graph into a Basalt database, the way OrientDB's GraphML import did: every vertex \
into V (or the class its row or node names), each edge label an edge class extending E, every property kept. \
Vertices get RIDs in order of first appearance. An OrientDB export (EXPORT DATABASE, .json.gz) keeps its schema, \
records, edges and indexes. The load is all or nothing: it runs on a copy aside and replaces the database only \
once complete. A database that already holds records is refused unless --append is given. Offline, no server may \
run on the home (its lock refuses); with --url the graph goes to a running server (POST /import/DB). \
CSV format: docs/import-csv.md; export format: docs/formats.md.",
    after_help = "Examples:\n  basalt-import --home ./basalt-home --database Music --create --graphml graph.xml\n  \
basalt-import --db /tmp/social --create --vertices people.csv --edges knows.csv\n  \
basalt-import --home ./basalt-home --database Music --append --graphml more.xml\n  \
basalt-import --home ./basalt-home --database Moved --create --orientdb orientdb-export.json.gz\n  \
basalt-import --url http://localhost:2480 --user root --password PW --database Moved --orientdb export.json.gz"
)]
struct Args {
    /// The database directory.
    #[arg(long, conflicts_with_all = ["home", "database", "url"], required_unless_present = "database")]
    db: Option<PathBuf>,
    /// A server home: the database is HOME/databases/DATABASE.
    #[arg(long, requires = "database", conflicts_with = "url")]
    home: Option<PathBuf>,
    /// The database name (in --home, or on the server of --url).
    #[arg(long)]
    database: Option<String>,
    /// Create the database (it must not exist).
    #[arg(long, conflicts_with = "append")]
    create: bool,
    /// Add to a database that already holds records (GraphML and CSV only).
    #[arg(long)]
    append: bool,
    /// A GraphML file.
    #[arg(long, conflicts_with_all = ["vertices", "edges", "orientdb"], required_unless_present_any = ["vertices", "edges", "orientdb"])]
    graphml: Option<PathBuf>,
    /// A CSV vertices file.
    #[arg(long, conflicts_with = "orientdb")]
    vertices: Option<PathBuf>,
    /// A CSV edges file (after the vertices file).
    #[arg(long, conflicts_with = "orientdb")]
    edges: Option<PathBuf>,
    /// An OrientDB export (`.json.gz` or `.json`), into an empty or new database.
    #[arg(long)]
    orientdb: Option<PathBuf>,
    /// A running server to import into, through POST /import/DATABASE (a new or empty
    /// database; GraphML and CSV are sent as an OrientDB export).
    #[arg(long, requires = "database")]
    url: Option<String>,
    /// The server user (--url).
    #[arg(long, default_value = "root")]
    user: String,
    /// The server password (--url).
    #[arg(long, env = "BASALT_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// The class of vertices that name none.
    #[arg(long, default_value = "V")]
    vertex_class: String,
    /// Items per transaction.
    #[arg(long, default_value_t = 20_000)]
    batch: usize,
    /// No progress bar or lines.
    #[arg(long)]
    quiet: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn input(args: &Args) -> Input {
    match (&args.graphml, &args.orientdb) {
        (Some(g), _) => Input::Graphml(g.clone()),
        (_, Some(o)) => Input::OrientDb(o.clone()),
        _ => Input::Csv { vertices: args.vertices.clone(), edges: args.edges.clone() },
    }
}

fn run(args: Args) -> Result<(), String> {
    if let (Some(url), Some(db)) = (&args.url, &args.database) {
        if args.append {
            return Err(
                "--append works offline only: through --url the server imports into an empty or new database".into()
            );
        }
        let password = args.password.clone().ok_or("--url needs --password (or BASALT_PASSWORD)")?;
        let answer = import::online(url, &args.user, &password, db, &input(&args), &args.vertex_class)?;
        if args.json {
            println!("{}", answer["report"]);
        } else {
            let r = &answer["report"];
            println!(
                "imported {} vertices, {} edges and {} documents into {db} on {url}",
                r["vertices"], r["edges"], r["documents"]
            );
        }
        return Ok(());
    }
    let dir = match (&args.db, &args.home, &args.database) {
        (Some(d), _, _) => d.clone(),
        (None, Some(h), Some(n)) => h.join("databases").join(n),
        (None, None, Some(n)) => PathBuf::from("basalt-home").join("databases").join(n),
        _ => return Err("name the database with --db DIR, or --home HOME --database NAME".into()),
    };
    let home = match (&args.db, &args.home) {
        (None, Some(h)) => Some(h.clone()),
        (None, None) => Some(PathBuf::from("basalt-home")).filter(|h| h.is_dir()),
        _ => None,
    };
    let options = Offline {
        dir,
        home,
        create: args.create,
        append: args.append,
        vertex_class: args.vertex_class.clone(),
        batch: args.batch,
        quiet: args.quiet,
    };
    let report = import::offline(&input(&args), &options)?;
    if args.json {
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    } else {
        let documents =
            if report.documents > 0 { format!(" and {} documents", report.documents) } else { String::new() };
        println!(
            "imported {} vertices and {} edges{documents} into {} in {:.1}s{}",
            report.vertices,
            report.edges,
            report.database.display(),
            report.seconds,
            if report.classes_created.is_empty() {
                String::new()
            } else {
                format!("; created classes {}", report.classes_created.join(", "))
            }
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("basalt-import: {e}");
            ExitCode::FAILURE
        }
    }
}
