//! MLflow's `search_runs` filter grammar (`mlflow/utils/search_utils.py`), parsed into a typed
//! AST. Pure and sync; evaluation against runs lives in `search`.
//!
//! A filter is a conjunction of comparisons: `metrics.acc > 0.5 and params.opt = 'adam'`.
//! No `OR`, no parentheses except around an `IN` list.

use std::fmt;

/// A parse error, with the character position it refers to.
///
/// ```
/// use oxflow_runtime::tracking::filter::{Filter, OrderBy};
///
/// let err = Filter::parse("metrics.acc ~ 0.5").unwrap_err();
/// assert_eq!(err.position, 12);
/// assert!(err.to_string().starts_with("invalid search filter: "));
/// assert!(err.to_string().contains("metrics.acc ~ 0.5\n"));
/// let err = OrderBy::parse("metrics.acc DOWN").unwrap_err();
/// assert!(err.to_string().starts_with("invalid order_by clause: "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {syntax}: {message} at position {position}\n    {input}\n    {caret}^", caret = " ".repeat(*position))]
pub struct FilterError {
    /// What was being parsed: a filter or an order_by clause.
    pub syntax: Syntax,
    /// The whole filter or clause.
    pub input: String,
    /// Character offset (from 0) of the offending token.
    pub position: usize,
    /// What is wrong there.
    pub message: String,
}

/// The two kinds of search text, named in [`FilterError`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// A search filter, `metrics.acc > 0.5 and params.opt = 'adam'`.
    Filter,
    /// One order_by clause, `metrics.acc DESC`.
    OrderBy,
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syntax::Filter => "search filter",
            Syntax::OrderBy => "order_by clause",
        })
    }
}

/// What a clause compares: a metric, param, tag, run attribute or dataset field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `metrics.<key>`: the run's latest value of the metric.
    Metric(String),
    /// `params.<key>`.
    Param(String),
    /// `tags.<key>`.
    Tag(String),
    /// `attributes.<name>` or a bare attribute name.
    Attribute(Attribute),
    /// `datasets.<name|digest|context>`.
    Dataset(String),
}

/// Run attributes that can be searched and ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `run_id`.
    RunId,
    /// `run_name` (also `` `Run name` ``).
    RunName,
    /// `status`.
    Status,
    /// `user_id`.
    UserId,
    /// `artifact_uri`.
    ArtifactUri,
    /// `start_time` (also `created`, `Created`).
    StartTime,
    /// `end_time`.
    EndTime,
}

impl Attribute {
    /// The attribute a name spells. MLflow's filters also accept the UI's column titles
    /// (`` `run name` ``, `` `Run name` ``, `` `Run Name` ``) for `run_name`; its `order_by` does not.
    fn from_name(name: &str, syntax: Syntax) -> Option<Attribute> {
        Some(match name {
            "run_id" => Attribute::RunId,
            "run_name" => Attribute::RunName,
            "run name" | "Run name" | "Run Name" if syntax == Syntax::Filter => Attribute::RunName,
            "status" => Attribute::Status,
            "user_id" => Attribute::UserId,
            "artifact_uri" => Attribute::ArtifactUri,
            "start_time" | "created" | "Created" => Attribute::StartTime,
            "end_time" => Attribute::EndTime,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::RunId => "run_id",
            Attribute::RunName => "run_name",
            Attribute::Status => "status",
            Attribute::UserId => "user_id",
            Attribute::ArtifactUri => "artifact_uri",
            Attribute::StartTime => "start_time",
            Attribute::EndTime => "end_time",
        }
    }

    /// Whether the attribute is a number (compared with `<`, `>`, ...).
    pub fn is_numeric(self) -> bool {
        matches!(self, Attribute::StartTime | Attribute::EndTime)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (case-sensitive, `%` and `_` wildcards)
    Like,
    /// `ILIKE` (case-insensitive)
    ILike,
    /// `IN (...)`
    In,
    /// `NOT IN (...)`
    NotIn,
    /// `IS NULL`
    IsNull,
    /// `IS NOT NULL`
    IsNotNull,
}

impl CompareOp {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Like => "LIKE",
            CompareOp::ILike => "ILIKE",
            CompareOp::In => "IN",
            CompareOp::NotIn => "NOT IN",
            CompareOp::IsNull => "IS NULL",
            CompareOp::IsNotNull => "IS NOT NULL",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            CompareOp::Eq
                | CompareOp::Ne
                | CompareOp::Lt
                | CompareOp::Le
                | CompareOp::Gt
                | CompareOp::Ge
        )
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A numeric literal.
    Number(f64),
    /// A quoted string.
    Str(String),
    /// A parenthesised list of strings, for `IN`.
    List(Vec<String>),
    /// No value (`IS NULL`, `IS NOT NULL`).
    Null,
}

/// One comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What is compared.
    pub target: Target,
    /// How.
    pub op: CompareOp,
    /// With what.
    pub value: Value,
}

