//! The keywords room: where the executor templates and reads keywords.
//!
//! Play keywords are templated here once per play, with play-level variables only (no host):
//! [`Runner::play_keywords`] gives `serial` (as batch sizes), `max_fail_percentage`,
//! `force_handlers`, `gather_facts` and `strategy`; `hosts`, `order`, `vars_files` entries and
//! task banner names go through [`Runner::template_play_level`] too. Keywords inherited from
//! the play down to a task (`any_errors_fatal`, `ignore_errors`, ...) are read with
//! [`inherited_flag`].
//!
//! Task keywords come in two kinds. Those that decide how a task fans out over the hosts
//! (`run_once`, `throttle`) are templated here, per host in the order the hosts take the task,
//! as ansible-core's linear strategy does ([`Runner::fan_out`]); `delegate_facts` is templated
//! here per host ([`HostJob::delegate_facts`]). The per-host keywords a host's run reads
//! (`when`, `loop`, `until`/`retries`/`delay`, `delegate_to`, `become*`, `environment`,
//! `changed_when`/`failed_when`) are templated by the host's job in `runner.rs`, through
//! [`HostJob::keyword`] where a keyword is inherited from the play down.

use super::runner::HostJob;
use super::{BatchState, Ctx, Runner, batches, strategy};
use crate::diagnostics::Error;
use crate::playbook::{Keywords, Play, Task};
use crate::template;
use crate::value::{self, Value, Vars};
use crate::vars::OMIT;
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

/// How a task fans out over a batch's hosts.
pub(super) struct FanOut {
    /// The hosts that run the task, in order.
    pub targets: Vec<String>,
    /// `run_once` held (for the last target): one result stands for every host.
    pub run_once: bool,
    /// `throttle`: at most this many hosts run the task at once.
    pub throttle: Option<usize>,
}

/// ansible-core's message when `throttle` is not an integer.
fn throttle_error(task: &Task, why: &str) -> Error {
    let mut e = Error::new(
        crate::diagnostics::ErrorKind::Unsupported,
        format!("Failed to convert the throttle value to an integer: {why}"),
    );
    e.span = Some(task.span.clone());
    e
}

impl HostJob {
    /// The innermost value of a keyword from the play down to the task, templated with this
    /// host's variables.
    pub(super) fn keyword(
        &self,
        get: fn(&Keywords) -> &Option<Value>,
    ) -> Result<Option<Value>, Error> {
        // One that templates to `omit` is as if it were not set: the next one out counts
        // (ansible sets the attribute back to what it inherits).
        for v in self.chain.iter().rev().filter_map(|k| get(k).as_ref()) {
            let v = if v.as_str().is_some_and(value::looks_like_template) {
                template::render_value(v, &self.scope(None))?
            } else {
                v.clone()
            };
            if v.as_str() != Some(OMIT) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// `delegate_facts` (inherited from blocks), templated for this host.
    pub(super) fn delegate_facts(&self) -> Result<bool, Error> {
        Ok(self
            .keyword(|k| &k.delegate_facts)?
            .is_some_and(|v| template::truthy(&v)))
    }
}

impl Runner<'_> {
    /// `run_once` and `throttle`, templated host by host in the order the hosts take the
    /// task: the first host for which `run_once` holds is the last to run it (ansible-core's
    /// linear strategy stops queueing there), and `throttle` is read as an integer.
    pub(super) fn fan_out(
        &self,
        state: &BatchState,
        task: &Arc<Task>,
        ctx: &Ctx,
        hosts: &[String],
    ) -> Result<FanOut, Error> {
        let innermost = |get: fn(&Keywords) -> &Option<Value>| {
            ctx.chain
                .iter()
                .rev()
                .find_map(|k| get(k).as_ref())
                .cloned()
        };
        let templated = |v: &Option<Value>| {
            v.as_ref()
                .and_then(Value::as_str)
                .is_some_and(value::looks_like_template)
        };
        let run_once_raw = innermost(|k| &k.run_once);
        let throttle_raw = innermost(|k| &k.throttle);
        let per_host = templated(&run_once_raw) || templated(&throttle_raw);
        let as_width = |w: Value| -> Result<Option<usize>, Error> {
            let n = w
                .as_i64()
                .or_else(|| w.to_string().trim().parse().ok())
                .ok_or_else(|| {
                    throttle_error(
                        task,
                        &format!("invalid literal for int() with base 10: '{w}'"),
                    )
                })?;
            Ok((n > 0).then_some(n as usize))
        };
        if !per_host {
            let run_once = run_once_raw.as_ref().is_some_and(template::truthy);
            let throttle = match throttle_raw {
                Some(w) => as_width(w)?,
                None => None,
            };
            let targets = if run_once {
                hosts.iter().take(1).cloned().collect()
            } else {
                hosts.to_vec()
            };
            return Ok(FanOut {
                targets,
                run_once,
                throttle,
            });
        }
        let mut targets = Vec::new();
        let mut run_once = false;
        let mut throttle = None;
        let magic = self.magic(state, ctx, task);
        for host in hosts {
            let job = self.job_with(task, ctx, host, magic.clone());
            if throttle.is_none()
                && let Some(w) = job
                    .keyword(|k| &k.throttle)
                    .map_err(|e| throttle_error(task, &e.message))?
            {
                throttle = as_width(w)?;
            }
            targets.push(host.clone());
            if job
                .keyword(|k| &k.run_once)?
                .as_ref()
                .is_some_and(template::truthy)
            {
                run_once = true;
                break;
            }
        }
        Ok(FanOut {
            targets,
            run_once,
            throttle,
        })
    }

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
        // A keyword that templates to `omit` is as if it were not set.
        let given = |v: &Option<Value>| -> Result<Option<Value>, Error> {
            match v {
                Some(v) => Ok(Some(play_level(v)?).filter(|v| v.as_str() != Some(OMIT))),
                None => Ok(None),
            }
        };
        let span = |key: &str| play.spans.get(key).unwrap_or(&play.span);
        let serial = given(&play.serial)?;
        let batch_sizes = batches::batch_sizes(serial.as_ref(), hosts)
            .map_err(|m| Error::syntax(span("serial"), m))?;
        let max_fail_percentage = match given(&play.max_fail_percentage)? {
            Some(v) => {
                let text = v.to_string();
                Some(parse_percentage(&text).ok_or_else(|| {
                    Error::syntax(
                        span("max_fail_percentage"),
                        format!("max_fail_percentage must be a number, got '{text}'"),
                    )
                })?)
            }
            None => None,
        };
        let force_handlers = match given(&play.force_handlers)? {
            Some(v) => template::truthy(&v),
            None => self.opts.force_handlers,
        };
        let gather = match given(&play.gather_facts)? {
            Some(v) => template::truthy(&v),
            None => self.opts.gathering != "explicit",
        };
        let strategy = match given(&play.strategy)? {
            Some(v) => v.to_string(),
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
        // `omit` is there for `x | default(omit)`, under anything the user defines.
        let mut pairs: Vec<(String, Value)> = vec![("omit".to_string(), Value::from(OMIT))];
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
