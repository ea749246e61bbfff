//! Basalt's cross-crate tests live in `tests/tests/`; the programs they drive (children to
//! SIGKILL, for instance) are the binaries in `tests/src/bin/`.
