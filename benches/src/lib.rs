//! Criterion benchmarks of Basalt live in `benches/benches/`, one file per subsystem. This
//! library holds nothing; it exists so the benchmarks have a package. Run them with
//! `cargo bench -p basalt-benches`.
