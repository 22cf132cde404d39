//! What the code `#[task]` and `#[dag]` generate calls, and nothing else does: the autoref
//! dispatch that decides by type what a return value, an error or an argument is; the traits
//! whose `on_unimplemented` messages turn a wiring mistake into a pipeline error at the user's
//! tokens; the accessors an `invoke` function takes its arguments out of an
//! [`Invocation`] with; and the checks `#[dag]` runs in constants. Reached
//! only through `oxflow::__private`.

use std::any::{Any, TypeId, type_name};
use std::convert::Infallible;
use std::fmt::Display;
use std::marker::PhantomData;
use std::sync::Arc;

use super::codec::{OutputCodec, Persist, codec};
use super::context::TaskContext;
use super::def::{ParamsDef, TaskDef};
use super::error::{BoxError, TaskError};
use super::invocation::{Invocation, RunSlot, TaskFuture, TaskOutput};
use super::options::TaskOptions;
use super::sensor::Poke;
use crate::params::{ParamSet, Params};
use crate::tracking::Run;

/// A type a task can output: shared by its consumers across threads, so `Send + Sync +
/// 'static`. `#[task]` asks for it on the output type.
#[diagnostic::on_unimplemented(
    message = "the output `{Self}` of this task cannot be shared with its consumers",
    label = "a task output is shared between threads, so it must be `Send + Sync + 'static`",
    note = "return an owned, thread-safe type: `Arc` rather than `Rc`, `Mutex` rather than `RefCell`, no borrowed data"
)]
pub trait OutputValue: Send + Sync + 'static {}
// `do_not_recommend`: report the missing `OutputValue` rather than `Send` or `Sync`.
#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> OutputValue for T {}

/// Wraps a task's output.
pub fn output<T: OutputValue>(value: T) -> TaskOutput {
    Arc::new(value)
}

/// A cloned input: `#[task]` asks for it on the `T` of a by-value input `T` or `Option<T>`.
#[diagnostic::on_unimplemented(
    message = "the input `{Self}` is taken by value, so it is cloned from the upstream's output, but it does not implement `Clone`",
    label = "`{Self}` does not implement `Clone`",
    note = "take it by reference (`&{Self}`, or `Option<&{Self}>`), or derive `Clone` for it"
)]
pub trait CloneInput: Clone {}
// `do_not_recommend`: report the missing `CloneInput` rather than `Clone`.
#[diagnostic::do_not_recommend]
impl<T: Clone> CloneInput for T {}

/// Clones a by-value input out of the shared output.
pub fn clone_input<T: CloneInput>(value: &T) -> T {
    value.clone()
}

// ---------------------------------------------------------------- what a task returns
//
// Stable Rust cannot ask "is `R` a `Result`?" in a type position, so the generated code asks in
// expressions, by autoref-based dispatch (dtolnay's "autoref specialization"): the method is
// looked up on `&&Probe<R>`; the impl for `&Probe<Result<T, E>>` matches first when `R` is a
// `Result` however it is spelled, and the impl for `Probe<R>` is found one dereference later
// otherwise. Both traits must be in scope, which the generated code does with `use .. as _`.

/// The type a value has, for dispatch on it (see the comment above).
pub struct Probe<R: ?Sized>(PhantomData<fn() -> Box<R>>);

