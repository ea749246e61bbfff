//! The demo database: OrientDB's GratefulDeadConcerts, built on the first run from the
//! GraphML file OrientDB built it from (`data/grateful-dead/`, Apache-2.0, source noted in
//! its README), compiled into the binary so the server needs nothing beside it.

use std::time::Instant;

use basalt_engine::import::{load, GraphmlReader, LoadOptions};
use tracing::info;

use crate::registry::{Registry, RegistryError};

/// The demo database's name.
pub const DEMO_DB: &str = "GratefulDeadConcerts";
/// The GraphML file.
const GRAPHML: &[u8] = include_bytes!("../../data/grateful-dead/graph-example-2.xml");

/// Creates and loads the demo database (unless it exists).
pub fn create_demo(registry: &Registry) -> Result<(), String> {
    let started = Instant::now();
    let handle = match registry.create(DEMO_DB) {
        Ok(h) => h,
        Err(RegistryError::Exists(_)) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let reader = GraphmlReader::new(GRAPHML, "graph-example-2.xml");
    let report =
        load(&handle.db, reader, LoadOptions::default(), |_| {}).map_err(|e| format!("loading the demo: {e}"))?;
    handle.db.checkpoint().map_err(|e| e.to_string())?;
    info!(
        database = DEMO_DB,
        vertices = report.vertices,
        edges = report.edges,
        ms = started.elapsed().as_millis() as u64,
        "demo database created"
    );
    Ok(())
}