/// A parsed filter: all clauses must hold.
///
/// ```
/// use oxflow_runtime::tracking::filter::{Filter, Target, CompareOp, Value};
///
/// let f = Filter::parse("metrics.`train/acc` >= 0.5 AND params.opt = 'adam'")?;
/// assert_eq!(f.clauses.len(), 2);
/// assert_eq!(f.clauses[0].target, Target::Metric("train/acc".into()));
/// assert_eq!(f.clauses[1].value, Value::Str("adam".into()));
/// assert!(Filter::parse("metrics.a > 1 OR metrics.b > 1").is_err());
/// # Ok::<(), oxflow_runtime::tracking::filter::FilterError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// The clauses, in order.
    pub clauses: Vec<Clause>,
}

/// One `order_by` entry: `metrics.loss DESC`, `params.lr`, `attributes.start_time ASC`.
///
/// ```
/// use oxflow_runtime::tracking::filter::{OrderBy, Target};
/// let o = OrderBy::parse("metrics.loss DESC")?;
/// assert_eq!(o.target, Target::Metric("loss".into()));
/// assert!(!o.ascending);
/// # Ok::<(), oxflow_runtime::tracking::filter::FilterError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The sort key.
    pub target: Target,
    /// `ASC` (the default) or `DESC`.
    pub ascending: bool,
}

// ------------------------------------------------------------------ lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(char, String),
    Number(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Character offsets [start, end).
    start: usize,
    end: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let err = |pos: usize, msg: String| FilterError {
        syntax: Syntax::Filter,
        input: input.to_string(),
        position: pos,
        message: msg,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                Tok::Op("=")
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op("!=")
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let ne = c == '<' && chars.get(i + 1) == Some(&'>');
                i += if eq || ne { 2 } else { 1 };
                Tok::Op(match (c, eq, ne) {
                    (_, _, true) => "!=",
                    ('<', true, _) => "<=",
                    ('<', false, _) => "<",
                    (_, true, _) => ">=",
                    _ => ">",
                })
            }
            '\'' | '"' | '`' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(err(
                                start,
                                format!("unterminated string starting with {c}"),
                            ));
                        }
                        Some(&q) if q == c => {
                            // A doubled quote inside a string stands for the quote itself.
                            if chars.get(i + 1) == Some(&c) && c != '`' {
                                s.push(c);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&'\\') if c != '`' && chars.get(i + 1).is_some() => {
                            s.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Quoted(c, s)
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars
                        .get(i + 1)
                        .is_some_and(|n| n.is_ascii_digit() || *n == '.')) =>
            {
                let mut s = String::new();
                s.push(c);
                i += 1;
                while let Some(&n) = chars.get(i) {
                    let exp_sign =
                        (n == '-' || n == '+') && matches!(s.chars().last(), Some('e' | 'E'));
                    if n.is_ascii_alphanumeric() || n == '.' || exp_sign {
                        s.push(n);
                        i += 1;
                    } else {
                        break;
                    }
                }
                if s.parse::<f64>().is_err() {
                    return Err(err(start, format!("`{s}` is not a number")));
                }
                Tok::Number(s)
            }
            c if is_word_char(c) => {
                let mut s = String::new();
                while let Some(&n) = chars.get(i) {
                    if is_word_char(n) {
                        s.push(n);
                        i += 1;
                    } else {
                        break;
                    }
                }
                Tok::Word(s)
            }
            other => return Err(err(start, format!("unexpected character `{other}`"))),
        };
        out.push(Token { tok, start, end: i });
    }
    Ok(out)
}

// ------------------------------------------------------------------ parser

struct Parser<'a> {
    /// A filter or an order_by clause: they accept slightly different attribute names.
    syntax: Syntax,
    input: &'a str,
    toks: Vec<Token>,
    pos: usize,
    len: usize,
}

