//! The keywords room: where the executor templates and reads keywords.
//!
//! Play keywords are templated here once per play, with play-level variables only (no host):
//! [`Runner::play_keywords`] gives `serial` (as batch sizes), `max_fail_percentage`,
//! `force_handlers`, `gather_facts` and `strategy`; `hosts`, `order`, `vars_files` entries and
//! task banner names go through [`Runner::template_play_level`] too. Keywords inherited from
//! the play down to a task (`any_errors_fatal`, `ignore_errors`, ...) are read with
//! [`inherited_flag`].
//!
//! Not here yet (issue 17, item 2): the per-host templating of task keywords (`when`,
//! `loop`, `until`/`retries`/`delay`, `delegate_to`, `become*`, `changed_when`/`failed_when`,
//! the module's arguments) stays in `runner.rs`, and `run_task` reads `run_once`, `throttle`
//! and `delegate_facts` itself; both are being changed for typed module results and move here
//! after that lands.

use super::{Runner, batches, strategy};
use crate::diagnostics::Error;
use crate::playbook::{Keywords, Play};
use crate::template;
use crate::value::{self, Value, Vars};
use std::sync::Arc;

/// A play's keywords, templated.
pub(super) struct PlayKeywords {
    /// The `serial` batch sizes for the play's hosts.
    pub batch_sizes: Vec<usize>,
    pub max_fail_percentage: Option<f64>,
    pub force_handlers: bool,
    /// Gather facts (the play's `gather_facts`, else the `gathering` setting).
    pub gather: bool,
    pub strategy: &'static dyn strategy::Strategy,
}

/// `max_fail_percentage` as written: a number, `%` after it allowed.
pub(super) fn parse_percentage(text: &str) -> Option<f64> {
    text.trim_end_matches('%').trim().parse::<f64>().ok()
}

/// A boolean keyword, the innermost that is set from the play down to the task.
pub(super) fn inherited_flag(
    chain: &[Arc<Keywords>],
    get: fn(&Keywords) -> &Option<Value>,
) -> bool {
    chain
        .iter()
        .rev()
        .find_map(|k| get(k).as_ref())
        .is_some_and(template::truthy)
}

impl Runner<'_> {
    /// The play's keywords templated with its variables (`play_vars`: the play's own, prompts,
    /// vars_files, role vars), in the order ansible-playbook reads them, so the first bad one
    /// is the one reported.
    pub(super) fn play_keywords(
        &self,
        play: &Play,
        play_vars: &[Arc<Vars>],
        hosts: usize,
    ) -> Result<PlayKeywords, Error> {
        let play_level = |v: &Value| self.template_play_level(v, play_vars);
        let span = |key: &str| play.spans.get(key).unwrap_or(&play.span);
        let serial = match &play.serial {
            Some(s) => Some(play_level(s)?),
            None => None,
        };
        let batch_sizes = batches::batch_sizes(serial.as_ref(), hosts)
            .map_err(|m| Error::syntax(span("serial"), m))?;
        let max_fail_percentage = match &play.max_fail_percentage {
            Some(v) => {
                let text = play_level(v)?.to_string();
                Some(parse_percentage(&text).ok_or_else(|| {
                    Error::syntax(
                        span("max_fail_percentage"),
                        format!("max_fail_percentage must be a number, got '{text}'"),
                    )
                })?)
            }
            None => None,
        };
        let force_handlers = match &play.force_handlers {
            Some(v) => template::truthy(&play_level(v)?),
            None => self.opts.force_handlers,
        };
        let gather = match &play.gather_facts {
            Some(v) => template::truthy(&play_level(v)?),
            None => self.opts.gathering != "explicit",
        };
        let strategy = match &play.strategy {
            Some(v) => play_level(v)?.to_string(),
            None => self.opts.strategy.clone(),
        };
        let strategy = strategy::by_name(&strategy).map_err(|other| {
            Error::syntax(
                span("strategy"),
                format!("Invalid play strategy specified: {other}; baton runs linear and free"),
            )
        })?;
        Ok(PlayKeywords {
            batch_sizes,
            max_fail_percentage,
            force_handlers,
            gather,
            strategy,
        })
    }
    /// A value templated with only play-level variables (no host): play keywords, task names.
    pub(super) fn template_play_level(
        &self,
        v: &Value,
        play_vars: &[Arc<Vars>],
    ) -> Result<Value, Error> {
        let globals = self
            .store
            .globals
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut pairs: Vec<(String, Value)> = Vec::new();
        for layer in play_vars
            .iter()
            .map(|l| l.as_ref())
            .chain([self.store.extra.as_ref(), globals.as_ref()])
        {
            pairs.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let scope = value::map(pairs.into_iter().map(|(k, v)| (Value::from(k), v)));
        template::render_value(v, &scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_fail_percentage_reads_a_number_with_or_without_a_percent_sign() {
        assert_eq!(parse_percentage("25"), Some(25.0));
        assert_eq!(parse_percentage("30%"), Some(30.0));
        assert_eq!(parse_percentage(" 12.5 %"), Some(12.5));
        assert_eq!(parse_percentage("0"), Some(0.0));
        assert_eq!(parse_percentage("half"), None);
        assert_eq!(parse_percentage(""), None);
    }

    fn get(k: &Keywords) -> &Option<Value> {
        &k.any_errors_fatal
    }

    #[test]
    fn the_innermost_keyword_set_wins() {
        let kw = |v: Option<bool>| {
            Arc::new(Keywords {
                any_errors_fatal: v.map(Value::from),
                ..Keywords::default()
            })
        };
        assert!(!inherited_flag(&[], get));
        assert!(inherited_flag(&[kw(Some(true)), kw(None)], get));
        assert!(!inherited_flag(&[kw(Some(true)), kw(Some(false))], get));
        assert!(inherited_flag(
            &[kw(Some(false)), kw(None), kw(Some(true))],
            get
        ));
    }
}
