//! The `oxflow drift` command.
