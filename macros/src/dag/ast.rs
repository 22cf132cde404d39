//! A `#[dag]` body as a graph: one node per task call, data edges from handles passed as
//! arguments, order edges from `>>`. Also keeps the body rewritten as a type-check witness:
//! the same statements with each task call replaced by a call to the task's input signature, so
//! rustc checks every edge and points at the user's own argument tokens.
//!
//! Control flow, written as Rust a reader already knows:
//! - `match route { Route::Retrain => train(&m), Route::Skip => notify(&m) }`, where `route` is
//!   a task's handle, makes that task a *branch*: its output picks the arm that runs, and the
//!   other arms are skipped. Why a `match` and not a list of task ids (Airflow) or a derive on
//!   the enum: the witness keeps the `match` as written, so rustc itself checks that every
//!   variant has an arm (E0004, naming the missing variant) and that every pattern names a real
//!   variant; and the same patterns, compiled into the DAG, pick the arm at run time, so the
//!   check and the behaviour cannot disagree. `let done = match .. { .. };` gives a handle on
//!   the arms' last tasks, for ordering a join after them: `done >> report(..)`.
//! - `task.expand(&list)` or `task.partial(&a, &b).expand(&list)` maps a task over a `Vec`: one
//!   instance per element, the `partial` handles shared by all of them and passed first. The
//!   handle it returns is the `Vec` of the instances' outputs.
//! - `group!("features", default_args(retries = 2), { .. })` puts the tasks called inside in a
//!   task group. A group names and configures tasks; it is not a scope, so handles bound inside
//!   stay usable after it (as in Airflow, where a task group only groups).

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprCall, ExprMatch, ExprMethodCall, ItemFn, Lit, Meta, Pat, Stmt, Token};

use crate::common::attr::{self, GROUP_DEFAULTS};
use crate::common::{Errors, TaskOptionArgs, check_retry_delays, edit_distance};

pub(crate) struct DagBody {
    pub(crate) nodes: Vec<Node>,
    pub(crate) order_edges: Vec<OrderEdge>,
    /// Every `match` on a task's handle.
    pub(crate) branches: Vec<Branch>,
    /// Every `group!`.
    pub(crate) groups: Vec<Group>,
    /// The body, rewritten for type checking.
    pub(crate) witness: Vec<TokenStream>,
    /// One `type __oxflow_task_N = <called path>;` per node, spanned at the user's path. Every
    /// generated use of the task goes through its alias, so a call to something that is not a
    /// task is reported once, at the call, and not once per use.
    pub(crate) aliases: Vec<TokenStream>,
}

pub(crate) struct Node {
    /// The id: `#[task_id = ".."]` if given, else the called function's name; prefixed with
    /// its groups (`features.clean`).
    pub(crate) id: String,
    /// The id without its groups' prefix.
    pub(crate) raw_id: String,
    /// Whether the id was given with `#[task_id]`.
    pub(crate) explicit_id: bool,
    /// Where the id comes from: the `#[task_id]` string, else the called path.
    pub(crate) id_span: Span,
    /// The span of the call, for diagnostics about this node.
    pub(crate) span: Span,
    /// The called task's path.
    pub(crate) path: syn::Path,
    pub(crate) inputs: Vec<InputRef>,
    /// `task.expand(..)`: which input receives one list element per instance.
    pub(crate) mapped: Option<usize>,
    /// The innermost branch arm the call is in: (index in [`DagBody::branches`], arm).
    pub(crate) arm: Option<(usize, usize)>,
    /// The task starts that arm (no upstream inside it): the branch skips it directly.
    pub(crate) follows: Option<(usize, usize)>,
    /// Ordered after the value of a branch `match`.
    pub(crate) join: bool,
    /// The innermost `group!` the call is in.
    pub(crate) group: Option<usize>,
}

/// A `match` on a task's handle.
pub(crate) struct Branch {
    /// The node whose output is matched.
    pub(crate) node: usize,
    /// Each arm's pattern.
    pub(crate) arms: Vec<Pat>,
}

/// A `group!`.
pub(crate) struct Group {
    pub(crate) id: String,
    pub(crate) parent: Option<usize>,
    pub(crate) defaults: TaskOptionArgs,
}

pub(crate) struct InputRef {
    pub(crate) node: usize,
    /// The tuple element, for handles bound by `let (a, b) = ..`.
    pub(crate) element: Option<usize>,
    /// The argument as written, where a diagnostic about this edge goes.
    pub(crate) span: Span,
}

pub(crate) struct OrderEdge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// The `>>` statement, so a diagnostic can underline all of it.
    pub(crate) tokens: TokenStream,
}

#[derive(Clone, Copy)]
struct Handle {
    node: usize,
    element: Option<usize>,
    /// The value of a branch `match`: an index into `Builder::joins`.
    join: Option<usize>,
}

impl Handle {
    fn of(node: usize) -> Handle {
        Handle {
            node,
            element: None,
            join: None,
        }
    }
}

