//! Schedule expressions ([`Schedule`]) and the data intervals they cut time into
//! ([`DataInterval`], [`Schedule::next_interval`]).
//!
//! A cron schedule follows Airflow's `CronDataIntervalTimetable`: consecutive fire times bound
//! the intervals, the run for `[start, end)` is due at `end`, and its logical date is `start`.
//! Airflow 3 turns a cron string into a `CronTriggerTimetable` instead (start == end == the fire
//! time); oxflow keeps the data-interval semantics because they are what a batch pipeline
//! processes ("yesterday's data, run just after midnight") and what `catchup` and `backfill`
//! are defined over.

use chrono::{DateTime, SecondsFormat, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The span of data a DAG run processes: `[start, end)`; the logical date is `start`.
///
/// ```
/// use oxflow_runtime::schedule::{DataInterval, Schedule};
/// let s: Schedule = "@daily".parse().unwrap();
/// let now = "2026-03-02T10:00:00Z".parse().unwrap();
/// let i = s.next_interval(None, None, false, now).unwrap().unwrap();
/// assert_eq!(i.start.to_rfc3339(), "2026-03-01T00:00:00+00:00");
/// assert_eq!(i.end.to_rfc3339(), "2026-03-02T00:00:00+00:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataInterval {
    /// The interval's start: the run's logical date.
    pub start: DateTime<Utc>,
    /// The interval's end (excluded): when the run is due.
    pub end: DateTime<Utc>,
}

impl DataInterval {
    /// The run's logical date (Airflow's `logical_date`): the interval's start.
    pub fn logical_date(&self) -> DateTime<Utc> {
        self.start
    }
}

impl std::fmt::Display for DataInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}, {})",
            format_time(self.start),
            format_time(self.end)
        )
    }
}

/// A time as oxflow records it: RFC 3339 in UTC, `Z`, fractions only when there are any
/// (`2026-03-01T00:00:00Z`).
///
/// ```
/// let t = "2026-03-01T00:00:00+00:00".parse().unwrap();
/// assert_eq!(oxflow_runtime::schedule::format_time(t), "2026-03-01T00:00:00Z");
/// ```
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads a date or time given on the command line: `2026-03-01` (midnight UTC),
/// `2026-03-01T06:00:00` (UTC) or RFC 3339 with an offset.
///
/// ```
/// use oxflow_runtime::schedule::{format_time, parse_time};
/// assert_eq!(format_time(parse_time("2026-03-01").unwrap()), "2026-03-01T00:00:00Z");
/// assert_eq!(format_time(parse_time("2026-03-01T06:00:00+02:00").unwrap()), "2026-03-01T04:00:00Z");
/// assert!(parse_time("yesterday").is_err());
/// ```
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, ScheduleError> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Ok(d.and_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(ScheduleError::BadTime {
        text: text.to_owned(),
    })
}

/// A DAG's `schedule`: a cron expression (five fields, or six with seconds first), one of
/// Airflow's presets, `@once` or `@continuous`.
///
/// ```
/// use oxflow_runtime::schedule::Schedule;
/// assert!(matches!("@once".parse::<Schedule>(), Ok(Schedule::Once)));
/// assert!("*/5 * * * * *".parse::<Schedule>().is_ok());   // every five seconds
/// assert!("@dayly".parse::<Schedule>().is_err());
/// ```
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Fire times from a cron expression (presets are expanded to one).
    Cron {
        /// The expression as written (`@daily`, `0 3 * * *`).
        text: String,
        /// The parsed expression.
        cron: Box<Cron>,
    },
    /// `@once`: one run, at `start_date` (or as soon as the scheduler first sees the DAG).
    Once,
    /// `@continuous`: a new run as soon as the previous one ended; its interval runs from the
    /// previous run's end to the moment it starts.
    Continuous,
}

/// Airflow's presets (`airflow.utils.dates.cron_presets`) and the cron expression each stands
/// for. `@weekly` is Sunday midnight, `@quarterly` the first of January, April, July, October.
pub const PRESETS: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