impl<R: ?Sized> Probe<R> {
    /// A probe of `R`.
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<R: ?Sized> Default for Probe<R> {
    fn default() -> Self {
        Probe::new()
    }
}

/// Hands a `Result` return value on as the outcome.
pub type Split<T, E> = fn(Result<T, E>) -> Result<T, E>;

/// A probe of the type of `value`.
pub fn probe<R>(_value: &R) -> Probe<R> {
    Probe::new()
}

/// The output type of a task, as a value: what [`ReturnsResult::output_type`] finds.
pub struct OutputType<T>(PhantomData<fn() -> T>);

/// How a task's return value of type `Result<T, E>` becomes its outcome: `T` is the output and
/// `Err` fails the attempt.
pub trait ReturnsResult {
    /// The output type.
    type Output;
    /// The error type.
    type Error;
    /// The output type, as a value.
    fn output_type(&self) -> OutputType<Self::Output>;
    /// Splits the return value into output or error.
    fn outcome(&self) -> Split<Self::Output, Self::Error>;
}

impl<T, E> ReturnsResult for &Probe<Result<T, E>> {
    type Output = T;
    type Error = E;
    fn output_type(&self) -> OutputType<T> {
        OutputType(PhantomData)
    }
    fn outcome(&self) -> Split<T, E> {
        |r| r
    }
}

/// How any other return value becomes a task's outcome: it is the output, and the attempt
/// cannot fail.
pub trait ReturnsValue {
    /// The output type.
    type Output;
    /// The output type, as a value.
    fn output_type(&self) -> OutputType<Self::Output>;
    /// Wraps the return value as a successful outcome.
    fn outcome(&self) -> fn(Self::Output) -> Result<Self::Output, Infallible>;
}

impl<R> ReturnsValue for Probe<R> {
    type Output = R;
    fn output_type(&self) -> OutputType<R> {
        OutputType(PhantomData)
    }
    fn outcome(&self) -> fn(R) -> Result<R, Infallible> {
        Ok
    }
}

/// A value of the output type, for the never-run type check `#[dag]` generates.
pub fn output_value<T>(_: OutputType<T>) -> T {
    unreachable!("only type-checked, never run")
}

/// The output of a tuple-returning task, downcast, for projecting one element of it.
pub fn downcast_output<T: 'static>(
    value: &(dyn Any + Send + Sync),
    _: OutputType<T>,
) -> Option<&T> {
    value.downcast_ref::<T>()
}

/// The codec of the output type; the bound is checked at the task's return type.
pub fn codec_of<T: Persist>(_: OutputType<T>) -> OutputCodec {
    codec::<T>()
}

// ---------------------------------------------------------------- what a task's `Err` becomes

/// A message-only error, for error types that implement `Display` but not `Error`.
#[derive(Debug)]
struct Message(String);

impl Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// An error type a task may return: an error (kept whole, with its `source()` chain), or at
/// least `Display` (its text is kept). `#[task]` asks for this bound on `E` of a `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "the error type `{Self}` of this task does not implement `Display`",
    label = "an `Err` fails the attempt and its `Display` text is recorded",
    note = "implement `std::error::Error` for it (thiserror's `#[derive(Error)]` does), or return an error type that has it, such as `String` or `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait TaskErrorType: Display {}
// `do_not_recommend`: report the missing `TaskErrorType`, whose message names the fix, rather
// than `Display`.
#[diagnostic::do_not_recommend]
impl<E: Display> TaskErrorType for E {}

/// How an error that converts into `Box<dyn Error + Send + Sync>` (every `Error + Send + Sync`,
/// `String`, `&str`, anyhow's and eyre's errors) fails an attempt: kept whole. Found first by
/// the autoref dispatch the generated code does on a [`Probe`] of the error.
pub trait ErrorIsBoxable {
    /// The error type.
    type Error;
    /// Turns the error into the attempt's error.
    fn task_error(&self) -> fn(Self::Error) -> TaskError;
}

impl<E: Into<BoxError>> ErrorIsBoxable for &Probe<E> {
    type Error = E;
    fn task_error(&self) -> fn(E) -> TaskError {
        |e| TaskError::from_task_error(e.into())
    }
}

/// How any other error that implements `Display` fails an attempt: its text is kept.
pub trait ErrorIsDisplay {
    /// The error type.
    type Error;
    /// Turns the error into the attempt's error.
    fn task_error(&self) -> fn(Self::Error) -> TaskError
    where
        Self::Error: TaskErrorType;
}

impl<E> ErrorIsDisplay for Probe<E> {
    type Error = E;
    fn task_error(&self) -> fn(E) -> TaskError
    where
        E: TaskErrorType,
    {
        |e| TaskError::Failed(Box::new(Message(e.to_string())))
    }
}

// ---------------------------------------------------------------- injected arguments
//
// `#[task]` sees only the function's tokens, so it decides from the way an argument is written
// which one is injected (`&TaskContext`, `&Params<P>`, `&mut _`). These traits make the compiler
// confirm each decision, so a mistaken one is a compile error at the argument, never a wrong run.