impl Parser<'_> {
    fn err(&self, position: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            syntax: Syntax::Filter,
            input: self.input.to_string(),
            position,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.len, |t| t.start)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn word_is(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
    }

    /// `entity.key`, `` entity.`key` ``, `` `entity`.`key` ``, or a bare attribute.
    fn target(&mut self) -> Result<Target, FilterError> {
        let start = self.here();
        let Some(first) = self.next() else {
            return Err(self.err(start, "expected a metric, param, tag or attribute name"));
        };
        let (entity, key): (String, Option<String>) = match first.tok {
            Tok::Word(w) => match w.split_once('.') {
                Some((e, "")) => (e.to_string(), Some(self.quoted_key(first.end)?)),
                Some((e, k)) => (e.to_string(), Some(k.to_string())),
                None => (w, None),
            },
            Tok::Quoted('`', e) | Tok::Quoted('"', e) => match self.peek() {
                Some(Token {
                    tok: Tok::Word(w),
                    start: s,
                    ..
                }) if *s == first.end && w.starts_with('.') => {
                    let w = w.clone();
                    let wend = self.toks[self.pos].end;
                    self.pos += 1;
                    if w == "." {
                        (e, Some(self.quoted_key(wend)?))
                    } else {
                        (e, Some(w[1..].to_string()))
                    }
                }
                _ => (e, None),
            },
            _ => return Err(self.err(start, "expected a metric, param, tag or attribute name")),
        };
        let Some(key) = key else {
            return Attribute::from_name(&entity, self.syntax).map(Target::Attribute).ok_or_else(|| {
                self.err(
                    start,
                    format!(
                        "`{entity}` is not a run attribute; use metrics.<key>, params.<key>, tags.<key> or one of \
                         run_id, run_name, status, user_id, artifact_uri, start_time, end_time"
                    ),
                )
            });
        };
        if key.is_empty() {
            return Err(self.err(start, "the key after the `.` is empty"));
        }
        match entity.as_str() {
            "metrics" | "metric" => Ok(Target::Metric(key)),
            "params" | "param" | "parameter" | "parameters" => Ok(Target::Param(key)),
            "tags" | "tag" => Ok(Target::Tag(key)),
            "attributes" | "attribute" | "attr" | "run" => Attribute::from_name(&key, self.syntax)
                .map(Target::Attribute)
                .ok_or_else(|| {
                    self.err(
                        start,
                        format!(
                            "unknown attribute `{key}`; valid ones are run_id, run_name, status, user_id, \
                             artifact_uri, start_time, end_time"
                        ),
                    )
                }),
            "datasets" | "dataset" => match key.as_str() {
                "name" | "digest" | "context" => Ok(Target::Dataset(key)),
                _ => Err(self.err(start, format!("unknown dataset field `{key}`; valid ones are name, digest, context"))),
            },
            other => Err(self.err(
                start,
                format!("invalid entity type `{other}`; valid ones are metrics, params, tags, attributes, datasets"),
            )),
        }
    }

    /// The quoted key right after `entity.`, with no space in between.
    fn quoted_key(&mut self, after: usize) -> Result<String, FilterError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Quoted('`' | '"', k),
                start,
                ..
            }) if *start == after => {
                let k = k.clone();
                self.pos += 1;
                Ok(k)
            }
            _ => Err(self.err(
                after,
                "expected a key after `.`; quote keys with special characters in backticks",
            )),
        }
    }

    fn op(&mut self) -> Result<CompareOp, FilterError> {
        let start = self.here();
        let bad = |p: &Self| {
            p.err(start, "expected a comparison: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL")
        };
        let Some(t) = self.next() else {
            return Err(bad(self));
        };
        Ok(match t.tok {
            Tok::Op("=") => CompareOp::Eq,
            Tok::Op("!=") => CompareOp::Ne,
            Tok::Op("<") => CompareOp::Lt,
            Tok::Op("<=") => CompareOp::Le,
            Tok::Op(">") => CompareOp::Gt,
            Tok::Op(">=") => CompareOp::Ge,
            Tok::Word(w) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => CompareOp::Like,
                "ILIKE" => CompareOp::ILike,
                "IN" => CompareOp::In,
                "NOT" if self.word_is("IN") => {
                    self.pos += 1;
                    CompareOp::NotIn
                }
                "IS" => {
                    let not = self.word_is("NOT");
                    if not {
                        self.pos += 1;
                    }
                    if !self.word_is("NULL") {
                        return Err(self.err(self.here(), "expected NULL after IS"));
                    }
                    self.pos += 1;
                    if not {
                        CompareOp::IsNotNull
                    } else {
                        CompareOp::IsNull
                    }
                }
                "RLIKE" => {
                    return Err(
                        self.err(start, "RLIKE is not supported for runs; use LIKE or ILIKE")
                    );
                }
                _ => return Err(bad(self)),
            },
            _ => return Err(bad(self)),
        })
    }

    fn value(&mut self, op: CompareOp) -> Result<(Value, usize), FilterError> {
        let start = self.here();
        if matches!(op, CompareOp::IsNull | CompareOp::IsNotNull) {
            return Ok((Value::Null, start));
        }
        let Some(t) = self.next() else {
            return Err(self.err(start, "expected a value"));
        };
        let v = match t.tok {
            Tok::Number(n) => Value::Number(
                n.parse()
                    .map_err(|_| self.err(start, format!("`{n}` is not a number")))?,
            ),
            Tok::Quoted('\'' | '"', s) => Value::Str(s),
            Tok::LParen => {
                let mut items = Vec::new();
                loop {
                    let p = self.here();
                    match self.next().map(|t| t.tok) {
                        Some(Tok::Quoted('\'' | '"', s)) => items.push(s),
                        _ => return Err(self.err(p, "expected a quoted string in the list")),
                    }
                    let p = self.here();
                    match self.next().map(|t| t.tok) {
                        Some(Tok::Comma) => continue,
                        Some(Tok::RParen) => break,
                        _ => return Err(self.err(p, "expected `,` or `)` in the list")),
                    }
                }
                Value::List(items)
            }
            _ => return Err(self.err(start, "expected a number, a quoted string or a list")),
        };
        Ok((v, start))
    }

    /// MLflow's type rules: which operators and values go with which targets.
    fn check(
        &self,
        target: &Target,
        op: CompareOp,
        value: &Value,
        op_pos: usize,
        val_pos: usize,
    ) -> Result<(), FilterError> {
        let numeric_target = matches!(target, Target::Metric(_))
            || matches!(target, Target::Attribute(a) if a.is_numeric());
        if numeric_target {
            if !op.is_numeric() {
                return Err(self.err(
                    op_pos,
                    format!(
                        "`{}` does not work on numbers; use =, !=, <, <=, > or >=",
                        op.as_str()
                    ),
                ));
            }
            if !matches!(value, Value::Number(_)) {
                return Err(self.err(val_pos, "expected a numeric value"));
            }
            return Ok(());
        }
        match target {
            Target::Param(_) | Target::Tag(_) => {
                if !matches!(
                    op,
                    CompareOp::Eq
                        | CompareOp::Ne
                        | CompareOp::Like
                        | CompareOp::ILike
                        | CompareOp::IsNull
                        | CompareOp::IsNotNull
                ) {
                    return Err(self.err(op_pos, format!("`{}` does not work on params and tags; use =, !=, LIKE, ILIKE, IS NULL or IS NOT NULL", op.as_str())));
                }
            }
            _ => {
                if !matches!(
                    op,
                    CompareOp::Eq
                        | CompareOp::Ne
                        | CompareOp::Like
                        | CompareOp::ILike
                        | CompareOp::In
                        | CompareOp::NotIn
                ) {
                    return Err(self.err(
                        op_pos,
                        format!(
                            "`{}` does not work here; use =, !=, LIKE, ILIKE, IN or NOT IN",
                            op.as_str()
                        ),
                    ));
                }
                if matches!(op, CompareOp::In | CompareOp::NotIn)
                    && matches!(target, Target::Attribute(a) if *a != Attribute::RunId)
                {
                    return Err(self.err(op_pos, "only run_id supports comparison with a list"));
                }
            }
        }
        match (op, value) {
            (CompareOp::In | CompareOp::NotIn, Value::List(_)) => Ok(()),
            (CompareOp::In | CompareOp::NotIn, _) => {
                Err(self.err(val_pos, "expected a list such as ('a', 'b')"))
            }
            (CompareOp::IsNull | CompareOp::IsNotNull, _) => Ok(()),
            (_, Value::Str(_)) => Ok(()),
            _ => Err(self.err(val_pos, "expected a quoted string")),
        }
    }
}