const UNSUPPORTED: &str = "unsupported statement in a `#[dag]` body; a DAG body only wires tasks: `let x = task(..);`, `let (a, b) = task(..);`, `task(..);` and `a >> b;` (put other code inside a `#[task]`)";

/// What a call-like expression in a `#[dag]` body is.
enum CallLike<'a> {
    /// `task(..)`.
    Call(&'a ExprCall),
    /// `task.expand(..)` or `task.partial(..).expand(..)`.
    Expand(&'a ExprMethodCall),
}

fn call_like(expr: &Expr) -> Option<CallLike<'_>> {
    match strip(expr) {
        Expr::Call(c) => Some(CallLike::Call(c)),
        Expr::MethodCall(m) if m.method == "expand" || m.method == "partial" => {
            Some(CallLike::Expand(m))
        }
        _ => None,
    }
}

/// `group!("id", default_args(..), { .. })`.
struct GroupMacro {
    id: syn::LitStr,
    options: Option<(syn::Ident, TokenStream)>,
    body: syn::Block,
}

impl Parse for GroupMacro {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let id: syn::LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`group!` starts with the group's id in a string: `group!(\"features\", { .. })`",
            )
        })?;
        if input.is_empty() {
            return Err(syn::Error::new(
                id.span(),
                "`group!` needs its tasks in braces after the id: `group!(\"features\", { let f = featurize(&raw); })`",
            ));
        }
        input.parse::<Token![,]>()?;
        let mut options = None;
        if input.peek(syn::Ident) {
            let key: syn::Ident = input.parse()?;
            let content;
            syn::parenthesized!(content in input);
            options = Some((key, content.parse()?));
            input.parse::<Token![,]>()?;
        }
        let body: syn::Block = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`group!` ends with the group's tasks in braces: `group!(\"features\", { let f = featurize(&raw); })`",
            )
        })?;
        let _ = input.parse::<Option<Token![,]>>()?;
        Ok(GroupMacro { id, options, body })
    }
}

struct Builder {
    nodes: Vec<Node>,
    order_edges: Vec<OrderEdge>,
    branches: Vec<Branch>,
    groups: Vec<Group>,
    /// The nodes each join handle stands for.
    joins: Vec<Vec<usize>>,
    /// Branch arms being read, innermost last.
    arms: Vec<(usize, usize)>,
    /// Groups being read, innermost last.
    group_stack: Vec<usize>,
    handles: HashMap<String, Handle>,
    /// Names bound by a statement that already has an error: their uses report nothing more,
    /// so one mistake gives one error.
    poisoned: HashSet<String>,
    witness: Vec<TokenStream>,
    aliases: Vec<TokenStream>,
}

/// The type alias of node `index`, see [`DagBody::aliases`]. It carries the span of the user's
/// path, so rustc's errors about the task land on the call.
pub(crate) fn alias(index: usize, span: Span) -> syn::Ident {
    syn::Ident::new(&format!("__oxflow_task_{index}"), span)
}

/// Airflow's `a << b` (`a` after `b`): oxflow writes edges in the order tasks run.
fn reversed_edge_message(b: &syn::ExprBinary) -> String {
    let mut operands = Vec::new();
    let mut cur = strip(&Expr::Binary(b.clone())).clone();
    while let Expr::Binary(inner) = &cur {
        if !matches!(inner.op, BinOp::Shl(_)) {
            break;
        }
        operands.push(quote::ToTokens::to_token_stream(&*inner.right).to_string());
        cur = strip(&inner.left).clone();
    }
    operands.push(quote::ToTokens::to_token_stream(&cur).to_string());
    format!(
        "`<<` is not supported in a `#[dag]` body: edges read in the order tasks run, with `>>`; write `{}`",
        operands.join(" >> ")
    )
}

/// Why `name`, which no task call bound, cannot be a task argument. `binding` is the name a
/// `let` could give it, for a plain identifier.
fn not_a_handle(name: &str, binding: Option<&str>) -> String {
    let last = name.rsplit("::").next().unwrap_or(name);
    let constant = last.chars().any(|c| c.is_ascii_uppercase())
        && !last.chars().any(|c| c.is_ascii_lowercase());
    if constant {
        return format!(
            "`{name}` is not a task handle: a `#[dag]` body passes only task outputs; pass constants and settings through the DAG's params (`#[dag(params = ...)]`) and read them with `&Params<..>` in the task"
        );
    }
    let example = binding.unwrap_or("x");
    format!(
        "`{name}` is not a task handle: a task argument is the output of a task called earlier in this body, such as `let {example} = some_task(..);`; pass constants and settings through the DAG's params (`#[dag(params = ...)]`)"
    )
}

