//! Every option of every oxflow attribute, declared once: its name, an example value and the kind
//! of value it takes ([`OptionDef`]), grouped by the attribute that accepts it ([`Site`]). One
//! parser ([`parse`]) reads any attribute against its site, so "expected one of" lists, "needs a
//! value such as" hints, repeat and type errors all come from this table (serde_derive's
//! `attr.rs` and `symbol.rs` in one).
//!
//! Parsing gives [`Values`]: the options as written, each with its span; each macro's `args.rs`
//! takes its typed options out of them.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprRange, Lit, LitStr, Token, Type};

use super::{Errors, edit_distance};

/// What an option's value must be.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A whole number, such as `3`.
    Count,
    /// A whole number of at least 1.
    PositiveCount,
    /// A duration in a string, such as `"30s"`.
    Duration,
    /// A duration in a string, longer than zero: a limit. The texts say what a zero limit would
    /// do and what leaving the option out means, for the message rejecting it.
    PositiveDuration(&'static str, &'static str),
    /// A number of at least 1.0.
    Multiplier,
    /// One of Airflow's trigger rules, in a string.
    Trigger,
    /// `true` or `false`.
    Bool,
    /// A switch: the bare name turns it on (`short_circuit`); `= true` or `= false` also work.
    Flag,
    /// A task or DAG id: letters, digits, `_`, `-`, `.`.
    Id,
    /// Any string.
    Text,
    /// A string that is not blank.
    Name,
    /// A cron expression or a schedule preset, or `None`.
    Schedule,
    /// A date or time in a string: `"2026-01-01"`, RFC 3339.
    Date,
    /// One of the given words, in a string.
    OneOf(&'static [&'static str]),
    /// A type, such as `MyParams`.
    Type,
    /// A list of strings, such as `["ml"]`.
    StringList,
    /// A list of connection ids, such as `["warehouse"]`: each a non-empty string of letters,
    /// digits, `_`, `-` or `.`, none twice.
    ConnIds,
    /// Options of another site, in parentheses.
    Nested(&'static Site),
    /// Any expression.
    Expr,
    /// A range, such as `0.0..=1.0`.
    Range,
}

/// One option.
pub(crate) struct OptionDef {
    pub(crate) name: &'static str,
    /// A value, as a user would write it; quoted in messages.
    pub(crate) example: &'static str,
    pub(crate) kind: Kind,
}

const fn opt(name: &'static str, example: &'static str, kind: Kind) -> OptionDef {
    OptionDef {
        name,
        example,
        kind,
    }
}

/// An attribute, or a list nested in one, and the options it takes.
pub(crate) struct Site {
    /// The attribute as messages name it, such as `#[dag(default_args(...))]`.
    pub(crate) attr: &'static str,
    /// What comes before `name = ...` when quoting an option, such as `#[dag(default_args(`.
    open: &'static str,
    /// What closes it, such as `))]`.
    close: &'static str,
    /// The options, in the order messages list them.
    pub(crate) options: &'static [&'static [OptionDef]],
}

impl Site {
    /// The option's syntax, such as `#[dag(default_args(timeout = ...))]`.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{name} = ...{}", self.open, self.close)
    }

    /// The option's syntax with a value, such as `#[task(retries = 3)]`.
    pub(crate) fn with_value(&self, name: &str, value: &str) -> String {
        format!("{}{name} = {value}{}", self.open, self.close)
    }

    fn find(&self, name: &str) -> Option<&'static OptionDef> {
        self.options
            .iter()
            .flat_map(|o| o.iter())
            .find(|o| o.name == name)
    }

    /// Every option name, comma-separated.
    pub(crate) fn names(&self) -> String {
        self.options
            .iter()
            .flat_map(|o| o.iter())
            .map(|o| o.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The option a misspelt `name` probably meant.
    fn similar(&self, name: &str) -> Option<&'static str> {
        let limit = (name.chars().count() / 3).max(1);
        self.options
            .iter()
            .flat_map(|o| o.iter())
            .map(|o| (edit_distance(name, o.name), o.name))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, n)| n)
    }
}

/// The retry options of a task, which `#[task]`, `#[sensor]` and `#[dag(default_args(...))]`
/// share.
const RETRY_OPTIONS: &[OptionDef] = &[
    opt("retries", "3", Kind::Count),
    opt("retry_delay", "\"30s\"", Kind::Duration),
    opt("backoff", "2.0", Kind::Multiplier),
    opt("max_retry_delay", "\"10m\"", Kind::Duration),
];

/// A task's time limit per attempt; on `#[sensor]`, `timeout` is the sensor's own (see
/// [`SENSOR`]).
const TIMEOUT_OPTION: &[OptionDef] = &[opt(
    "timeout",
    "\"1h\"",
    Kind::PositiveDuration("every attempt would time out at once", "no limit"),
)];