impl Filter {
    /// Parses a filter string; an empty string matches every run.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let toks = lex(input)?;
        let mut p = Parser {
            syntax: Syntax::Filter,
            input,
            toks,
            pos: 0,
            len: input.chars().count(),
        };
        let mut clauses = Vec::new();
        // MLflow checks only that every token is a comparison or the keyword AND
        // (`SearchUtils._invalid_statement_token_search_runs`), so AND may be left out,
        // repeated or trail: `a = 'x' b = 'y'` and `a = 'x' AND` are conjunctions there too.
        loop {
            while p.word_is("AND") {
                p.pos += 1;
            }
            if p.peek().is_none() {
                break;
            }
            if p.word_is("OR") {
                return Err(p.err(
                    p.here(),
                    "OR is not supported; a filter is a conjunction: a AND b",
                ));
            }
            if p.word_is("NOT") || matches!(p.peek().map(|t| &t.tok), Some(Tok::LParen)) {
                return Err(p.err(p.here(), "only conjunctions of comparisons are supported: a AND b AND c (no OR, NOT or parentheses)"));
            }
            let target = p.target()?;
            let op_pos = p.here();
            let op = p.op()?;
            let (value, val_pos) = p.value(op)?;
            p.check(&target, op, &value, op_pos, val_pos)?;
            clauses.push(Clause { target, op, value });
        }
        Ok(Filter { clauses })
    }
}

