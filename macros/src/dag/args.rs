//! The options of `#[dag(...)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::{Expr, Lit, LitStr, Token, Type};

use crate::common::{
    Errors, Site, TASK_OPTIONS, TaskOptionArgs, example, literal, option_value, parse_duration,
    parse_task_option, set_once, skip_option_value,
};

const KEYWORDS: &str =
    "id, description, schedule, params, max_active_tasks, dagrun_timeout, tags, default_args";

/// Airflow's schedule presets.
const PRESETS: &[&str] = &[
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
];

pub(crate) struct DagArgs {
    pub(crate) id: Option<(String, Span)>,
    pub(crate) description: Option<(String, Span)>,
    pub(crate) schedule: Option<(String, Span)>,
    pub(crate) params: Option<(Type, Span)>,
    pub(crate) max_active_tasks: Option<(usize, Span)>,
    pub(crate) dagrun_timeout: Option<(std::time::Duration, Span)>,
    pub(crate) tags: Option<(Vec<String>, Span)>,
    pub(crate) defaults: TaskOptionArgs,
}

fn string_value(lit: &Lit) -> Option<String> {
    match lit {
        Lit::Str(s) => Some(s.value()),
        _ => None,
    }
}

/// Checks a schedule: a preset or a five-field cron expression.
pub(crate) fn check_schedule(text: &str) -> Result<(), String> {
    let t = text.trim();
    if t.starts_with('@') {
        return if PRESETS.contains(&t) {
            Ok(())
        } else {
            Err(format!(
                "unknown schedule preset \"{t}\"; expected one of: {}",
                PRESETS.join(", ")
            ))
        };
    }
    let fields = t.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "\"{t}\" has {fields} fields; `#[dag(schedule = ...)]` expects a cron expression with five fields (minute hour day-of-month month day-of-week), such as \"0 3 * * *\", or a preset such as \"@daily\""
        ));
    }
    t.parse::<croner::Cron>().map(|_| ()).map_err(|e| {
        // croner's text is a sentence; house style is lower case without a final period.
        let e = e.to_string();
        let e = e.trim_end_matches('.').to_lowercase();
        format!("\"{t}\" is not a valid cron expression ({e}); `#[dag(schedule = ...)]` expects one such as \"0 3 * * *\" or a preset such as \"@daily\"")
    })
}