/// Every name a pattern binds, for poisoning.
fn bound_names(pat: &Pat, out: &mut Vec<String>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.to_string());
            if let Some((_, sub)) = &p.subpat {
                bound_names(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::Slice(t) => t.elems.iter().for_each(|p| bound_names(p, out)),
        Pat::Or(t) => t.cases.iter().for_each(|p| bound_names(p, out)),
        Pat::Struct(t) => t.fields.iter().for_each(|f| bound_names(&f.pat, out)),
        Pat::Type(t) => bound_names(&t.pat, out),
        Pat::Reference(r) => bound_names(&r.pat, out),
        Pat::Paren(p) => bound_names(&p.pat, out),
        _ => {}
    }
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        e => e,
    }
}

/// `#[task_id = "..."]` on a statement.
fn task_id_attr(attrs: &[syn::Attribute], errors: &Errors) -> Option<(String, Span)> {
    let mut id = None;
    for attr in attrs {
        if !attr.path().is_ident("task_id") {
            errors.spanned(
                attr,
                "the only attribute a `#[dag]` statement takes is `#[task_id = \"...\"]`",
            );
            continue;
        }
        match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(l) => match &l.lit {
                    Lit::Str(s) if crate::common::attr::is_valid_id(&s.value()) => {
                        if id.is_some() {
                            errors.spanned(attr, "`#[task_id]` given twice; keep one");
                        }
                        id = Some((s.value(), s.span()));
                    }
                    _ => errors.spanned(
                        &nv.value,
                        "`#[task_id = ...]` expects a string of letters, digits, `_`, `-` or `.`",
                    ),
                },
                other => errors.spanned(
                    other,
                    "`#[task_id = ...]` expects a string such as \"train_eu\"",
                ),
            },
            _ => errors.spanned(attr, "write the id as `#[task_id = \"train_eu\"]`"),
        }
    }
    id
}

/// Attributes inside a `>>` statement: syn hangs a statement's attributes on its leftmost
/// operand, where they would otherwise be dropped without a word.
fn reject_attrs(attrs: &[syn::Attribute], errors: &Errors) {
    for attr in attrs {
        errors.spanned(
            attr,
            "`#[task_id]` names a task call; put it on `let x = task(..);` or `task(..);`, not inside a `>>` edge",
        );
    }
}

