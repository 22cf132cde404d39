//! Streaming detectors.
