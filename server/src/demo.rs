//! The demo database: OrientDB's GratefulDeadConcerts, built on the first run from the
//! GraphML file OrientDB built it from (`data/grateful-dead/`, Apache-2.0, source noted in
//! its README), compiled into the binary so the server needs nothing beside it.

use std::fs::File;
use std::time::Instant;

use basalt_engine::import::{load, GraphmlReader, LoadOptions};
use basalt_engine::Database;
use tracing::info;

use crate::registry::Registry;

/// The demo database's name.
pub const DEMO_DB: &str = "GratefulDeadConcerts";
/// The GraphML file.
const GRAPHML: &[u8] = include_bytes!("../../data/grateful-dead/graph-example-2.xml");

/// Creates and loads the demo database (unless it exists).
///
/// It is built in a staging directory (`.GratefulDeadConcerts.loading`, a name the
/// registry never opens) and moved into place only once loaded and closed, so a server
/// killed halfway through the load leaves no half-loaded demo behind; a leftover staging
/// directory is removed and the load starts over.
pub fn create_demo(registry: &Registry) -> Result<(), String> {
    let started = Instant::now();
    let target = registry.dir().join(DEMO_DB);
    if registry.get(DEMO_DB).is_ok() || target.exists() {
        return Ok(());
    }
    let staging = registry.dir().join(format!(".{DEMO_DB}.loading"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    }
    let (db, _) =
        Database::create(&staging, registry.options().clone()).map_err(|e| format!("{}: {e}", staging.display()))?;
    let reader = GraphmlReader::new(GRAPHML, "graph-example-2.xml");
    let report = load(&db, reader, LoadOptions::default(), |_| {}).map_err(|e| format!("loading the demo: {e}"))?;
    db.close().map_err(|e| format!("closing the loaded demo: {e}"))?;
    std::fs::rename(&staging, &target).map_err(|e| format!("{} to {}: {e}", staging.display(), target.display()))?;
    // The rename must survive a crash as well as the files it moved.
    File::open(registry.dir()).and_then(|d| d.sync_all()).map_err(|e| format!("{}: {e}", registry.dir().display()))?;
    registry.open_new(DEMO_DB).map_err(|e| e.to_string())?;
    info!(
        database = DEMO_DB,
        vertices = report.vertices,
        edges = report.edges,
        ms = started.elapsed().as_millis() as u64,
        "demo database created"
    );
    Ok(())
}