impl Builder {
    /// The bound handle closest to `name`, if one is a likely typo of it.
    fn similar_handle(&self, name: &str) -> Option<&str> {
        // One edit per three characters: short names get no guess.
        let limit = name.chars().count() / 3;
        self.handles
            .keys()
            .map(|h| (edit_distance(name, h), h))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, h)| h.as_str())
    }

    /// A handle named by `expr` (`x` or `&x`), or an error naming what is wrong.
    fn handle(&self, expr: &Expr, errors: &Errors) -> Option<(Handle, bool)> {
        let (inner, by_ref) = match strip(expr) {
            Expr::Reference(r) if r.mutability.is_none() => (strip(&r.expr), true),
            e => (e, false),
        };
        match inner {
            Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                let name = p
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match self.handles.get(&name) {
                    Some(h) => Some((*h, by_ref)),
                    None if self.poisoned.contains(&name) => None,
                    None => {
                        let message = match self.similar_handle(&name) {
                            Some(similar) => {
                                format!("`{name}` is not a task handle; did you mean `{similar}`?")
                            }
                            None => not_a_handle(&name, Some(&name)),
                        };
                        errors.spanned(p, message);
                        None
                    }
                }
            }
            Expr::Call(_) => {
                errors.spanned(expr, "a task argument is the handle of an upstream task, not a call: bind a task call with `let x = task(..);` and pass `&x`; other code goes inside a `#[task]`");
                None
            }
            Expr::Field(f) => {
                let message = match (&f.member, strip(&f.base)) {
                    (syn::Member::Unnamed(i), Expr::Path(base)) => {
                        let base = quote::ToTokens::to_token_stream(base).to_string();
                        format!(
                            "a tuple output is taken apart where it is bound, not with `.{}`: `let (a, b) = task(..);`, then pass `&a`; `{base}` is one handle for the whole tuple",
                            i.index
                        )
                    }
                    _ => "a task input receives an upstream's whole output, not a field of it: pass the handle, or add a `#[task]` that picks the field".to_owned(),
                };
                errors.spanned(expr, message);
                None
            }
            Expr::MethodCall(m) => {
                errors.spanned(
                    expr,
                    format!(
                        "a handle is not a value in the `#[dag]` body, so `.{}()` cannot be called on it: pass the handle (`x` or `&x`) and call `{}` inside the task",
                        m.method, m.method
                    ),
                );
                None
            }
            Expr::Path(p) if p.qself.is_none() => {
                let name = quote::ToTokens::to_token_stream(p)
                    .to_string()
                    .replace(' ', "");
                errors.spanned(expr, not_a_handle(&name, None));
                None
            }
            _ => {
                errors.spanned(expr, "a task argument must be the handle of an upstream task (`x` or `&x`); pass constants through the DAG's params");
                None
            }
        }
    }

    /// The called task's path.
    fn task_path(&self, func: &Expr, errors: &Errors) -> Option<syn::Path> {
        match strip(func) {
            Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
            other => {
                errors.spanned(
                    other,
                    "call a `#[task]` function by name, such as `train(&data)`",
                );
                None
            }
        }
    }

    /// Adds a node for a task call and returns its index and its witness expression.
    fn call(
        &mut self,
        call: &ExprCall,
        id: Option<(String, Span)>,
        errors: &Errors,
    ) -> Option<(usize, TokenStream)> {
        let path = self.task_path(&call.func, errors)?;
        let args: Vec<&Expr> = call.args.iter().collect();
        self.add_call(path, call.span(), call.paren_token, &args, None, id, errors)
    }

    /// Adds a node for `task.expand(&xs)` or `task.partial(&a).expand(&xs)`.
    fn expand(
        &mut self,
        m: &ExprMethodCall,
        id: Option<(String, Span)>,
        errors: &Errors,
    ) -> Option<(usize, TokenStream)> {
        if m.method != "expand" {
            errors.spanned(
                &m.method,
                "`partial` gives every instance of a mapped task the same inputs; finish it with the list to map over: `task.partial(&a).expand(&xs)`",
            );
            return None;
        }
        let (func, mut args): (&Expr, Vec<&Expr>) = match strip(&m.receiver) {
            Expr::MethodCall(p) if p.method == "partial" => (&*p.receiver, p.args.iter().collect()),
            Expr::MethodCall(p) => {
                errors.spanned(
                    &p.method,
                    format!(
                        "`.{}` cannot come before `.expand(..)`; a mapped task is written `task.expand(&xs)` or `task.partial(&a).expand(&xs)`",
                        p.method
                    ),
                );
                return None;
            }
            other => (other, Vec::new()),
        };
        if m.args.len() != 1 {
            let message = "`expand` takes the one list to map over: `task.expand(&xs)`; pass the inputs every instance shares with `partial` first: `task.partial(&a).expand(&xs)`";
            if m.args.is_empty() {
                errors.spanned(&m.method, message);
            } else {
                errors.spanned(&m.args, message);
            }
            return None;
        }
        let path = self.task_path(func, errors)?;
        let mapped = args.len();
        args.push(&m.args[0]);
        self.add_call(
            path,
            m.span(),
            m.paren_token,
            &args,
            Some(mapped),
            id,
            errors,
        )
    }

    fn call_like(
        &mut self,
        c: CallLike<'_>,
        id: Option<(String, Span)>,
        errors: &Errors,
    ) -> Option<(usize, TokenStream)> {
        match c {
            CallLike::Call(c) => self.call(c, id, errors),
            CallLike::Expand(m) => self.expand(m, id, errors),
        }
    }

    /// `outer.inner.` for a task in the groups being read.
    fn group_prefix(&self) -> String {
        self.group_stack
            .iter()
            .map(|&g| format!("{}.", self.groups[g].id))
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn add_call(
        &mut self,
        path: syn::Path,
        span: Span,
        paren: syn::token::Paren,
        args: &[&Expr],
        mapped: Option<usize>,
        id: Option<(String, Span)>,
        errors: &Errors,
    ) -> Option<(usize, TokenStream)> {
        let mut inputs = Vec::new();
        let mut ok = true;
        for arg in args {
            match self.handle(arg, errors) {
                Some((h, _)) if h.join.is_some() => {
                    let name = quote::ToTokens::to_token_stream(strip(arg)).to_string();
                    let name = name.trim_start_matches("& ");
                    errors.spanned(
                        arg,
                        format!(
                            "`{name}` is the value of a branch `match`: it orders tasks after the arm that ran (`{name} >> report(..)`) and holds no output to pass; pass the handle of a task before the `match` instead"
                        ),
                    );
                    ok = false;
                }
                Some((h, _)) => inputs.push(InputRef {
                    node: h.node,
                    element: h.element,
                    // The handle itself: on stable a span cannot cover `&x`, and `&` alone
                    // says little.
                    span: match strip(arg) {
                        Expr::Reference(r) => r.expr.span(),
                        e => e.span(),
                    },
                }),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let name = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let index = self.nodes.len();
        let prefix = self.group_prefix();
        self.nodes.push(Node {
            explicit_id: id.is_some(),
            id_span: id.as_ref().map_or_else(|| path.span(), |(_, span)| *span),
            id: format!("{prefix}{}", id.as_ref().map_or(&name, |(id, _)| id)),
            raw_id: id.map_or(name, |(id, _)| id),
            span,
            path: path.clone(),
            inputs,
            mapped,
            arm: self.arms.last().copied(),
            follows: None,
            join: false,
            group: self.group_stack.last().copied(),
        });
        // A handle passed by value would be moved by the witness, and a handle may feed many
        // tasks: hand the witness a fresh value of the handle's type instead.
        let mut arg_tokens = TokenStream::new();
        paren.surround(&mut arg_tokens, |t| {
            for (k, arg) in args.iter().enumerate() {
                if k > 0 {
                    t.extend(quote!(,));
                }
                let arg_span = arg.span();
                if Some(k) == mapped {
                    // One element of the list, as the instance's parameter receives it.
                    match strip(arg) {
                        Expr::Reference(r) => {
                            let inner = &r.expr;
                            t.extend(quote_spanned! {arg_span=>
                                ::oxflow::__private::map_item(&#inner)
                            });
                        }
                        e => t.extend(quote_spanned! {arg_span=>
                            ::oxflow::__private::map_item_owned(&#e)
                        }),
                    }
                    continue;
                }
                match strip(arg) {
                    // A `let` with no expected type, so a handle of the wrong type is reported
                    // as such ("expected `&u32`, found `u32`").
                    Expr::Path(p) => {
                        let span = p.span();
                        t.extend(quote_spanned! {span=>
                            { let __oxflow_value = __oxflow_reuse(&#p); __oxflow_value }
                        });
                    }
                    _ => arg.to_tokens(t),
                }
            }
        });
        let span = path.span();
        let alias = alias(index, span);
        let sig = syn::Ident::new(&format!("__oxflow_signature_{index}"), span);
        // The signature is named as a projection, like the definition in the generated
        // `static`: rustc then reports a type that is not a task once, not once per use.
        self.witness.push(quote_spanned! {span=>
            let #sig: <#alias as ::oxflow::__private::Task>::Signature = ::core::unreachable!();
        });
        self.aliases.push(quote_spanned! {span=>
            #[allow(non_camel_case_types)]
            type #alias = #path;
        });
        // The handle's type is the task's output type: `T` of a `Result<T, E>`, which only a
        // dispatch on the returned value can find (see `oxflow_runtime::task::support`).
        let mut witness = quote_spanned! {span=>
            ::oxflow::__private::output_value(
                (&&::oxflow::__private::probe(&#sig #arg_tokens)).output_type(),
            )
        };
        if mapped.is_some() {
            witness = quote_spanned!(span=> ::oxflow::__private::mapped_outputs(#witness));
        }
        Some((index, witness))
    }

    /// The `match` on a task's handle: a branch. Returns the last task of each arm (for a
    /// join) and the witness, the `match` itself with each arm's tasks replaced by their
    /// witnesses, which rustc checks for exhaustiveness.
    fn branch(&mut self, m: &ExprMatch, errors: &Errors) -> Option<(Vec<usize>, TokenStream)> {
        reject_attrs(&m.attrs, errors);
        let scrutinee = match strip(&m.expr) {
            Expr::Reference(r) => strip(&r.expr),
            e => e,
        };
        let Expr::Path(p) = scrutinee else {
            errors.spanned(
                &m.expr,
                "a `match` in a `#[dag]` body chooses a branch from a task's output: `let route = choose(..); match route { .. }`",
            );
            return None;
        };
        let (h, _) = self.handle(scrutinee, errors)?;
        let what = if h.join.is_some() {
            Some("the value of another branch `match`")
        } else if h.element.is_some() {
            Some("one element of a tuple output")
        } else if self.nodes[h.node].mapped.is_some() {
            Some("the `Vec` of a mapped task's outputs")
        } else {
            None
        };
        if let Some(what) = what {
            errors.spanned(
                scrutinee,
                format!(
                    "a branch `match`es the whole output of one task, and this is {what}; return the enum from a task of its own and `match` on that task's handle"
                ),
            );
            return None;
        }
        let branch = h.node;
        // One `match` per branch task: the DAG holds one chooser per task.
        if self.branches.iter().any(|b| b.node == branch) {
            errors.spanned(
                scrutinee,
                format!(
                    "the output of `{}` is already matched above; a branch task chooses once, so put all of its paths in one `match`",
                    self.nodes[branch].id
                ),
            );
            return None;
        }
        let b = self.branches.len();
        self.branches.push(Branch {
            node: branch,
            arms: Vec::new(),
        });
        let mut arms = Vec::new();
        let mut tails = Vec::new();
        for (k, arm) in m.arms.iter().enumerate() {
            reject_attrs(&arm.attrs, errors);
            if let Pat::Guard(g) = &arm.pat {
                errors.spanned(
                    g.if_token,
                    "a branch arm cannot have a guard: the branch task decides, so return a variant for each path and `match` on the variants alone",
                );
            }
            self.branches[b].arms.push(arm.pat.clone());
            let handles = self.handles.clone();
            let poisoned = self.poisoned.clone();
            let outer = std::mem::take(&mut self.witness);
            let first = self.nodes.len();
            self.arms.push((b, k));
            let tail = self.arm_body(&arm.body, errors);
            self.arms.pop();
            let body = std::mem::replace(&mut self.witness, outer);
            // Bindings made in an arm stay in it, as in Rust.
            self.handles = handles;
            self.poisoned = poisoned;
            let end = self.nodes.len();
            let inside = |u: usize| (first..end).contains(&u);
            for n in first..end {
                if self.nodes[n].arm != Some((b, k)) {
                    continue;
                }
                let inner_upstream = self.nodes[n].inputs.iter().any(|i| inside(i.node))
                    || self.order_edges.iter().any(|e| e.to == n && inside(e.from));
                if inner_upstream {
                    continue;
                }
                self.nodes[n].follows = Some((b, k));
                if !self.nodes[n].inputs.iter().any(|i| i.node == branch) {
                    self.order_edges.push(OrderEdge {
                        from: branch,
                        to: n,
                        tokens: arm.pat.to_token_stream(),
                    });
                }
            }
            let pat = &arm.pat;
            let tail_witness = tail.as_ref().map(|(_, w)| quote!(let _ = #w;));
            // The arm's block at the user's arm body, so rustc's "add a match arm" help lands
            // after the user's last arm.
            let fat_arrow = &arm.fat_arrow_token;
            let end = arm
                .body
                .to_token_stream()
                .into_iter()
                .last()
                .map_or_else(|| arm.body.span(), |t| t.span());
            let block = quote_spanned!(end=> { #(#body)* #tail_witness });
            arms.push(quote!(#pat #fat_arrow #block));
            tails.extend(tail.into_iter().flat_map(|(t, _)| t));
        }
        let span = m.expr.span();
        let ident = &p.path;
        let witness = quote_spanned! {span=>
            match __oxflow_reuse(&#ident) { #(#arms),* }
        };
        Some((tails, witness))
    }

    /// The body of a branch arm: a task call, a block of statements, a `>>` chain, another
    /// `match`, or `()`. Returns the arm's last tasks (its value) and their witness.
    fn arm_body(&mut self, body: &Expr, errors: &Errors) -> Option<(Vec<usize>, TokenStream)> {
        if let Some(c) = call_like(body) {
            let (i, w) = self.call_like(c, None, errors)?;
            return Some((vec![i], w));
        }
        match strip(body) {
            Expr::Block(block) if block.label.is_none() => {
                reject_attrs(&block.attrs, errors);
                let stmts = &block.block.stmts;
                let (last, rest) = match stmts.split_last() {
                    Some((Stmt::Expr(e, None), rest))
                        if call_like(e).is_some() || matches!(strip(e), Expr::Match(_)) =>
                    {
                        (Some(e), rest)
                    }
                    _ => (None, &stmts[..]),
                };
                for s in rest {
                    self.stmt(s, errors);
                }
                last.and_then(|e| self.arm_body(e, errors))
            }
            Expr::Tuple(t) if t.elems.is_empty() => None,
            Expr::Match(m) => {
                let (tails, w) = self.branch(m, errors)?;
                Some((tails, quote!({ #w })))
            }
            e @ Expr::Binary(b) if matches!(b.op, BinOp::Shr(_)) => {
                self.chain(e, errors);
                None
            }
            other => {
                errors.spanned(other, "a branch arm runs tasks: a task call, a block of `#[dag]` statements such as `{ let m = train(&data); deploy(&m) }`, or `{}` to run nothing");
                None
            }
        }
    }

    /// `group!("id", default_args(..), { .. })`.
    fn group(&mut self, mac: &syn::Macro, errors: &Errors) {
        let g: GroupMacro = match mac.parse_body() {
            Ok(g) => g,
            Err(e) => {
                errors.push(e);
                return;
            }
        };
        let id = g.id.value();
        if !attr::is_valid_id(&id) {
            errors.spanned(
                &g.id,
                "a group id is a string of letters, digits, `_`, `-` or `.`, such as \"features\"",
            );
        }
        let defaults = match g.options {
            Some((key, tokens)) if key == "default_args" => {
                let values = attr::parse(&GROUP_DEFAULTS, tokens, errors);
                let options = TaskOptionArgs::from_values(&values);
                check_retry_delays(&options, &GROUP_DEFAULTS, errors);
                options
            }
            Some((key, _)) => {
                errors.spanned(
                    &key,
                    format!("`group!` takes default task options as `default_args(...)`, not `{key}(...)`: `group!(\"features\", default_args(retries = 2), {{ .. }})`"),
                );
                TaskOptionArgs::default()
            }
            None => TaskOptionArgs::default(),
        };
        let index = self.groups.len();
        self.groups.push(Group {
            id,
            parent: self.group_stack.last().copied(),
            defaults,
        });
        self.group_stack.push(index);
        for s in &g.body.stmts {
            self.stmt(s, errors);
        }
        self.group_stack.pop();
    }

    /// The nodes an operand of `>>` stands for: a handle, a call, or a list of either; and
    /// whether it is the value of a branch `match` (what follows it is a join).
    fn operand(&mut self, expr: &Expr, errors: &Errors) -> Option<(Vec<usize>, bool)> {
        let attrs: &[syn::Attribute] = match strip(expr) {
            Expr::Path(e) => &e.attrs,
            Expr::Reference(e) => &e.attrs,
            Expr::Array(e) => &e.attrs,
            Expr::Call(e) => &e.attrs,
            _ => &[],
        };
        reject_attrs(attrs, errors);
        match strip(expr) {
            Expr::Array(a) => {
                let mut out = Vec::new();
                let mut join = false;
                for e in &a.elems {
                    if matches!(strip(e), Expr::Array(_)) {
                        errors.spanned(e, "lists in `>>` do not nest: write `a >> [b, c]`");
                        return None;
                    }
                    let (nodes, j) = self.operand(e, errors)?;
                    out.extend(nodes);
                    join |= j;
                }
                Some((out, join))
            }
            e @ (Expr::Call(_) | Expr::MethodCall(_)) if call_like(e).is_some() => {
                let c = call_like(e)?;
                let (i, w) = self.call_like(c, None, errors)?;
                self.witness.push(quote!(let _ = #w;));
                Some((vec![i], false))
            }
            e @ (Expr::Path(_) | Expr::Reference(_)) => {
                let (h, by_ref) = self.handle(e, errors)?;
                if by_ref {
                    errors.spanned(
                        e,
                        "`>>` takes handles as they are: write `a >> b`, not `&a >> b`",
                    );
                }
                match h.join {
                    Some(j) => Some((self.joins[j].clone(), true)),
                    None => Some((vec![h.node], false)),
                }
            }
            other => {
                errors.spanned(other, "`>>` orders tasks: each side is a task handle, a task call or a list of them, such as `a >> b`, `a >> [b, c]` or `[a, b] >> c`");
                None
            }
        }
    }

    fn chain(&mut self, expr: &Expr, errors: &Errors) {
        // `a >> b >> c` parses as `(a >> b) >> c`: flatten the left spine.
        let mut operands = Vec::new();
        let mut cur = strip(expr);
        while let Expr::Binary(b) = cur {
            if !matches!(b.op, BinOp::Shr(_)) {
                break;
            }
            reject_attrs(&b.attrs, errors);
            operands.push(&*b.right);
            cur = strip(&b.left);
        }
        operands.push(cur);
        operands.reverse();
        let mut groups = Vec::new();
        for o in operands {
            match self.operand(o, errors) {
                Some(g) => groups.push(g),
                None => return,
            }
        }
        for pair in groups.windows(2) {
            let ((before, join), (after, _)) = (&pair[0], &pair[1]);
            if *join {
                for &to in after {
                    self.nodes[to].join = true;
                }
            }
            for &from in before {
                for &to in after {
                    if from == to {
                        let id = &self.nodes[from].id;
                        errors.spanned(
                            expr,
                            format!(
                                "this `>>` orders `{id}` after itself; remove `{id}` from one side"
                            ),
                        );
                        continue;
                    }
                    self.order_edges.push(OrderEdge {
                        from,
                        to,
                        tokens: expr.to_token_stream(),
                    });
                }
            }
        }
    }

    fn poison(&mut self, pat: &Pat) {
        let mut names = Vec::new();
        bound_names(pat, &mut names);
        for name in names {
            self.handles.remove(&name);
            self.poisoned.insert(name);
        }
    }

    fn bind(&mut self, pat: &Pat, node: usize, errors: &Errors) {
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                self.handle_for(&p.ident, Handle::of(node));
            }
            Pat::Wild(_) => {}
            Pat::Type(t) => self.bind(&t.pat, node, errors),
            Pat::Tuple(t) if self.nodes[node].mapped.is_some() => {
                errors.spanned(t, "a mapped task's handle is the `Vec` of its instances' outputs: bind it to one name, `let scores = task.expand(&xs);`");
                self.poison(pat);
            }
            Pat::Tuple(t) => {
                for (i, elem) in t.elems.iter().enumerate() {
                    match elem {
                        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                            self.handle_for(
                                &p.ident,
                                Handle {
                                    node,
                                    element: Some(i),
                                    join: None,
                                },
                            );
                        }
                        Pat::Wild(_) => {}
                        other => {
                            errors.spanned(other, "bind each element of a task's tuple output to a name or `_`: `let (a, b) = task(..);`");
                            self.poison(other);
                        }
                    }
                }
            }
            other => {
                errors.spanned(other, "bind a task's output to a name, `_`, or a flat tuple: `let x = task(..);`, `let (a, b) = task(..);`");
                self.poison(other);
            }
        }
    }

    /// `let done = match route { .. };`: a handle on the last task of each arm, for a join.
    fn join(&mut self, pat: &Pat, m: &ExprMatch, errors: &Errors) {
        let Some((tails, witness)) = self.branch(m, errors) else {
            return self.poison(pat);
        };
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                if tails.is_empty() {
                    errors.spanned(m, "`let .. = match` binds the last task of each arm, for a join, but no arm ends in a task call; end an arm with one, such as `Route::Retrain => train(&data)`");
                    return self.poison(pat);
                }
                let j = self.joins.len();
                self.joins.push(tails);
                self.handle_for(
                    &p.ident,
                    Handle {
                        node: usize::MAX,
                        element: None,
                        join: Some(j),
                    },
                );
                self.witness.push(quote!(let #pat = #witness;));
            }
            Pat::Wild(_) => self.witness.push(quote!(let _ = #witness;)),
            other => {
                errors.spanned(other, "bind the value of a branch `match` to one name, for a join: `let done = match route { .. }; done >> report(..);`");
                self.poison(other);
            }
        }
    }

    fn handle_for(&mut self, name: &syn::Ident, handle: Handle) {
        let name = name.to_string();
        self.poisoned.remove(&name);
        self.handles.insert(name, handle);
    }

    fn stmt(&mut self, stmt: &Stmt, errors: &Errors) {
        match stmt {
            Stmt::Local(local) => {
                let id = task_id_attr(&local.attrs, errors);
                let Some(init) = &local.init else {
                    errors.spanned(
                        local,
                        "a `let` in a `#[dag]` body binds a task call: `let x = task(..);`",
                    );
                    self.poison(&local.pat);
                    return;
                };
                if let Some((_, diverge)) = &init.diverge {
                    errors.spanned(diverge, "`let .. else` is not supported in a `#[dag]` body");
                    self.poison(&local.pat);
                    return;
                }
                if let Expr::Match(m) = strip(&init.expr) {
                    if let Some((_, span)) = id {
                        errors.at(span, "`#[task_id]` names a task call, not a `match`; put it on the task calls in the arms");
                    }
                    return self.join(&local.pat, m, errors);
                }
                let Some(call) = call_like(&init.expr) else {
                    errors.spanned(
                        &init.expr,
                        "a `let` in a `#[dag]` body binds a task call: `let x = task(..);`",
                    );
                    self.poison(&local.pat);
                    return;
                };
                match self.call_like(call, id, errors) {
                    Some((node, witness)) => {
                        self.bind(&local.pat, node, errors);
                        let pat = &local.pat;
                        self.witness.push(quote!(let #pat = #witness;));
                    }
                    None => self.poison(&local.pat),
                }
            }
            Stmt::Expr(expr, _) => match strip(expr) {
                Expr::Call(call) => {
                    let attrs_id = task_id_attr(&call.attrs, errors);
                    if let Some((_, witness)) = self.call(call, attrs_id, errors) {
                        self.witness.push(quote!(let _ = #witness;));
                    }
                }
                Expr::MethodCall(m) if call_like(expr).is_some() => {
                    let attrs_id = task_id_attr(&m.attrs, errors);
                    if let Some((_, witness)) = self.expand(m, attrs_id, errors) {
                        self.witness.push(quote!(let _ = #witness;));
                    }
                }
                Expr::Match(m) => {
                    if let Some((_, witness)) = self.branch(m, errors) {
                        self.witness.push(quote!(#witness;));
                    }
                }
                Expr::Macro(m) if m.mac.path.is_ident("group") => {
                    reject_attrs(&m.attrs, errors);
                    self.group(&m.mac, errors);
                }
                Expr::Binary(b) if matches!(b.op, BinOp::Shr(_)) => self.chain(expr, errors),
                Expr::Binary(b) if matches!(b.op, BinOp::Shl(_)) => {
                    errors.spanned(expr, reversed_edge_message(b))
                }
                other => errors.spanned(other, UNSUPPORTED),
            },
            Stmt::Item(item) => errors.spanned(item, UNSUPPORTED),
            Stmt::Macro(m) if m.mac.path.is_ident("group") => {
                reject_attrs(&m.attrs, errors);
                self.group(&m.mac, errors);
            }
            Stmt::Macro(m) => errors.spanned(m, UNSUPPORTED),
        }
    }
}

impl DagBody {
    pub(crate) fn from_item(item: &ItemFn, errors: &Errors) -> DagBody {
        let mut b = Builder {
            nodes: Vec::new(),
            order_edges: Vec::new(),
            branches: Vec::new(),
            groups: Vec::new(),
            joins: Vec::new(),
            arms: Vec::new(),
            group_stack: Vec::new(),
            handles: HashMap::new(),
            poisoned: HashSet::new(),
            witness: Vec::new(),
            aliases: Vec::new(),
        };
        for stmt in &item.block.stmts {
            b.stmt(stmt, errors);
        }
        DagBody {
            nodes: b.nodes,
            order_edges: b.order_edges,
            branches: b.branches,
            groups: b.groups,
            witness: b.witness,
            aliases: b.aliases,
        }
    }
}