/// The types oxflow injects into a task.
pub trait Injected {}
impl Injected for TaskContext {}
impl<P> Injected for Params<P> {}
impl Injected for Run {}

/// Never implemented: the bound the dispatch below asks for when a task input turns out to be
/// an injected type under another name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is injected by oxflow, so it cannot be a task input",
    label = "written this way, the argument is read as an input from an upstream task",
    note = "`#[task]` recognises injected arguments by how they are written: `ctx: &TaskContext`, `params: &Params<MyParams>`, `run: &mut Run` (the run needs `&mut`); an alias or a `use ... as` name hides them"
)]
pub trait InjectedUnderAnotherName {}

/// An input whose type is injected by oxflow: a compile error (see [`InjectedUnderAnotherName`]).
pub trait InputIsInjected {
    /// The input's type.
    type Input: ?Sized;
    /// Fails to compile.
    fn check_input(&self)
    where
        Self::Input: InjectedUnderAnotherName;
}

impl<T: Injected + ?Sized> InputIsInjected for &Probe<T> {
    type Input = T;
    fn check_input(&self)
    where
        T: InjectedUnderAnotherName,
    {
    }
}

/// An input of any other type: fine.
pub trait InputIsData {
    /// Compiles.
    fn check_input(&self) {}
}

impl<T: ?Sized> InputIsData for Probe<T> {}

/// The type of an argument written `&TaskContext`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not oxflow's `TaskContext`",
    label = "`#[task]` reads `&TaskContext` as the injected task context",
    note = "import `oxflow::exec::TaskContext` (it is in `oxflow::prelude`); a type of your own taken from an upstream task needs another name than `TaskContext`"
)]
pub trait ContextArg {
    /// The context as this type.
    fn from_context(ctx: &TaskContext) -> &Self;
}

impl ContextArg for TaskContext {
    fn from_context(ctx: &TaskContext) -> &Self {
        ctx
    }
}

/// The task context, as the `&C` a task declared.
pub fn context<C: ContextArg>(ctx: &TaskContext) -> Result<&C, TaskError> {
    Ok(C::from_context(ctx))
}

/// The type of an argument written `&Params<P>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not oxflow's `Params<P>`",
    label = "`#[task]` reads `&Params<..>` as the DAG's injected params",
    note = "import `oxflow::params::Params` (it is in `oxflow::prelude`); a type of your own taken from an upstream task needs another name than `Params`"
)]
pub trait ParamsArg: 'static {}

impl<P: 'static> ParamsArg for Params<P> {}

/// The DAG's params, as the `&Params<P>` a task declared.
pub fn params_ref<P: ParamsArg>(params: Option<&TaskOutput>) -> Result<&P, TaskError> {
    params.and_then(|p| p.downcast_ref::<P>()).ok_or_else(|| {
        TaskError::Injection(format!(
            "the task takes `&{}` but the DAG run has no params of that type",
            type_name::<P>()
        ))
    })
}

/// The type of an argument written `&mut T`: only the task's tracking run.
#[diagnostic::on_unimplemented(
    message = "a task cannot take `&mut {Self}`: the only `&mut` argument is the task's tracking run, `&mut Run`",
    label = "a task input cannot be borrowed mutably",
    note = "an input from an upstream task is shared with its other consumers: take `&{Self}`, or `{Self}` to get your own copy; to log to the task's run, take `run: &mut Run` (`oxflow::tracking::Run`, in `oxflow::prelude`)"
)]
pub trait RunArg {
    /// The run as this type.
    fn from_run(run: &mut Run) -> &mut Self;
}

impl RunArg for Run {
    fn from_run(run: &mut Run) -> &mut Self {
        run
    }
}

