//! Drift detection: reference vs current data, per column and per dataset.
