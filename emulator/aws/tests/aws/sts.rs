//! sts tests.