/// The task's tracking run, for a task that takes `&mut Run`.
///
/// In a recorded DAG run this is the task's run in the store. When recording is off
/// (`--no-record`, [`RunConfig::in_memory`](crate::exec::RunConfig::in_memory)), the task still gets a working run, in a private
/// in-memory store dropped with the attempt: the task's code does not change with the
/// recording switch, and nothing it logs reaches a store the user did not ask for (MLflow's
/// equivalent would be logging to a throwaway tracking URI).
pub fn run_mut<R: RunArg>(slot: &mut RunSlot) -> Result<&mut R, TaskError> {
    if slot.run.is_none() {
        let run = match &slot.source {
            Some(source) => source
                .run
                .open(source.try_number, source.started_ms)
                .map_err(|e| TaskError::Injection(format!("cannot open the task's run: {e}")))?,
            None => {
                let store = crate::tracking::TrackingStore::in_memory().map_err(|e| {
                    TaskError::Injection(format!("cannot open an in-memory run: {e}"))
                })?;
                let opts = crate::tracking::RunOptions {
                    run_name: Some(slot.task_id.to_string()),
                    ..Default::default()
                };
                Run::start(store, &slot.dag_id, opts).map_err(|e| {
                    TaskError::Injection(format!("cannot start an in-memory run: {e}"))
                })?
            }
        };
        slot.run = Some(run);
    }
    slot.run
        .as_mut()
        .map(R::from_run)
        .ok_or_else(|| TaskError::Injection("no run".into()))
}

/// `TypeId::of::<T>`, as a function pointer a constant can hold.
pub fn type_id_of<T: 'static>() -> TypeId {
    TypeId::of::<T>()
}

fn build_params<P: ParamSet>(
    overrides: &[(String, String)],
) -> Result<(TaskOutput, Vec<(String, String)>), crate::params::ParamError> {
    let p = P::from_overrides(overrides)?;
    let pairs = p.to_pairs();
    Ok((Arc::new(Params(p)), pairs))
}

/// Which DAG params a task can run with: `#[task]` implements `UsesParams<P>` for the `P` of
/// its `&Params<P>` argument, or for every `P` when it takes none, and `#[dag]` asks every task
/// it calls for `UsesParams` of its own params type ([`NoParams`] without `params = ...`).
#[diagnostic::on_unimplemented(
    message = "task `{Self}` takes `&Params<..>` of a type this DAG does not provide",
    label = "this task reads params the DAG does not have",
    note = "set `#[dag(params = ...)]` to the type in the task's `&Params<..>` argument, or change that argument"
)]
pub trait UsesParams<P> {}

/// The params type of a DAG written without `params = ...`.
pub enum NoParams {}

/// Compiles only if task `T` can run with params `P`; called in `#[dag]`'s never-run edge
/// check.
pub fn uses_params<T: UsesParams<P>, P>() {}

/// A type `#[dag(params = P)]` accepts; the bound `#[dag]` asks for, with a message that names
/// the fix.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a parameter set",
    label = "`#[dag(params = ...)]` needs a parameter set",
    note = "put `#[experiment]` on the struct, or implement `oxflow::params::ParamSet` for it"
)]
pub trait DagParams: ParamSet {}
// `do_not_recommend`: report the missing `DagParams` rather than `ParamSet`.
#[diagnostic::do_not_recommend]
impl<P: ParamSet> DagParams for P {}

/// The functions behind `#[dag(params = P)]`.
pub const fn params_def<P: DagParams>() -> ParamsDef {
    ParamsDef {
        type_name: type_name::<P>,
        type_id: type_id_of::<P>,
        schema: P::schema,
        build: build_params::<P>,
    }
}

// ---------------------------------------------------------------- branching and mapping

/// The type of one element of a tuple output, found by a closure that takes it: `#[dag]` gets
/// the type of `let (a, b) = task(..)`'s `b` this way, without naming it.
pub fn project_type<T, U>(_: OutputType<T>, _: fn(&T) -> &U) -> OutputType<U> {
    OutputType(PhantomData)
}

/// The type a mapped task's handle has: the `Vec` of its instances' outputs.
pub fn mapped_type<T>(_: OutputType<T>) -> OutputType<Vec<T>> {
    OutputType(PhantomData)
}

