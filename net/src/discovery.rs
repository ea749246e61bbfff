//! Discovery (arrives in the next step).