/// When a task runs and whether its output is kept, for tasks and sensors alike.
const FLOW_OPTIONS: &[OptionDef] = &[
    opt("trigger", "\"all_done\"", Kind::Trigger),
    opt("persist", "false", Kind::Bool),
];

/// The task options, which `#[task]` and `#[dag(default_args(...))]` share.
pub(crate) const TASK_OPTIONS: &[&[OptionDef]] = &[RETRY_OPTIONS, TIMEOUT_OPTION, FLOW_OPTIONS];

/// The sensor's modes, as `#[sensor(mode = ...)]` takes them.
pub(crate) const SENSOR_MODES: &[&str] = &["poke", "reschedule"];

/// The options only a sensor has.
const SENSOR_OPTIONS: &[OptionDef] = &[
    opt(
        "poke_interval",
        "\"30s\"",
        Kind::PositiveDuration("the sensor would poke without pause", "a poke every 60s"),
    ),
    opt(
        "timeout",
        "\"1h\"",
        Kind::PositiveDuration(
            "the sensor would time out at its first poke",
            "Airflow's 7 days",
        ),
    ),
    opt("mode", "\"reschedule\"", Kind::OneOf(SENSOR_MODES)),
    opt("soft_fail", "true", Kind::Bool),
    opt("exponential_backoff", "true", Kind::Bool),
    opt(
        "max_wait",
        "\"10m\"",
        Kind::PositiveDuration("the sensor would poke without pause", "no cap"),
    ),
];

/// `#[task(...)]`.
pub(crate) const TASK: Site = Site {
    attr: "#[task]",
    open: "#[task(",
    close: ")]",
    options: &[
        &[
            opt("id", "\"load_data\"", Kind::Id),
            opt("short_circuit", "true", Kind::Flag),
            opt("conns", "[\"warehouse\"]", Kind::ConnIds),
        ],
        RETRY_OPTIONS,
        TIMEOUT_OPTION,
        FLOW_OPTIONS,
    ],
};

/// `#[sensor(...)]`: a task's options, with `timeout` the sensor's whole wait.
pub(crate) const SENSOR: Site = Site {
    attr: "#[sensor]",
    open: "#[sensor(",
    close: ")]",
    options: &[
        &[
            opt("id", "\"wait_for_file\"", Kind::Id),
            opt("conns", "[\"warehouse\"]", Kind::ConnIds),
        ],
        SENSOR_OPTIONS,
        RETRY_OPTIONS,
        FLOW_OPTIONS,
    ],
};

/// `group!("...", default_args(...), { .. })` in a `#[dag]` body.
pub(crate) const GROUP_DEFAULTS: Site = Site {
    attr: "group!(\"..\", default_args(...), { .. })",
    open: "group!(\"..\", default_args(",
    close: "), { .. })",
    options: TASK_OPTIONS,
};

/// `#[dag(default_args(...))]`.
pub(crate) const DAG_DEFAULTS: Site = Site {
    attr: "#[dag(default_args(...))]",
    open: "#[dag(default_args(",
    close: "))]",
    options: TASK_OPTIONS,
};

/// `#[dag(alerts(...))]`: the DAG's own alert thresholds.
pub(crate) const DAG_ALERTS: Site = Site {
    attr: "#[dag(alerts(...))]",
    open: "#[dag(alerts(",
    close: "))]",
    options: &[&[
        opt(
            "stale_after",
            "\"36h\"",
            Kind::PositiveDuration("the DAG would be stale as soon as it succeeded", "no limit"),
        ),
        opt("max_retries", "5", Kind::Count),
    ]],
};

/// `#[dag(...)]`.
pub(crate) const DAG: Site = Site {
    attr: "#[dag]",
    open: "#[dag(",
    close: ")]",
    options: &[&[
        opt("id", "\"daily_training\"", Kind::Id),
        opt("description", "\"what it does\"", Kind::Text),
        opt("schedule", "\"@daily\"", Kind::Schedule),
        opt("start_date", "\"2026-01-01\"", Kind::Date),
        opt("catchup", "true", Kind::Bool),
        opt("max_active_runs", "1", Kind::PositiveCount),
        opt("overlap", "\"skip\"", Kind::OneOf(&["wait", "skip"])),
        opt("params", "MyParams", Kind::Type),
        opt("max_active_tasks", "4", Kind::PositiveCount),
        opt(
            "dagrun_timeout",
            "\"1h\"",
            Kind::PositiveDuration("every DAG run would time out at once", "no limit"),
        ),
        opt("tags", "[\"ml\"]", Kind::StringList),
        opt("max_map_length", "10000", Kind::PositiveCount),
        opt(
            "default_args",
            "(retries = 2, timeout = \"1h\")",
            Kind::Nested(&DAG_DEFAULTS),
        ),
        opt(
            "alerts",
            "(stale_after = \"36h\", max_retries = 5)",
            Kind::Nested(&DAG_ALERTS),
        ),
    ]],
};