/// What `task.expand(&list)` maps over: a `Vec`, one instance per element.
#[diagnostic::on_unimplemented(
    message = "`expand` maps over a `Vec<T>`, and `{Self}` is not one",
    label = "one task instance runs per element of this list, so it must be a `Vec<T>`",
    note = "return a `Vec<T>` from the upstream task; each instance then receives one `T` (or `&T`)"
)]
pub trait MapSource: Send + Sync + 'static {
    /// The type of one element.
    type Item: Send + Sync + 'static;
    /// Number of elements.
    fn map_len(&self) -> usize;
    /// Element `k`.
    fn map_element(&self, k: usize) -> Option<&Self::Item>;
}

impl<T: Send + Sync + 'static> MapSource for Vec<T> {
    type Item = T;
    fn map_len(&self) -> usize {
        self.len()
    }
    fn map_element(&self, k: usize) -> Option<&T> {
        self.get(k)
    }
}

/// One element of a mapped list, borrowed, for the never-run type check `#[dag]` generates.
pub fn map_item<S: MapSource>(_: &S) -> &S::Item {
    unreachable!("only type-checked, never run")
}

/// One element of a mapped list, by value, for the never-run type check.
pub fn map_item_owned<S: MapSource>(_: &S) -> S::Item {
    unreachable!("only type-checked, never run")
}

/// The handle of a mapped task, for the never-run type check: the `Vec` of its outputs.
pub fn mapped_outputs<T>(_: T) -> Vec<T> {
    unreachable!("only type-checked, never run")
}

/// A probe of the type `OutputType<S>` stands for, for the dispatch below.
pub fn probe_of<S>(_: OutputType<S>) -> Probe<S> {
    Probe::new()
}

// A mapped task's list, read through autoref dispatch like a return value: the impl for
// `&Probe<Vec<T>>` is found first for a `Vec`, the one for `Probe<S>` otherwise. The second never
// runs: the witness has rustc reject a list that is not a `Vec` ([`MapSource`]), once, at the
// user's argument, and the functions here must not report it again.

/// Reads a mapped task's list that is a `Vec<T>`.
pub trait ListIsVec {
    /// The length of the list, if `value` is it.
    fn list_len(&self, value: &(dyn Any + Send + Sync)) -> Option<usize>;
    /// Element `k` of the list.
    fn list_element<'a>(
        &self,
        value: &'a (dyn Any + Send + Sync),
        k: usize,
    ) -> Option<&'a (dyn Any + Send + Sync)>;
}

impl<T: Send + Sync + 'static> ListIsVec for &Probe<Vec<T>> {
    fn list_len(&self, value: &(dyn Any + Send + Sync)) -> Option<usize> {
        value.downcast_ref::<Vec<T>>().map(Vec::len)
    }
    fn list_element<'a>(
        &self,
        value: &'a (dyn Any + Send + Sync),
        k: usize,
    ) -> Option<&'a (dyn Any + Send + Sync)> {
        let item = value.downcast_ref::<Vec<T>>()?.get(k)?;
        Some(item as &(dyn Any + Send + Sync))
    }
}

/// Any other list type: already a compile error at the user's argument.
pub trait ListIsNotVec {
    /// `None`.
    fn list_len(&self, _value: &(dyn Any + Send + Sync)) -> Option<usize> {
        None
    }
    /// `None`.
    fn list_element<'a>(
        &self,
        _value: &'a (dyn Any + Send + Sync),
        _k: usize,
    ) -> Option<&'a (dyn Any + Send + Sync)> {
        None
    }
}

impl<S> ListIsNotVec for Probe<S> {}

/// An output a mapped task's instances hand to a downstream task as one `Vec`: `#[dag]` asks
/// for it when a task reads a mapped task's handle.
#[diagnostic::on_unimplemented(
    message = "the outputs of this mapped task are collected into a `Vec<{Self}>` for the task that reads them, but `{Self}` does not implement `Clone`",
    label = "a downstream task reads this mapped task's outputs",
    note = "derive `Clone` for `{Self}`: an output is moved into the `Vec` when nothing else holds it, and cloned only when the run's recorder still does"
)]
pub trait MappedOutput: Clone + Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: Clone + Send + Sync + 'static> MappedOutput for T {}