impl OrderBy {
    /// Parses `"<identifier> [ASC|DESC]"`.
    pub fn parse(input: &str) -> Result<OrderBy, FilterError> {
        Self::parse_clause(input).map_err(|e| FilterError {
            syntax: Syntax::OrderBy,
            ..e
        })
    }

    fn parse_clause(input: &str) -> Result<OrderBy, FilterError> {
        // MLflow (sqlparse) cannot parse a clause with whitespace before or after it.
        if input.trim() != input {
            let at = if input.starts_with(char::is_whitespace) {
                0
            } else {
                input.trim_end().chars().count()
            };
            return Err(FilterError {
                syntax: Syntax::OrderBy,
                message: "whitespace before or after an order_by clause is not allowed (MLflow \
                          rejects it too); remove it"
                    .into(),
                position: at,
                input: input.to_string(),
            });
        }
        let toks = lex(input)?;
        let mut p = Parser {
            syntax: Syntax::OrderBy,
            input,
            toks,
            pos: 0,
            len: input.chars().count(),
        };
        let target = p.target()?;
        if let Target::Dataset(_) = target {
            // MLflow: "Invalid order_by entity type 'dataset'".
            return Err(p.err(
                0,
                "runs cannot be ordered by a dataset field; order by metrics, params, tags or attributes",
            ));
        }
        let ascending = if p.word_is("DESC") {
            p.pos += 1;
            false
        } else {
            if p.word_is("ASC") {
                p.pos += 1;
            }
            true
        };
        if p.peek().is_some() {
            return Err(p.err(
                p.here(),
                "expected ASC or DESC at the end of an order_by clause",
            ));
        }
        Ok(OrderBy { target, ascending })
    }
}

fn quote_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        key.to_string()
    } else {
        format!("`{key}`")
    }
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Metric(k) => write!(f, "metrics.{}", quote_key(k)),
            Target::Param(k) => write!(f, "params.{}", quote_key(k)),
            Target::Tag(k) => write!(f, "tags.{}", quote_key(k)),
            Target::Attribute(a) => write!(f, "attributes.{}", a.name()),
            Target::Dataset(k) => write!(f, "datasets.{k}"),
        }
    }
}

impl fmt::Display for Filter {
    /// Writes the filter back in MLflow's syntax (parsing it again gives the same filter).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{} {}", c.target, c.op.as_str())?;
            match &c.value {
                Value::Number(n) => write!(f, " {n:?}")?,
                Value::Str(s) => write!(f, " {}", quote_str(s))?,
                Value::List(items) => {
                    let items: Vec<String> = items.iter().map(|s| quote_str(s)).collect();
                    write!(f, " ({})", items.join(", "))?;
                }
                Value::Null => {}
            }
        }
        Ok(())
    }
}