/// `#[experiment(...)]`.
pub(crate) const EXPERIMENT: Site = Site {
    attr: "#[experiment]",
    open: "#[experiment(",
    close: ")]",
    options: &[&[
        opt("name", "\"iris\"", Kind::Name),
        opt("serde", "false", Kind::Bool),
    ]],
};

/// `#[param(...)]` on a field of an `#[experiment]` struct.
pub(crate) const PARAM: Site = Site {
    attr: "#[param]",
    open: "#[param(",
    close: ")]",
    options: &[&[
        opt("default", "100", Kind::Expr),
        opt("range", "0.0..=1.0", Kind::Range),
        opt("help", "\"number of trees\"", Kind::Text),
    ]],
};

/// `#[model(...)]`.
pub(crate) const MODEL: Site = Site {
    attr: "#[model]",
    open: "#[model(",
    close: ")]",
    options: &[&[
        opt("input", "HouseRow", Kind::Type),
        opt("output", "PricePrediction", Kind::Type),
        opt("name", "\"house-prices\"", Kind::Name),
        opt("params", "Knobs", Kind::Type),
    ]],
};

/// `#[schema(...)]` on a field of a `#[derive(Schema)]` struct.
pub(crate) const SCHEMA_FIELD: Site = Site {
    attr: "#[schema]",
    open: "#[schema(",
    close: ")]",
    options: &[&[opt("rename", "\"price (EUR)\"", Kind::Name)]],
};

/// Every site, for checks that an option name belongs to one.
const SITES: &[&Site] = &[
    &TASK,
    &SENSOR,
    &DAG,
    &DAG_DEFAULTS,
    &DAG_ALERTS,
    &GROUP_DEFAULTS,
    &EXPERIMENT,
    &PARAM,
    &MODEL,
    &SCHEMA_FIELD,
];

/// Airflow's trigger rules, as the runtime's `TriggerRule` names them.
pub(crate) const TRIGGER_RULES: &[(&str, &str)] = &[
    ("all_success", "AllSuccess"),
    ("all_failed", "AllFailed"),
    ("all_done", "AllDone"),
    ("all_done_min_one_success", "AllDoneMinOneSuccess"),
    ("one_success", "OneSuccess"),
    ("one_failed", "OneFailed"),
    ("one_done", "OneDone"),
    ("none_failed", "NoneFailed"),
    ("none_failed_min_one_success", "NoneFailedMinOneSuccess"),
    ("none_skipped", "NoneSkipped"),
    ("all_skipped", "AllSkipped"),
    ("always", "Always"),
];

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

/// A parsed option value.
pub(crate) enum Value {
    Count(u64),
    /// Seconds since the Unix epoch.
    Timestamp(i64),
    /// `schedule = None`.
    NoSchedule,
    Duration(Duration),
    Float(f64),
    /// A trigger rule: its Airflow name.
    Trigger(&'static str),
    Bool(bool),
    Str(LitStr),
    Type(Type),
    List(Vec<String>),
    Nested(Values),
    Expr(Expr),
    Range(ExprRange),
}

/// One option as written.
pub(crate) struct Entry {
    pub(crate) name: &'static str,
    pub(crate) value: Value,
    /// The option's name.
    pub(crate) span: Span,
}

/// The options of one attribute as written, each at most once.
#[derive(Default)]
pub(crate) struct Values {
    entries: Vec<Entry>,
}

impl Values {
    fn get(&self, name: &str) -> Option<&Entry> {
        debug_assert!(
            SITES.iter().any(|s| s.find(name).is_some()),
            "`{name}` is in no option table"
        );
        self.entries.iter().find(|e| e.name == name)
    }

    fn pick<T>(&self, name: &str, f: impl FnOnce(&Value) -> Option<T>) -> Option<(T, Span)> {
        let e = self.get(name)?;
        f(&e.value).map(|v| (v, e.span))
    }

    pub(crate) fn count(&self, name: &str) -> Option<(u64, Span)> {
        self.pick(name, |v| match v {
            Value::Count(n) => Some(*n),
            _ => None,
        })
    }

    pub(crate) fn duration(&self, name: &str) -> Option<(Duration, Span)> {
        self.pick(name, |v| match v {
            Value::Duration(d) => Some(*d),
            _ => None,
        })
    }

    pub(crate) fn float(&self, name: &str) -> Option<(f64, Span)> {
        self.pick(name, |v| match v {
            Value::Float(f) => Some(*f),
            _ => None,
        })
    }

    pub(crate) fn trigger(&self, name: &str) -> Option<(&'static str, Span)> {
        self.pick(name, |v| match v {
            Value::Trigger(t) => Some(*t),
            _ => None,
        })
    }