/// The instances' outputs, in order, as one `Vec<T>`. Each is moved out of its `Arc` when the
/// scheduler holds the last reference (always, in a run that is not recorded), else cloned.
pub fn collect_outputs<T: MappedOutput>(
    outputs: Vec<TaskOutput>,
    _: OutputType<T>,
) -> Option<TaskOutput> {
    let mut all = Vec::with_capacity(outputs.len());
    for o in outputs {
        let typed = o.downcast::<T>().ok()?;
        all.push(Arc::try_unwrap(typed).unwrap_or_else(|shared| (*shared).clone()));
    }
    Some(Arc::new(all))
}

/// The output of a `#[task(short_circuit)]`.
#[diagnostic::on_unimplemented(
    message = "a `#[task(short_circuit)]` returns `bool`, not `{Self}`",
    label = "`false` skips everything downstream of this task, so it must return `bool`",
    note = "return `bool` (or `Result<bool, E>`); to choose between paths, return an enum and `match` on its handle in the `#[dag]` body"
)]
pub trait ConditionOutput {}
impl ConditionOutput for bool {}

/// Compiles only if a short-circuit task returns `bool`.
pub fn condition_output<T: ConditionOutput>(_: OutputType<T>) {}

// ---------------------------------------------------------------- checks `#[dag]` runs in constants
//
// What a `#[dag]` cannot see in its own tokens (the ids and options its tasks declare) it checks
// in `const` items over the tasks' definitions: a failed check is a compile error at the call.

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `ids[k]` is also the id of an earlier node.
///
/// ```
/// use oxflow_runtime::__macro_support::id_repeats;
/// const IDS: [&str; 3] = ["load", "train", "load"];
/// const _: () = assert!(!id_repeats(&IDS, 1) && id_repeats(&IDS, 2));
/// ```
pub const fn id_repeats(ids: &[&str], k: usize) -> bool {
    let mut j = 0;
    while j < k && j < ids.len() {
        if k < ids.len() && str_eq(ids[j], ids[k]) {
            return true;
        }
        j += 1;
    }
    false
}

/// Whether `ids[k]`, a (group prefix, id) pair, names the same task as an earlier pair.
///
/// ```
/// use oxflow_runtime::__macro_support::grouped_id_repeats;
/// const IDS: [(&str, &str); 3] = [("", "load"), ("eu.", "load"), ("", "load")];
/// const _: () = assert!(!grouped_id_repeats(&IDS, 1) && grouped_id_repeats(&IDS, 2));
/// ```
pub const fn grouped_id_repeats(ids: &[(&str, &str)], k: usize) -> bool {
    let mut j = 0;
    while j < k && j < ids.len() {
        if k < ids.len() && str_eq(ids[j].0, ids[k].0) && str_eq(ids[j].1, ids[k].1) {
            return true;
        }
        j += 1;
    }
    false
}

/// Whether input `k` of `task` needs its upstream to succeed while the task leaves its trigger
/// rule to the DAG's `default_args`: with a default rule other than `all_success` that input
/// must be optional.
pub const fn input_needs_success(task: &TaskDef, k: usize) -> bool {
    task.options.trigger.is_none() && k < task.inputs.len() && !task.inputs[k].optional
}

/// Whether the options a task ends up with (its own over `defaults`) cap the retry delay below
/// the first delay.
pub const fn retry_cap_below_delay(task: &TaskOptions, defaults: &TaskOptions) -> bool {
    let options = task.or(*defaults);
    match (options.retry_delay, options.max_retry_delay) {
        (Some(delay), Some(max)) => max.as_nanos() < delay.as_nanos(),
        _ => false,
    }
}

/// Never implemented: the bound under which a `#[dag]`'s hidden type is a [`Task`](super::Task), so a DAG
/// body that calls another DAG gets this message.
#[diagnostic::on_unimplemented(
    message = "a `#[dag]` body cannot call another `#[dag]`",
    label = "this is a DAG, not a task",
    note = "call that DAG's tasks here to reuse its steps, or run the two DAGs separately (`run <dag>`); a DAG body wires `#[task]` functions only"
)]
pub trait CalledDag {}

/// The marker type a `#[dag]`'s hidden type carries; it does not implement [`CalledDag`].
pub enum DagMarker {}

