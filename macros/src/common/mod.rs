//! Pieces shared by the macros: error collection and the task options both `#[task]` and
//! `#[dag(default_args(...))]` accept.

mod errors;
mod options;

pub(crate) use errors::Errors;
pub(crate) use options::{
    Site, TASK_OPTIONS, TaskOptionArgs, example, literal, option_value, parse_task_option,
    set_once, set_once_id, task_options_tokens,
};
