//! What a task is, to everything else: the types `#[task]` and `#[dag]` generate code against.
//!
//! The bottom of the runtime. `dag` builds graphs of the definitions here ([`TaskDef`],
//! [`TaskOptions`]), `exec` runs them through the calling convention here ([`Invocation`],
//! [`TaskContext`], [`TaskError`], [`OutputCodec`]); this module uses neither of them, so
//! another executor can run the same tasks. What an executor lends an attempt beyond its
//! inputs (the tracking run, the log scope, a watch on the body) is behind the small traits of
//! `attempt`, which `exec` implements.
//!
//! The types are public where users meet them: `oxflow::exec` (`TaskContext`, `TaskError`,
//! `Skip`, `Fail`, `Task`, `Invocation`, `xcom`) and `oxflow::dag` (`TaskDef`, `TaskOptions`,
//! `TriggerRule`, `OutputCodec`). Generated code names them through `oxflow::__private`.

mod attempt;
mod codec;
mod context;
mod def;
mod error;
mod invocation;
mod options;
pub(crate) mod sensor;
pub(crate) mod support;
pub mod xcom;

pub(crate) use attempt::{AttemptRun, BodyEnd, BodyGuard, LogScope, TaskRunHandle};
pub use codec::{OutputCodec, Persist, codec, codec_from};
pub(crate) use context::RunConnections;
pub use context::TaskContext;
pub use def::{BuildParams, ParamsDef, ParamsType, Task, TaskDef};
pub use error::{BoxError, Fail, Skip, TaskError};
pub(crate) use invocation::panic_message;
pub use invocation::{
    ElementFn, InputParam, InputType, InputValue, Inputs, Invocation, InvokeFn, ProjectFn, RunSlot,
    TaskFuture, TaskOutput,
};
pub use invocation::{run_async, run_blocking};
pub use options::{ResolvedOptions, TaskOptions, TriggerRule, TriggerRuleParseError};

#[cfg(test)]
mod tests {
    /// The bottom stays the bottom: no code here names `dag` or `exec` (doc comments may link
    /// to them), so neither can form an import cycle through it.
    #[test]
    fn the_task_module_uses_neither_dag_nor_exec() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/task");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            files += 1;
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                // Spelt in two halves, so this test's own source does not match.
                let upward = [concat!("crate::", "exec"), concat!("crate::", "dag")];
                assert!(
                    !upward.iter().any(|m| line.contains(m)),
                    "{}:{}: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
        assert!(files > 5, "read {files} files of {}", dir.display());
    }
}