fn dag_is_not_a_task(_: Invocation) -> TaskFuture {
    Box::pin(async {
        Err(TaskError::Injection(
            "a `#[dag]` is not a task; this is a bug in oxflow's generated code".into(),
        ))
    })
}

/// The definition a `#[dag]`'s hidden type would have as a task; never used, because the
/// compiler rejects every use of it (see [`CalledDag`]).
pub const DAG_IS_NOT_A_TASK: TaskDef = TaskDef {
    name: "",
    options: TaskOptions::EMPTY,
    inputs: &[],
    output_type: "",
    is_async: false,
    invoke: dag_is_not_a_task,
    codec: None,
    params_type: None,
    short_circuit: false,
    conns: &[],
    sensor: None,
};

// ---------------------------------------------------------------- what a sensor returns

/// What a `#[sensor]` function may return: `Poke<T>`, or `Result<Poke<T>, E>` under any name.
/// Decided by type, so an alias of either works. `Return` is what the sensor is to a `#[dag]`:
/// always a `Result`, so the edge type downstream is exactly `T`, even when `T` is itself a
/// `Result`.
#[diagnostic::on_unimplemented(
    message = "a `#[sensor]` returns `Poke<T>` or `Result<Poke<T>, E>`, not `{Self}`",
    label = "each poke says whether the sensor is done, so this must be a `Poke`",
    note = "return `Poke::NotReady` to be poked again, or `Poke::Ready(value)`: `value` is the output downstream tasks receive; work that is done in one call is a `#[task]`"
)]
pub trait SensorReturn {
    /// The sensor as a task returns it: `Result<T, E>` (`E` is `Infallible` for a plain
    /// `Poke<T>`).
    type Return;
    /// The ready value's type.
    type Output;
    /// The error type.
    type Error;
    /// The poke's outcome: `Ok(Some(v))` ready, `Ok(None)` not ready, `Err(e)` failed.
    fn into_poke(self) -> Result<Option<Self::Output>, Self::Error>;
}

impl<T> SensorReturn for Poke<T> {
    type Return = Result<T, Infallible>;
    type Output = T;
    type Error = Infallible;
    fn into_poke(self) -> Result<Option<T>, Infallible> {
        Ok(self.ready())
    }
}

impl<T, E> SensorReturn for Result<Poke<T>, E> {
    type Return = Result<T, E>;
    type Output = T;
    type Error = E;
    fn into_poke(self) -> Result<Option<T>, E> {
        self.map(Poke::ready)
    }
}

/// How a sensor's return value becomes a poke's outcome, found by autoref dispatch on a
/// [`Probe`] of it: `Ok(Some(v))` ready, `Ok(None)` not ready, `Err(e)` failed.
pub trait PokeOutcome {
    /// The return type.
    type Input;
    /// The ready value's type.
    type Output;
    /// The error type.
    type Error;
    /// The function splitting the return value.
    #[allow(clippy::type_complexity)]
    fn poke_outcome(&self) -> fn(Self::Input) -> Result<Option<Self::Output>, Self::Error>;
}

impl<R: SensorReturn> PokeOutcome for &Probe<R> {
    type Input = R;
    type Output = R::Output;
    type Error = R::Error;
    fn poke_outcome(&self) -> fn(R) -> Result<Option<R::Output>, R::Error> {
        R::into_poke
    }
}

/// The outcome of a return type that is not a `Poke`: never called. The sensor's `Task::Return`
/// already reports that type at the user's return type, once; this fallback keeps the
/// generated body from reporting it again.
pub trait NotAPoke {
    /// The return type.
    type Input;
    /// A function that is never called.
    fn poke_outcome(&self) -> fn(Self::Input) -> Result<Option<Infallible>, Infallible>;
}

impl<R> NotAPoke for Probe<R> {
    type Input = R;
    fn poke_outcome(&self) -> fn(R) -> Result<Option<Infallible>, Infallible> {
        |_| unreachable!("a sensor that does not return a `Poke` does not compile")
    }
}

/// The attempt's error for a poke that was not ready.
pub fn not_ready() -> TaskError {
    TaskError::NotReady
}
