//! elbv2 tests.
