//! Placeholder; see the benchmark issue notes.
fn main() {}
