//! Serde types for every protocol v1 frame (owned by the server work).