    pub(crate) fn bool(&self, name: &str) -> Option<(bool, Span)> {
        self.pick(name, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
    }

    pub(crate) fn lit_str(&self, name: &str) -> Option<(LitStr, Span)> {
        self.pick(name, |v| match v {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        })
    }

    pub(crate) fn timestamp(&self, name: &str) -> Option<(i64, Span)> {
        self.pick(name, |v| match v {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        })
    }

    /// `schedule = "..."` (`Some`) or `schedule = None` (`None`).
    pub(crate) fn schedule(&self, name: &str) -> Option<(Option<String>, Span)> {
        self.pick(name, |v| match v {
            Value::Str(s) => Some(Some(s.value())),
            Value::NoSchedule => Some(None),
            _ => None,
        })
    }

    pub(crate) fn string(&self, name: &str) -> Option<(String, Span)> {
        self.lit_str(name).map(|(s, span)| (s.value(), span))
    }

    pub(crate) fn ty(&self, name: &str) -> Option<(Type, Span)> {
        self.pick(name, |v| match v {
            Value::Type(t) => Some(t.clone()),
            _ => None,
        })
    }

    pub(crate) fn list(&self, name: &str) -> Option<(Vec<String>, Span)> {
        self.pick(name, |v| match v {
            Value::List(l) => Some(l.clone()),
            _ => None,
        })
    }

    pub(crate) fn nested(&self, name: &str) -> Option<&Values> {
        match &self.get(name)?.value {
            Value::Nested(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn expr(&self, name: &str) -> Option<(Expr, Span)> {
        self.pick(name, |v| match v {
            Value::Expr(e) => Some(e.clone()),
            _ => None,
        })
    }

    pub(crate) fn range(&self, name: &str) -> Option<(ExprRange, Span)> {
        self.pick(name, |v| match v {
            Value::Range(r) => Some(r.clone()),
            _ => None,
        })
    }
}

/// Parses the arguments of an attribute (`#[task(<tokens>)]`) against `site`. Every mistake is
/// recorded in `errors` and parsing goes on, so all of them are reported at once.
pub(crate) fn parse(site: &'static Site, tokens: TokenStream, errors: &Errors) -> Values {
    let mut values = Values::default();
    let parser = syn::meta::parser(|meta| parse_option(site, &meta, &mut values, errors));
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    values
}

/// Parses one more attribute of `site` (`#[param(...)]`, which a field may carry several times)
/// into `values`; an option repeated across them is reported like one repeated within one.
pub(crate) fn parse_attr(
    site: &'static Site,
    attr: &syn::Attribute,
    values: &mut Values,
    errors: &Errors,
) {
    if let Err(e) = attr.parse_nested_meta(|meta| parse_option(site, &meta, values, errors)) {
        errors.push(e);
    }
}

fn parse_option(
    site: &'static Site,
    meta: &ParseNestedMeta<'_>,
    values: &mut Values,
    errors: &Errors,
) -> syn::Result<()> {
    let written = quote::ToTokens::to_token_stream(&meta.path)
        .to_string()
        .replace(' ', "");
    let Some(def) = meta
        .path
        .get_ident()
        .and_then(|i| site.find(&i.to_string()))
    else {
        // An option of a sensor on a task: the fix is the attribute, not the spelling.
        if site.attr == TASK.attr && SENSOR_OPTIONS.iter().any(|o| o.name == written) {
            errors.spanned(
                &meta.path,
                format!(
                    "`{written}` is an option of sensors, not tasks: write `#[sensor({written} = ...)]` on a function returning `Poke<T>`"
                ),
            );
            return skip_value(meta);
        }
        let hint = match site.similar(&written) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        errors.spanned(
            &meta.path,
            format!(
                "unknown `{}` option `{written}`; {hint}expected one of: {}",
                site.attr,
                site.names()
            ),
        );
        return skip_value(meta);
    };
    let span = meta.path.span();
    let value = match def.kind {
        Kind::Nested(inner) => {
            if !meta.input.peek(syn::token::Paren) {
                errors.spanned(
                    &meta.path,
                    format!(
                        "`{}` takes a list of options: `{}{}{}{}`",
                        def.name, site.open, def.name, def.example, site.close
                    ),
                );
                return skip_value(meta);
            }
            let mut nested = Values::default();
            meta.parse_nested_meta(|m| parse_option(inner, &m, &mut nested, errors))?;
            Some(Value::Nested(nested))
        }
        Kind::Type => parse_type(site, def, meta, errors)?,
        Kind::Flag if !meta.input.peek(Token![=]) => Some(Value::Bool(true)),
        _ => {
            if !meta.input.peek(Token![=]) {
                errors.spanned(
                    &meta.path,
                    format!(
                        "`{}` needs a value, such as `{}`",
                        site.key(def.name),
                        site.with_value(def.name, def.example)
                    ),
                );
                return skip_value(meta);
            }
            let expr: Expr = meta.value()?.parse()?;
            match parse_value(site, def, &expr) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        }
    };
    if let Some(value) = value {
        if values.entries.iter().any(|e| e.name == def.name) {
            errors.at(
                span,
                format!("`{}` given twice in `{}`; keep one", def.name, site.attr),
            );
        } else {
            values.entries.push(Entry {
                name: def.name,
                value,
                span,
            });
        }
    }
    Ok(())
}

/// Skips the value of an option that was reported, so the options after it are still checked.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let _: Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(())
}

/// `params = MyParams`: a type, not a string.
fn parse_type(
    site: &Site,
    def: &OptionDef,
    meta: &ParseNestedMeta<'_>,
    errors: &Errors,
) -> syn::Result<Option<Value>> {
    if !meta.input.peek(Token![=]) {
        errors.spanned(
            &meta.path,
            format!(
                "`{}` needs a value, such as `{}`",
                site.key(def.name),
                site.with_value(def.name, def.example)
            ),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let input = meta.value()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        errors.spanned(
            &lit,
            format!(
                "`{}` takes a type, not a string: write `{} = {}`",
                site.key(def.name),
                def.name,
                lit.value()
            ),
        );
        return Ok(None);
    }
    let ty: Type = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "`{}` takes a type, such as `{} = {}`",
                site.key(def.name),
                def.name,
                def.example
            ),
        )
    })?;
    Ok(Some(Value::Type(ty)))
}

/// The literal an option's value is, if it is one.
pub(crate) fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(l) => Some(&l.lit),
        Expr::Group(g) => literal(&g.expr),
        _ => None,
    }
}

