//! A `#[dag]` body as a graph: one node per task call, data edges from handles passed as
//! arguments, order edges from `>>`. Also keeps the body rewritten as a type-check witness:
//! the same statements with each task call replaced by a call to the task's input signature, so
//! rustc checks every edge and points at the user's own argument tokens.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprCall, ItemFn, Lit, Meta, Pat, Stmt};

use crate::common::{Errors, edit_distance};

pub(crate) struct DagBody {
    pub(crate) nodes: Vec<Node>,
    pub(crate) order_edges: Vec<OrderEdge>,
    /// The body, rewritten for type checking.
    pub(crate) witness: Vec<TokenStream>,
    /// One `type __oxflow_task_N = <called path>;` per node, spanned at the user's path. Every
    /// generated use of the task goes through its alias, so a call to something that is not a
    /// task is reported once, at the call, and not once per use.
    pub(crate) aliases: Vec<TokenStream>,
}

pub(crate) struct Node {
    /// The id: `#[task_id = ".."]` if given, else the called function's name.
    pub(crate) id: String,
    /// Whether the id was given with `#[task_id]`.
    pub(crate) explicit_id: bool,
    /// Where the id comes from: the `#[task_id]` string, else the called path.
    pub(crate) id_span: Span,
    /// The span of the call, for diagnostics about this node.
    pub(crate) span: Span,
    /// The called task's path.
    pub(crate) path: syn::Path,
    pub(crate) inputs: Vec<InputRef>,
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
}

const UNSUPPORTED: &str = "unsupported statement in a `#[dag]` body; a DAG body only wires tasks: `let x = task(..);`, `let (a, b) = task(..);`, `task(..);` and `a >> b;` (put other code inside a `#[task]`)";

struct Builder {
    nodes: Vec<Node>,
    order_edges: Vec<OrderEdge>,
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

    /// Adds a node for a task call and returns its index and its witness expression.
    fn call(
        &mut self,
        call: &ExprCall,
        id: Option<(String, Span)>,
        errors: &Errors,
    ) -> Option<(usize, TokenStream)> {
        let path = match strip(&call.func) {
            Expr::Path(p) if p.qself.is_none() => p.path.clone(),
            other => {
                errors.spanned(
                    other,
                    "call a `#[task]` function by name, such as `train(&data)`",
                );
                return None;
            }
        };
        let mut inputs = Vec::new();
        let mut ok = true;
        for arg in &call.args {
            match self.handle(arg, errors) {
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
        self.nodes.push(Node {
            explicit_id: id.is_some(),
            id_span: id.as_ref().map_or_else(|| path.span(), |(_, span)| *span),
            id: id.map_or(name, |(id, _)| id),
            span: call.span(),
            path: path.clone(),
            inputs,
        });
        // A handle passed by value would be moved by the witness, and a handle may feed many
        // tasks: hand the witness a fresh value of the handle's type instead.
        let mut arg_tokens = TokenStream::new();
        call.paren_token.surround(&mut arg_tokens, |t| {
            for pair in call.args.pairs() {
                let arg = *pair.value();
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
                pair.punct().to_tokens(t);
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
        let witness = quote_spanned! {span=>
            ::oxflow::__private::output_value(
                (&&::oxflow::__private::probe(&#sig #arg_tokens)).output_type(),
            )
        };
        Some((index, witness))
    }

    /// The nodes an operand of `>>` stands for: a handle, a call, or a list of either.
    fn operand(&mut self, expr: &Expr, errors: &Errors) -> Option<Vec<usize>> {
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
                for e in &a.elems {
                    if matches!(strip(e), Expr::Array(_)) {
                        errors.spanned(e, "lists in `>>` do not nest: write `a >> [b, c]`");
                        return None;
                    }
                    out.extend(self.operand(e, errors)?);
                }
                Some(out)
            }
            Expr::Call(call) => {
                let (i, w) = self.call(call, None, errors)?;
                self.witness.push(quote!(let _ = #w;));
                Some(vec![i])
            }
            e @ (Expr::Path(_) | Expr::Reference(_)) => {
                let (h, by_ref) = self.handle(e, errors)?;
                if by_ref {
                    errors.spanned(
                        e,
                        "`>>` takes handles as they are: write `a >> b`, not `&a >> b`",
                    );
                }
                Some(vec![h.node])
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
            for &from in &pair[0] {
                for &to in &pair[1] {
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
                self.handle_for(
                    &p.ident,
                    Handle {
                        node,
                        element: None,
                    },
                );
            }
            Pat::Wild(_) => {}
            Pat::Type(t) => self.bind(&t.pat, node, errors),
            Pat::Tuple(t) => {
                for (i, elem) in t.elems.iter().enumerate() {
                    match elem {
                        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                            self.handle_for(
                                &p.ident,
                                Handle {
                                    node,
                                    element: Some(i),
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
                let Expr::Call(call) = strip(&init.expr) else {
                    errors.spanned(
                        &init.expr,
                        "a `let` in a `#[dag]` body binds a task call: `let x = task(..);`",
                    );
                    self.poison(&local.pat);
                    return;
                };
                match self.call(call, id, errors) {
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
                Expr::Binary(b) if matches!(b.op, BinOp::Shr(_)) => self.chain(expr, errors),
                Expr::Binary(b) if matches!(b.op, BinOp::Shl(_)) => {
                    errors.spanned(expr, reversed_edge_message(b))
                }
                other => errors.spanned(other, UNSUPPORTED),
            },
            Stmt::Item(item) => errors.spanned(item, UNSUPPORTED),
            Stmt::Macro(m) => errors.spanned(m, UNSUPPORTED),
        }
    }
}

impl DagBody {
    pub(crate) fn from_item(item: &ItemFn, errors: &Errors) -> DagBody {
        let mut b = Builder {
            nodes: Vec::new(),
            order_edges: Vec::new(),
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
            witness: b.witness,
            aliases: b.aliases,
        }
    }
}
