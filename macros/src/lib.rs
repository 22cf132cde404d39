//! Attribute macros of oxflow. Use them through the `oxflow` facade crate.