/// A schedule, date or backfill range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// An `@` word that is no preset.
    #[error(
        "unknown schedule preset \"{text}\"; expected one of: @once, @continuous, {}",
        PRESETS.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ")
    )]
    UnknownPreset {
        /// The text given.
        text: String,
    },
    /// A cron expression croner refuses.
    #[error(
        "\"{text}\" is not a valid cron expression ({reason}); use five fields (minute hour day-of-month month day-of-week) such as \"0 3 * * *\", six with seconds first such as \"*/10 * * * * *\", or a preset such as \"@daily\""
    )]
    BadCron {
        /// The expression.
        text: String,
        /// Why.
        reason: String,
    },
    /// A date or time that does not parse.
    #[error(
        "\"{text}\" is not a date or time; give one such as 2026-03-01, 2026-03-01T06:00:00 (UTC) or 2026-03-01T06:00:00+02:00"
    )]
    BadTime {
        /// The text given.
        text: String,
    },
    /// No fire time can be found (an expression such as `0 0 30 2 *`).
    #[error("schedule \"{text}\" has no fire time after {after}")]
    NoFireTime {
        /// The expression.
        text: String,
        /// Where the search started.
        after: String,
    },
}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        match t {
            "@once" => return Ok(Schedule::Once),
            "@continuous" => return Ok(Schedule::Continuous),
            _ => {}
        }
        let expr = if t.starts_with('@') {
            PRESETS
                .iter()
                .find(|(p, _)| *p == t)
                .map(|(_, e)| *e)
                .ok_or_else(|| ScheduleError::UnknownPreset { text: t.to_owned() })?
        } else {
            t
        };
        let cron = parser().parse(expr).map_err(|e| ScheduleError::BadCron {
            text: t.to_owned(),
            // croner's text is a sentence; ours are lower case without a final period.
            reason: e.to_string().trim_end_matches('.').to_lowercase(),
        })?;
        Ok(Schedule::Cron {
            text: t.to_owned(),
            cron: Box::new(cron),
        })
    }
}

/// Five fields, or six with seconds first; no year field (Airflow's croniter has none either);
/// day-of-month and day-of-week combined with OR, as Vixie cron and croniter do.
fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::Cron { text, .. } => f.write_str(text),
            Schedule::Once => f.write_str("@once"),
            Schedule::Continuous => f.write_str("@continuous"),
        }
    }
}

impl Schedule {
    /// The first fire time strictly after `t`.
    fn after(&self, cron: &Cron, t: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        cron.find_next_occurrence(&t, false)
            .map_err(|_| self.no_fire(t))
    }

    /// The first fire time at or after `t`.
    fn align_next(&self, cron: &Cron, t: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        cron.find_next_occurrence(&t, true)
            .map_err(|_| self.no_fire(t))
    }

    /// The last fire time at or before `t`.
    fn align_prev(&self, cron: &Cron, t: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        cron.find_previous_occurrence(&t, true)
            .map_err(|_| self.no_fire(t))
    }

    fn no_fire(&self, t: DateTime<Utc>) -> ScheduleError {
        ScheduleError::NoFireTime {
            text: self.to_string(),
            after: format_time(t),
        }
    }