/// Checks and converts `expr`, the value of `def` written in `site`.
pub(crate) fn parse_value(site: &Site, def: &OptionDef, expr: &Expr) -> syn::Result<Value> {
    let key = site.key(def.name);
    let fail = |msg: String| Err(syn::Error::new_spanned(expr, msg));
    let lit = literal(expr);
    match def.kind {
        Kind::Count => match lit {
            Some(Lit::Int(i)) if i.base10_parse::<u32>().is_ok() => {
                Ok(Value::Count(i.base10_parse::<u64>()?))
            }
            _ => fail(format!(
                "`{key}` expects a whole number such as {}",
                def.example
            )),
        },
        Kind::PositiveCount => match lit {
            Some(Lit::Int(i)) if i.base10_parse::<u32>().is_ok_and(|n| n > 0) => {
                Ok(Value::Count(i.base10_parse::<u64>()?))
            }
            _ => fail(format!(
                "`{key}` expects a whole number of at least 1, such as {}",
                def.example
            )),
        },
        Kind::Duration | Kind::PositiveDuration(..) => {
            let Some(Lit::Str(s)) = lit else {
                return fail(format!(
                    "`{key}` expects a duration in a string, such as \"30s\" or \"5m\""
                ));
            };
            let text = s.value();
            let d = humantime::parse_duration(text.trim()).map_err(|e| {
                syn::Error::new(
                    s.span(),
                    format!(
                        "`{key}` expects a duration such as \"30s\", \"5m\" or \"1h 30m\"; \"{text}\" is not one ({e})"
                    ),
                )
            })?;
            if let Kind::PositiveDuration(zero_means, omitted) = def.kind
                && d.is_zero()
            {
                return Err(syn::Error::new(
                    s.span(),
                    format!(
                        "`{key}` must be longer than zero: {zero_means}; leave `{}` out for {omitted}, or give one such as {}",
                        def.name, def.example
                    ),
                ));
            }
            Ok(Value::Duration(d))
        }
        Kind::Multiplier => {
            let value = match lit {
                Some(Lit::Float(f)) => f.base10_parse::<f64>().ok(),
                Some(Lit::Int(i)) => i.base10_parse::<f64>().ok(),
                _ => None,
            };
            match value {
                Some(v) if v >= 1.0 && v.is_finite() => Ok(Value::Float(v)),
                _ => fail(format!(
                    "`{key}` expects a multiplier of at least 1.0, such as {}",
                    def.example
                )),
            }
        }
        Kind::Trigger => {
            let rules = TRIGGER_RULES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            let Some(Lit::Str(s)) = lit else {
                return fail(format!(
                    "`{key}` expects a trigger rule in a string, such as {}; the rules are: {rules}",
                    def.example
                ));
            };
            let text = s.value();
            match TRIGGER_RULES.iter().find(|(n, _)| *n == text) {
                Some((name, _)) => Ok(Value::Trigger(name)),
                None => Err(syn::Error::new(
                    s.span(),
                    format!("unknown trigger rule \"{text}\"; `{key}` expects one of: {rules}"),
                )),
            }
        }
        Kind::Bool | Kind::Flag => match lit {
            Some(Lit::Bool(b)) => Ok(Value::Bool(b.value)),
            _ => fail(format!("`{key}` expects `true` or `false`")),
        },
        Kind::Id => match lit {
            Some(Lit::Str(s)) if is_valid_id(&s.value()) => Ok(Value::Str(s.clone())),
            _ => fail(format!(
                "`{key}` expects a string of letters, digits, `_`, `-` or `.`, such as {}",
                def.example
            )),
        },
        Kind::Text | Kind::Name => match lit {
            Some(Lit::Str(s)) if matches!(def.kind, Kind::Name) && s.value().trim().is_empty() => {
                fail(format!(
                    "`{key}` must not be empty; give one such as {}",
                    def.example
                ))
            }
            Some(Lit::Str(s)) => Ok(Value::Str(s.clone())),
            _ => fail(format!(
                "`{key}` expects a string, such as `{} = {}`",
                def.name, def.example
            )),
        },
        Kind::Schedule => match lit {
            Some(Lit::Str(s)) => match check_schedule(&s.value()) {
                Ok(()) => Ok(Value::Str(s.clone())),
                Err(msg) => Err(syn::Error::new(s.span(), msg)),
            },
            // Airflow's `schedule=None`: runs only when started by hand.
            None if matches!(expr, Expr::Path(p) if p.path.is_ident("None")) => {
                Ok(Value::NoSchedule)
            }
            _ => fail(format!(
                "`{key}` expects a cron expression or preset in a string, such as `{} = {}`, or `None` for runs started by hand only",
                def.name, def.example
            )),
        },
        Kind::Date => {
            let Some(Lit::Str(s)) = lit else {
                return fail(format!(
                    "`{key}` expects a date in a string, such as `{} = {}`",
                    def.name, def.example
                ));
            };
            match parse_date(&s.value()) {
                Some(t) => Ok(Value::Timestamp(t)),
                None => Err(syn::Error::new(
                    s.span(),
                    format!(
                        "`{key}` expects a date such as \"2026-01-01\" (midnight UTC), \"2026-01-01T06:00:00\" (UTC) or \"2026-01-01T06:00:00+02:00\"; \"{}\" is not one",
                        s.value()
                    ),
                )),
            }
        }
        Kind::OneOf(words) => {
            let list = words
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect::<Vec<_>>()
                .join(" or ");
            match lit {
                Some(Lit::Str(s)) if words.contains(&s.value().as_str()) => {
                    Ok(Value::Str(s.clone()))
                }
                Some(Lit::Str(s)) => Err(syn::Error::new(
                    s.span(),
                    format!(
                        "unknown `{}` \"{}\"; `{key}` expects {list}",
                        def.name,
                        s.value()
                    ),
                )),
                _ => fail(format!("`{key}` expects {list}")),
            }
        }
        Kind::StringList => {
            let items = match expr {
                Expr::Array(a) => a
                    .elems
                    .iter()
                    .map(|e| match literal(e) {
                        Some(Lit::Str(s)) => Some(s.value()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            };
            match items {
                Some(items) => Ok(Value::List(items)),
                None => fail(format!(
                    "`{key}` expects a list of strings, such as [\"ml\", \"daily\"]"
                )),
            }
        }
        Kind::ConnIds => parse_conn_ids(&key, def, expr),
        Kind::Expr => Ok(Value::Expr(expr.clone())),
        Kind::Range => match expr {
            Expr::Range(r) => Ok(Value::Range(r.clone())),
            _ => fail(format!(
                "`{key}` expects a range such as 0.0..=1.0 or 1..100"
            )),
        },
        Kind::Type | Kind::Nested(_) => {
            fail(format!("`{key}` expects a value such as {}", def.example))
        }
    }
}

/// `conns = ["warehouse", "api"]`: every mistake in the list is reported at its element.
fn parse_conn_ids(key: &str, def: &OptionDef, expr: &Expr) -> syn::Result<Value> {
    let Expr::Array(list) = expr else {
        return Err(syn::Error::new_spanned(
            expr,
            format!(
                "`{key}` expects a list of connection ids in strings, such as `{} = {}`",
                def.name, def.example
            ),
        ));
    };
    let mut ids: Vec<String> = Vec::new();
    let mut error: Option<syn::Error> = None;
    let mut report = |e: syn::Error| match &mut error {
        Some(all) => all.combine(e),
        None => error = Some(e),
    };
    for elem in &list.elems {
        match literal(elem) {
            Some(Lit::Str(s)) if s.value().is_empty() => report(syn::Error::new(
                s.span(),
                format!(
                    "a connection id in `{key}` must not be empty; give one such as \"warehouse\""
                ),
            )),
            Some(Lit::Str(s)) if !is_valid_id(&s.value()) => report(syn::Error::new(
                s.span(),
                format!(
                    "connection id \"{}\" in `{key}` may hold only letters, digits, `_`, `-` or `.` (it names the environment variable OXFLOW_CONN_<ID>)",
                    s.value()
                ),
            )),
            Some(Lit::Str(s)) if ids.contains(&s.value()) => report(syn::Error::new(
                s.span(),
                format!(
                    "connection \"{}\" is listed twice in `{key}`; keep one",
                    s.value()
                ),
            )),
            Some(Lit::Str(s)) => ids.push(s.value()),
            _ => report(syn::Error::new_spanned(
                elem,
                format!(
                    "`{key}` expects connection ids in strings, such as {}",
                    def.example
                ),
            )),
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(Value::List(ids)),
    }
}

/// Task and DAG ids appear in file paths and MLflow tags, so they keep to a safe alphabet.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 250
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !id.starts_with('.')
}

/// A date, a UTC date and time, or an RFC 3339 time, as seconds since the Unix epoch.
fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Some(d.and_utc().timestamp());
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
}

/// Checks a schedule: a preset, or a cron expression of five fields or six (seconds first),
/// parsed as the runtime's `Schedule` parses it.
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
    if !(5..=6).contains(&fields) {
        return Err(format!(
            "\"{t}\" has {fields} fields; `#[dag(schedule = ...)]` expects a cron expression with five fields (minute hour day-of-month month day-of-week), such as \"0 3 * * *\", six with seconds first, such as \"*/10 * * * * *\", or a preset such as \"@daily\""
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(t)
        .map(|_| ())
        .map_err(|e| {
            // croner's text is a sentence; house style is lower case without a final period.
            let e = e.to_string();
            let e = e.trim_end_matches('.').to_lowercase();
            format!("\"{t}\" is not a valid cron expression ({e}); `#[dag(schedule = ...)]` expects one such as \"0 3 * * *\" or a preset such as \"@daily\"")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(site: &'static Site, tokens: TokenStream) -> (Values, Vec<String>) {
        let errors = Errors::default();
        let values = parse(site, tokens, &errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (values, messages)
    }

    #[test]
    fn every_option_is_declared_once_per_site() {
        for site in SITES {
            let names: Vec<&str> = site
                .options
                .iter()
                .flat_map(|o| o.iter())
                .map(|o| o.name)
                .collect();
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{}", site.attr);
        }
    }

    #[test]
    fn every_example_parses_as_its_option() {
        for site in [&TASK, &DAG_DEFAULTS, &DAG_ALERTS, &EXPERIMENT, &PARAM] {
            for def in site.options.iter().flat_map(|o| o.iter()) {
                let expr: Expr = syn::parse_str(def.example).unwrap();
                assert!(
                    parse_value(site, def, &expr).is_ok(),
                    "{} = {}",
                    def.name,
                    def.example
                );
            }
        }
    }

    #[test]
    fn the_options_are_typed() {
        let (v, errors) = messages(
            &TASK,
            quote!(
                retries = 3,
                retry_delay = "2s",
                backoff = 2,
                trigger = "all_done",
                persist = false
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v.count("retries").unwrap().0, 3);
        assert_eq!(v.duration("retry_delay").unwrap().0, Duration::from_secs(2));
        assert_eq!(v.float("backoff").unwrap().0, 2.0);
        assert_eq!(v.trigger("trigger").unwrap().0, "all_done");
        assert!(!v.bool("persist").unwrap().0);
        assert!(v.duration("timeout").is_none());
    }

    #[test]
    fn unknown_options_list_the_valid_ones_and_guess_the_meant_one() {
        let (_, errors) = messages(&TASK, quote!(retires = 3));
        assert_eq!(
            errors,
            [
                "unknown `#[task]` option `retires`; did you mean `retries`? expected one of: id, short_circuit, conns, retries, retry_delay, backoff, max_retry_delay, timeout, trigger, persist"
            ]
        );
        let (_, errors) = messages(&DAG, quote!(default_args(timeot = "1m")));
        assert_eq!(
            errors,
            [
                "unknown `#[dag(default_args(...))]` option `timeot`; did you mean `timeout`? expected one of: retries, retry_delay, backoff, max_retry_delay, timeout, trigger, persist"
            ]
        );
    }

    #[test]
    fn every_mistake_is_reported_and_the_rest_still_parsed() {
        let (v, errors) = messages(
            &TASK,
            quote!(
                retries = "3",
                retries,
                timeout = "0s",
                backoff = 0.5,
                trigger = "sometimes",
                persist = true,
                persist = false
            ),
        );
        assert_eq!(
            errors,
            [
                "`#[task(retries = ...)]` expects a whole number such as 3",
                "`#[task(retries = ...)]` needs a value, such as `#[task(retries = 3)]`",
                "`#[task(timeout = ...)]` must be longer than zero: every attempt would time out at once; leave `timeout` out for no limit, or give one such as \"1h\"",
                "`#[task(backoff = ...)]` expects a multiplier of at least 1.0, such as 2.0",
                "unknown trigger rule \"sometimes\"; `#[task(trigger = ...)]` expects one of: all_success, all_failed, all_done, all_done_min_one_success, one_success, one_failed, one_done, none_failed, none_failed_min_one_success, none_skipped, all_skipped, always",
                "`persist` given twice in `#[task]`; keep one",
            ]
        );
        assert!(v.bool("persist").unwrap().0);
    }

    #[test]
    fn default_args_take_the_task_options_in_parentheses() {
        let (v, errors) = messages(&DAG, quote!(default_args(retries = 2), tags = ["ml"]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            v.nested("default_args")
                .unwrap()
                .count("retries")
                .unwrap()
                .0,
            2
        );
        let (_, errors) = messages(&DAG, quote!(default_args = 2));
        assert_eq!(
            errors,
            [
                "`default_args` takes a list of options: `#[dag(default_args(retries = 2, timeout = \"1h\"))]`"
            ]
        );
    }

    #[test]
    fn dagrun_timeout_is_a_duration_longer_than_zero() {
        let (v, errors) = messages(&DAG, quote!(dagrun_timeout = "1h 30m"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            v.duration("dagrun_timeout").unwrap().0,
            Duration::from_secs(5400)
        );
        let (_, errors) = messages(&DAG, quote!(dagrun_timeout = "0s"));
        assert_eq!(
            errors,
            [
                "`#[dag(dagrun_timeout = ...)]` must be longer than zero: every DAG run would time out at once; leave `dagrun_timeout` out for no limit, or give one such as \"1h\""
            ]
        );
        // A DAG run's limit, not a task's: `default_args` does not take it.
        let (_, errors) = messages(&DAG, quote!(default_args(dagrun_timeout = "1h")));
        assert!(
            errors[0].starts_with("unknown `#[dag(default_args(...))]` option `dagrun_timeout`")
        );
    }

    #[test]
    fn params_take_a_type() {
        let (v, errors) = messages(&DAG, quote!(params = Knobs));
        assert!(errors.is_empty());
        assert!(v.ty("params").is_some());
        let (_, errors) = messages(&DAG, quote!(params = "Knobs"));
        assert_eq!(
            errors,
            ["`#[dag(params = ...)]` takes a type, not a string: write `params = Knobs`"]
        );
    }

    #[test]
    fn schedules_are_presets_or_five_or_six_field_cron_expressions() {
        assert!(check_schedule("@daily").is_ok());
        assert!(check_schedule("@quarterly").is_ok());
        assert!(check_schedule("0 3 * * *").is_ok());
        assert!(check_schedule("*/5 * * * * *").is_ok());
        assert!(
            check_schedule("0 0 3 * * * 2027")
                .unwrap_err()
                .contains("has 7 fields")
        );
        assert!(parse_date("2026-01-01") == Some(1_767_225_600));
        assert!(parse_date("2026-01-01T02:00:00+02:00") == Some(1_767_225_600));
        assert!(parse_date("01/01/2026").is_none());
        assert!(
            check_schedule("@dayly")
                .unwrap_err()
                .starts_with("unknown schedule preset")
        );
        assert!(
            check_schedule("0 3 * *")
                .unwrap_err()
                .contains("has 4 fields")
        );
        assert!(
            check_schedule("0 25 * * *")
                .unwrap_err()
                .contains("is not a valid cron expression")
        );
    }

    #[test]
    fn conns_take_a_list_of_connection_ids_and_every_bad_one_is_reported() {
        let (v, errors) = messages(&TASK, quote!(conns = ["warehouse", "api"]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v.list("conns").unwrap().0, ["warehouse", "api"]);
        let (_, errors) = messages(&TASK, quote!(conns = ["", 3, "a b", "x", "x"]));
        assert_eq!(
            errors,
            [
                "a connection id in `#[task(conns = ...)]` must not be empty; give one such as \"warehouse\"",
                "`#[task(conns = ...)]` expects connection ids in strings, such as [\"warehouse\"]",
                "connection id \"a b\" in `#[task(conns = ...)]` may hold only letters, digits, `_`, `-` or `.` (it names the environment variable OXFLOW_CONN_<ID>)",
                "connection \"x\" is listed twice in `#[task(conns = ...)]`; keep one",
            ]
        );
        let (_, errors) = messages(&TASK, quote!(conns = "warehouse"));
        assert_eq!(
            errors,
            [
                "`#[task(conns = ...)]` expects a list of connection ids in strings, such as `conns = [\"warehouse\"]`"
            ]
        );
    }

    #[test]
    fn ids_keep_to_a_safe_alphabet() {
        assert!(is_valid_id("train_eu-2.v1"));
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(251)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
