//! One table style for every command: plain ASCII, so a table reads the same in a terminal, a
//! CI log, a file or an email, and `grep` finds its cells.

use comfy_table::Table;
use comfy_table::presets::ASCII_FULL;

/// A table with this header, in the command line's style.
///
/// ```
/// let mut t = oxflow_runtime::cli::table(["column", "drift"]);
/// t.add_row(["age", "DRIFT"]);
/// assert!(t.to_string().starts_with("+--------+-------+"));
/// ```
pub fn table<I, T>(header: I) -> Table
where
    I: IntoIterator<Item = T>,
    T: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_style(ASCII_FULL);
    t.set_header(header);
    t
}
