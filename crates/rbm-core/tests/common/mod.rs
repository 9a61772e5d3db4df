//! Fixtures shared by the integration tests (and, by path, the examples).

pub mod rings;
