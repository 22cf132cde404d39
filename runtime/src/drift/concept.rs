//! Concept drift between windows.