/// SQL `LIKE` matching: `%` any run of characters, `_` one character.
pub fn like(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative wildcard matching with backtracking to the last `%`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against mlflow 3.17.2's `SearchUtils.parse_search_filter` and
    /// `parse_order_by_for_search_runs`.
    #[test]
    fn run_name_spellings_and_order_by_whitespace_follow_mlflow() {
        for f in [
            "attributes.`run name` = 'a'",
            "attributes.`Run name` = 'a'",
            "attributes.`Run Name` = 'a'",
            "`Run name` = 'a'",
            "run_name = 'a'",
        ] {
            let parsed = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(
                parsed.clauses[0].target,
                Target::Attribute(Attribute::RunName),
                "{f}"
            );
        }
        for bad in ["attributes.`RUN NAME` = 'a'", "attributes.runName = 'a'"] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
        for ok in [
            "params.p  DESC",
            "params.p\tDESC",
            "metrics.m asc",
            "params.`a b` DESC",
            "Created",
        ] {
            assert!(OrderBy::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "params.p ",
            " params.p",
            "params.p DESC ",
            "params.p\n",
            "attributes.`run name`",
            "`Run name`",
            "attributes.`Run Name` DESC",
            "params.p DESC DESC",
        ] {
            assert!(OrderBy::parse(bad).is_err(), "{bad:?} must be refused");
        }
        let err = OrderBy::parse("params.p ").unwrap_err();
        assert_eq!(err.position, 8);
        assert!(err.message.contains("whitespace"), "{err}");
    }

    #[test]
    fn parses_mlflow_examples() {
        let f = Filter::parse("metrics.acc > 0.5 and params.opt = 'adam'").unwrap();
        assert_eq!(f.clauses[0].op, CompareOp::Gt);
        let f = Filter::parse("tags.\"my tag\" = \"x\" AND `metrics`.`train/acc` >= 1e-3").unwrap();
        assert_eq!(f.clauses[0].target, Target::Tag("my tag".into()));
        assert_eq!(f.clauses[1].target, Target::Metric("train/acc".into()));
        assert_eq!(f.clauses[1].value, Value::Number(1e-3));
        let f = Filter::parse("status = 'FINISHED' and `Run name` LIKE 'grid-%' and created > -5")
            .unwrap();
        assert_eq!(f.clauses[0].target, Target::Attribute(Attribute::Status));
        assert_eq!(f.clauses[1].target, Target::Attribute(Attribute::RunName));
        assert_eq!(f.clauses[2].target, Target::Attribute(Attribute::StartTime));
        let f = Filter::parse(
            "attributes.run_id IN ('a', 'b') and tags.mlflow.parentRunId IS NOT NULL",
        )
        .unwrap();
        assert_eq!(
            f.clauses[0].value,
            Value::List(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            f.clauses[1].target,
            Target::Tag("mlflow.parentRunId".into())
        );
        assert!(Filter::parse("   ").unwrap().clauses.is_empty());
        // As in MLflow, AND separates comparisons but may be left out, repeated or trail.
        for lenient in [
            "metrics.a > 1 metrics.b > 2",
            "metrics.a > 1 AND",
            "AND metrics.a > 1 and AND metrics.b > 2",
        ] {
            let f = Filter::parse(lenient).unwrap();
            assert!(!f.clauses.is_empty(), "{lenient}");
            assert_eq!(f.clauses[0].target, Target::Metric("a".into()), "{lenient}");
        }
        assert_eq!(
            Filter::parse("metrics.a > 1 metrics.b > 2")
                .unwrap()
                .clauses
                .len(),
            2
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("metrics.a > 1 OR metrics.b > 1", 14, "OR"),
            ("params.lr = 0.01", 12, "quoted string"),
            ("params.lr > '0.01'", 10, "does not work on params"),
            ("metrics.acc IS NULL", 12, "does not work on numbers"),
            ("foo.bar = 'x'", 0, "invalid entity type `foo`"),
            ("run_name IN ('a')", 9, "only run_id"),
            ("tags.x = 'unterminated", 9, "unterminated"),
            ("(metrics.a > 1)", 0, "conjunctions"),
            ("metrics.a >", 11, "expected a value"),
            ("name = 'x'", 0, "not a run attribute"),
            ("tags.x RLIKE 'a'", 7, "RLIKE"),
        ];
        for (input, pos, msg) in cases {
            let e = Filter::parse(input).unwrap_err();
            assert_eq!(e.position, pos, "{input}: {e}");
            assert!(e.message.contains(msg), "{input}: {e}");
        }
    }

    #[test]
    fn like_patterns() {
        assert!(like("grid-%", "grid-01", false));
        assert!(like("g_id%", "grid", false));
        assert!(!like("GRID%", "grid", false));
        assert!(like("GRID%", "grid", true));
        assert!(like("%a%b%", "xxaxxbxx", false));
        assert!(!like("a", "ab", false));
    }

    #[test]
    fn order_by() {
        assert_eq!(
            OrderBy::parse("`metrics`.`train/acc` DESC").unwrap(),
            OrderBy {
                target: Target::Metric("train/acc".into()),
                ascending: false
            }
        );
        assert!(OrderBy::parse("params.lr").unwrap().ascending);
        assert!(OrderBy::parse("params.lr sideways").is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9_ ./:-]{1,12}".prop_filter("not blank", |k| !k.trim().is_empty())
        }

        fn text() -> impl Strategy<Value = String> {
            "(?s).{0,12}"
        }

        fn clause() -> impl Strategy<Value = Clause> {
            let num_op = prop_oneof![
                Just(CompareOp::Eq),
                Just(CompareOp::Ne),
                Just(CompareOp::Lt),
                Just(CompareOp::Le),
                Just(CompareOp::Gt),
                Just(CompareOp::Ge),
            ];
            let str_op = prop_oneof![
                Just(CompareOp::Eq),
                Just(CompareOp::Ne),
                Just(CompareOp::Like),
                Just(CompareOp::ILike),
            ];
            let finite = any::<f64>().prop_filter("finite", |v| v.is_finite());
            prop_oneof![
                (key(), num_op.clone(), finite.clone()).prop_map(|(k, op, v)| Clause {
                    target: Target::Metric(k),
                    op,
                    value: Value::Number(v)
                }),
                (key(), str_op.clone(), text()).prop_map(|(k, op, v)| Clause {
                    target: Target::Param(k),
                    op,
                    value: Value::Str(v)
                }),
                (key(), str_op, text()).prop_map(|(k, op, v)| Clause {
                    target: Target::Tag(k),
                    op,
                    value: Value::Str(v)
                }),
                (key(), any::<bool>()).prop_map(|(k, n)| Clause {
                    target: Target::Tag(k),
                    op: if n {
                        CompareOp::IsNull
                    } else {
                        CompareOp::IsNotNull
                    },
                    value: Value::Null,
                }),
                (num_op, finite).prop_map(|(op, v)| Clause {
                    target: Target::Attribute(Attribute::StartTime),
                    op,
                    value: Value::Number(v)
                }),
                prop::collection::vec(text(), 1..4).prop_map(|l| Clause {
                    target: Target::Attribute(Attribute::RunId),
                    op: CompareOp::NotIn,
                    value: Value::List(l),
                }),
            ]
        }

        proptest! {
            #[test]
            fn display_then_parse_gives_the_same_filter(clauses in prop::collection::vec(clause(), 0..5)) {
                let f = Filter { clauses };
                let text = f.to_string();
                let back = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                prop_assert_eq!(back, f);
            }

            #[test]
            fn parser_never_panics_and_positions_are_in_range(input in "(?s).{0,40}") {
                if let Err(e) = Filter::parse(&input) {
                    prop_assert!(e.position <= input.chars().count());
                }
                let _ = OrderBy::parse(&input);
            }

            #[test]
            fn mutated_valid_filters_never_panic(
                clauses in prop::collection::vec(clause(), 1..3),
                cut in any::<prop::sample::Index>(),
                junk in "[ ()'`\"=<>!,.a-zA-Z0-9]{0,3}",
            ) {
                let text = Filter { clauses }.to_string();
                let chars: Vec<char> = text.chars().collect();
                let at = cut.index(chars.len() + 1);
                let mutated: String = chars[..at].iter().chain(junk.chars().collect::<Vec<_>>().iter()).chain(chars[at..].iter()).collect();
                if let Err(e) = Filter::parse(&mutated) {
                    prop_assert!(e.position <= mutated.chars().count());
                }
            }
        }
    }
}
