//! imds tests.