impl DagArgs {
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> DagArgs {
        let mut out = DagArgs {
            id: None,
            description: None,
            schedule: None,
            params: None,
            max_active_tasks: None,
            dagrun_timeout: None,
            tags: None,
            defaults: TaskOptionArgs::default(),
        };
        let parser = syn::meta::parser(|meta| {
            let name = meta
                .path
                .get_ident()
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            let span = meta
                .path
                .get_ident()
                .map_or_else(Span::call_site, syn::Ident::span);
            match name.as_str() {
                "id" | "description" | "schedule" => {
                    let Some(expr) = option_value(&meta, Site::Dag, &name, errors)? else {
                        return Ok(());
                    };
                    let Some(Lit::Str(lit)) = literal(&expr) else {
                        errors.spanned(
                            &expr,
                            format!(
                                "`#[dag({name} = ...)]` expects a string, such as `{name} = {}`",
                                example(&name)
                            ),
                        );
                        return Ok(());
                    };
                    let text = lit.value();
                    match name.as_str() {
                        "id" => {
                            if crate::task::is_valid_id(&text) {
                                set_once(&mut out.id, text, span, Site::Dag, &name, errors)
                            } else {
                                errors.spanned(lit, "`#[dag(id = ...)]` expects letters, digits, `_`, `-` or `.`, such as \"daily_training\"")
                            }
                        }
                        "description" => {
                            set_once(&mut out.description, text, span, Site::Dag, &name, errors)
                        }
                        _ => match check_schedule(&text) {
                            Ok(()) => {
                                set_once(&mut out.schedule, text, span, Site::Dag, &name, errors)
                            }
                            Err(msg) => errors.spanned(lit, msg),
                        },
                    }
                }
                "params" => {
                    if meta.input.peek(Token![=]) && meta.input.peek2(LitStr) {
                        let lit: LitStr = meta.value()?.parse()?;
                        errors.spanned(
                            &lit,
                            format!("`#[dag(params = ...)]` takes a type, not a string: write `params = {}`", lit.value()),
                        );
                        return Ok(());
                    }
                    if !meta.input.peek(Token![=]) {
                        option_value(&meta, Site::Dag, &name, errors)?;
                        return Ok(());
                    }
                    let ty: Type = meta.value()?.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "`#[dag(params = ...)]` takes the type of the DAG's parameters, such as `params = MyParams`",
                        )
                    })?;
                    set_once(&mut out.params, ty, span, Site::Dag, &name, errors);
                }
                "max_active_tasks" => {
                    let Some(expr) = option_value(&meta, Site::Dag, &name, errors)? else {
                        return Ok(());
                    };
                    match literal(&expr) {
                        Some(Lit::Int(i)) if i.base10_parse::<usize>().is_ok_and(|n| n > 0) => {
                            let n = i.base10_parse::<usize>().unwrap_or(1);
                            set_once(&mut out.max_active_tasks, n, span, Site::Dag, &name, errors);
                        }
                        _ => errors.spanned(&expr, "`#[dag(max_active_tasks = ...)]` expects a whole number of at least 1, such as 4"),
                    }
                }
                "dagrun_timeout" => {
                    let Some(expr) = option_value(&meta, Site::Dag, &name, errors)? else {
                        return Ok(());
                    };
                    match literal(&expr) {
                        Some(Lit::Str(s)) => match parse_duration(s, Site::Dag, &name) {
                            Ok(d) if !d.is_zero() => {
                                set_once(&mut out.dagrun_timeout, d, span, Site::Dag, &name, errors)
                            }
                            Ok(_) => errors.spanned(s, "`#[dag(dagrun_timeout = ...)]` must be longer than zero, such as \"1h\""),
                            Err(e) => errors.push(e),
                        },
                        _ => errors.spanned(&expr, "`#[dag(dagrun_timeout = ...)]` expects a duration in a string, such as \"1h\""),
                    }
                }
                "tags" => {
                    let Some(expr) = option_value(&meta, Site::Dag, &name, errors)? else {
                        return Ok(());
                    };
                    let mut tags = Vec::new();
                    let ok = match &expr {
                        Expr::Array(a) => a.elems.iter().all(|e| match literal(e) {
                            Some(l) => string_value(l).map(|s| tags.push(s)).is_some(),
                            None => false,
                        }),
                        _ => false,
                    };
                    if ok {
                        set_once(&mut out.tags, tags, span, Site::Dag, &name, errors);
                    } else {
                        errors.spanned(&expr, "`#[dag(tags = ...)]` expects a list of strings, such as [\"ml\", \"daily\"]");
                    }
                }
                "default_args" => {
                    if !meta.input.peek(syn::token::Paren) {
                        errors.spanned(
                            &meta.path,
                            "`default_args` takes a list of task options: `#[dag(default_args(retries = 2, timeout = \"1h\"))]`",
                        );
                        if meta.input.peek(Token![=]) {
                            let _: Expr = meta.value()?.parse()?;
                        }
                        return Ok(());
                    }
                    meta.parse_nested_meta(|inner| {
                        if parse_task_option(&inner, &mut out.defaults, Site::DagDefaults, errors)? {
                            return Ok(());
                        }
                        let inner_name = inner.path.get_ident().map_or_else(|| "?".to_owned(), ToString::to_string);
                        errors.spanned(&inner.path, format!("unknown option `{inner_name}` in `#[dag(default_args(...))]`; expected one of: {}", TASK_OPTIONS.join(", ")));
                        if inner.input.peek(syn::Token![=]) {
                            let _: Expr = inner.value()?.parse()?;
                        }
                        Ok(())
                    })?;
                }
                _ => {
                    errors.spanned(
                        &meta.path,
                        format!("unknown `#[dag]` option `{name}`; expected one of: {KEYWORDS}"),
                    );
                    skip_option_value(&meta)?;
                }
            }
            Ok(())
        });
        if let Err(e) = parser.parse2(args) {
            errors.push(e);
        }
        out
    }
}