    /// The interval of the next scheduled run, as Airflow's timetables compute it
    /// (`next_dagrun_info`): `last_end` is the end of the latest interval already scheduled
    /// (from the store), `start_date` the earliest logical date. Without `catchup`, intervals
    /// missed while no scheduler ran are skipped: the next run is the latest complete interval
    /// at `now`, or the one after it. `None`: nothing more to run (`@once` done).
    ///
    /// For `@continuous` the interval ends at `now`: call it when the run is to start.
    ///
    /// ```
    /// use oxflow_runtime::schedule::Schedule;
    /// let s: Schedule = "0 * * * *".parse().unwrap();
    /// let t = |s: &str| s.parse().unwrap();
    /// // Catching up from the start date, one hour after another.
    /// let i = s.next_interval(None, Some(t("2026-03-01T00:00:00Z")), true, t("2026-03-01T05:30:00Z")).unwrap().unwrap();
    /// assert_eq!((i.start, i.end), (t("2026-03-01T00:00:00Z"), t("2026-03-01T01:00:00Z")));
    /// // Without catchup the missed hours are skipped: the latest complete one runs.
    /// let i = s.next_interval(Some(t("2026-03-01T01:00:00Z")), None, false, t("2026-03-01T05:30:00Z")).unwrap().unwrap();
    /// assert_eq!((i.start, i.end), (t("2026-03-01T04:00:00Z"), t("2026-03-01T05:00:00Z")));
    /// ```
    pub fn next_interval(
        &self,
        last_end: Option<DateTime<Utc>>,
        start_date: Option<DateTime<Utc>>,
        catchup: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<DataInterval>, ScheduleError> {
        match self {
            Schedule::Once => Ok(match last_end {
                Some(_) => None,
                None => {
                    let at = start_date.unwrap_or(now);
                    Some(DataInterval { start: at, end: at })
                }
            }),
            Schedule::Continuous => {
                let start = last_end.or(start_date).unwrap_or(now);
                Ok(Some(DataInterval {
                    start,
                    end: start.max(now),
                }))
            }
            Schedule::Cron { cron, .. } => {
                // Airflow's `_DataIntervalTimetable.next_dagrun_info`.
                let earliest = if catchup {
                    start_date.map(|d| self.align_next(cron, d)).transpose()?
                } else {
                    Some(self.skip_to_latest(cron, start_date, now)?)
                };
                let start = match (last_end, earliest) {
                    (None, None) => return Ok(None),
                    (None, Some(e)) => e,
                    (Some(last), e) => {
                        let aligned = self.align_prev(cron, last)?;
                        e.map_or(aligned, |e| aligned.max(e))
                    }
                };
                let end = self.after(cron, start)?;
                Ok(Some(DataInterval { start, end }))
            }
        }
    }

    /// Airflow's `_skip_to_latest`: the start of the latest interval that has ended at `now`,
    /// not before `start_date`.
    fn skip_to_latest(
        &self,
        cron: &Cron,
        start_date: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ScheduleError> {
        let last_start = self.align_prev(cron, now)?;
        // `now` on a fire time: the interval ending now is complete.
        let new_start = if last_start == now {
            self.align_prev(cron, now - chrono::Duration::milliseconds(1))?
        } else {
            // Between fire times: the interval ending at `last_start` is the latest complete one.
            self.align_prev(cron, last_start - chrono::Duration::milliseconds(1))?
        };
        Ok(match start_date {
            Some(d) => new_start.max(self.align_next(cron, d)?),
            None => new_start,
        })
    }

    /// Every interval whose logical date lies in `[from, to]`, in order: what `backfill`
    /// runs (Airflow's `iter_dagrun_infos_between`). `@once` gives the interval at `from`;
    /// `@continuous` has no intervals to backfill.
    ///
    /// ```
    /// use oxflow_runtime::schedule::Schedule;
    /// let s: Schedule = "@daily".parse().unwrap();
    /// let t = |s: &str| s.parse().unwrap();
    /// let days = s.intervals_between(t("2026-03-01T00:00:00Z"), t("2026-03-03T00:00:00Z")).unwrap();
    /// assert_eq!(days.len(), 3);
    /// assert_eq!(days[2].end, t("2026-03-04T00:00:00Z"));
    /// ```
    pub fn intervals_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DataInterval>, ScheduleError> {
        match self {
            Schedule::Once => Ok(vec![DataInterval {
                start: from,
                end: from,
            }]),
            Schedule::Continuous => Ok(Vec::new()),
            Schedule::Cron { cron, .. } => {
                let mut out = Vec::new();
                let mut start = self.align_next(cron, from)?;
                while start <= to {
                    let end = self.after(cron, start)?;
                    out.push(DataInterval { start, end });
                    start = end;
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn next(
        s: &str,
        last: Option<&str>,
        start: Option<&str>,
        catchup: bool,
        now: &str,
    ) -> Option<(String, String)> {
        let s: Schedule = s.parse().unwrap();
        s.next_interval(last.map(t), start.map(t), catchup, t(now))
            .unwrap()
            .map(|i| (format_time(i.start), format_time(i.end)))
    }

    fn pair(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_owned(), b.to_owned()))
    }

    #[test]
    fn presets_are_airflows() {
        let s: Schedule = "@quarterly".parse().unwrap();
        let days = s
            .intervals_between(t("2026-01-01T00:00:00Z"), t("2026-12-31T00:00:00Z"))
            .unwrap();
        let starts: Vec<String> = days.iter().map(|i| format_time(i.start)).collect();
        assert_eq!(
            starts,
            [
                "2026-01-01T00:00:00Z",
                "2026-04-01T00:00:00Z",
                "2026-07-01T00:00:00Z",
                "2026-10-01T00:00:00Z"
            ]
        );
        // 2026-03-01 is a Sunday.
        let w: Schedule = "@weekly".parse().unwrap();
        let i = w
            .next_interval(None, None, false, t("2026-03-04T12:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(i.end, t("2026-03-01T00:00:00Z"));
    }

    #[test]
    fn seconds_are_optional_and_years_refused() {
        let s: Schedule = "*/2 * * * * *".parse().unwrap();
        let i = s
            .next_interval(None, None, false, t("2026-03-01T00:00:05Z"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (i.start, i.end),
            (t("2026-03-01T00:00:02Z"), t("2026-03-01T00:00:04Z"))
        );
        assert!(matches!(
            "0 0 0 1 1 * 2027".parse::<Schedule>(),
            Err(ScheduleError::BadCron { .. })
        ));
        let e = "0 25 * * *".parse::<Schedule>().unwrap_err().to_string();
        assert!(
            e.starts_with("\"0 25 * * *\" is not a valid cron expression"),
            "{e}"
        );
    }

    #[test]
    fn without_catchup_the_latest_complete_interval_runs() {
        // Between fire times: the interval that ended at 05:00.
        assert_eq!(
            next("0 * * * *", None, None, false, "2026-03-01T05:30:00Z"),
            pair("2026-03-01T04:00:00Z", "2026-03-01T05:00:00Z")
        );
        // On a fire time: the interval ending now.
        assert_eq!(
            next("0 * * * *", None, None, false, "2026-03-01T05:00:00Z"),
            pair("2026-03-01T04:00:00Z", "2026-03-01T05:00:00Z")
        );
        // Already scheduled: the next one, due in the future.
        assert_eq!(
            next(
                "0 * * * *",
                Some("2026-03-01T05:00:00Z"),
                None,
                false,
                "2026-03-01T05:30:00Z"
            ),
            pair("2026-03-01T05:00:00Z", "2026-03-01T06:00:00Z")
        );
        // A start date in the future holds the first run back.
        assert_eq!(
            next(
                "0 * * * *",
                None,
                Some("2026-03-02T00:00:00Z"),
                false,
                "2026-03-01T05:30:00Z"
            ),
            pair("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z")
        );
    }

    #[test]
    fn catchup_runs_every_interval_since_the_start_date() {
        assert_eq!(
            next(
                "@daily",
                None,
                Some("2026-03-01T10:00:00Z"),
                true,
                "2026-03-05T00:00:00Z"
            ),
            pair("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
        );
        assert_eq!(
            next(
                "@daily",
                Some("2026-03-03T00:00:00Z"),
                Some("2026-03-01T00:00:00Z"),
                true,
                "2026-03-05T00:00:00Z"
            ),
            pair("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")
        );
    }

    #[test]
    fn once_and_continuous() {
        assert_eq!(
            next(
                "@once",
                None,
                Some("2026-03-01T00:00:00Z"),
                false,
                "2026-03-05T00:00:00Z"
            ),
            pair("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z")
        );
        assert_eq!(
            next(
                "@once",
                Some("2026-03-01T00:00:00Z"),
                None,
                false,
                "2026-03-05T00:00:00Z"
            ),
            None
        );
        assert_eq!(
            next(
                "@continuous",
                Some("2026-03-01T00:00:00Z"),
                None,
                false,
                "2026-03-05T00:00:00Z"
            ),
            pair("2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z")
        );
    }

    #[test]
    fn backfill_ranges_include_both_ends() {
        let s: Schedule = "0 */6 * * *".parse().unwrap();
        let got = s
            .intervals_between(t("2026-03-01T03:00:00Z"), t("2026-03-01T18:00:00Z"))
            .unwrap();
        let starts: Vec<String> = got.iter().map(|i| format_time(i.start)).collect();
        assert_eq!(
            starts,
            [
                "2026-03-01T06:00:00Z",
                "2026-03-01T12:00:00Z",
                "2026-03-01T18:00:00Z"
            ]
        );
    }

    proptest::proptest! {
        /// Consecutive scheduled intervals tile time: each starts where the last ended.
        #[test]
        fn scheduled_intervals_tile_time(secs in 0i64..10_000_000, step in 1u32..30) {
            let s: Schedule = format!("*/{step} * * * *").parse().unwrap();
            let now = DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap();
            let first = s.next_interval(None, None, false, now).unwrap().unwrap();
            proptest::prop_assert!(first.end <= now && first.start < first.end);
            let second = s.next_interval(Some(first.end), None, false, now).unwrap().unwrap();
            proptest::prop_assert_eq!(second.start, first.end);
            proptest::prop_assert!(second.end > now);
        }
    }
}
