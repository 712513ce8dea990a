//! Warnings raised while templating (today: a lookup called with `errors='warn'`), on their way
//! to the event stream.
//!
//! Templating is deep inside minijinja's calls, with no reporter in reach, and library code
//! must not print. So a warning is handed to the [`Warnings`] collector installed for the work
//! in progress, and whoever installed it (the executor, `baton template`) takes the texts and
//! shows them its own way: the executor as `Event::Warning`, before the result they belong to.
//!
//! A collector is installed for the duration of a call ([`Warnings::collect`]) or of every poll
//! of a future ([`Warnings::scope`]), on a thread-local stack like the template contexts in
//! [`super`]: a task that moves between a runtime's threads takes its collector along, and
//! concurrent tasks each keep theirs. With no collector installed (a library caller that
//! asked for none), a warning goes to the log rather than being lost.

use super::StackGuard;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Where the template warnings of some work go. Clones share one list.
#[derive(Debug, Clone, Default)]
pub struct Warnings(Arc<Mutex<Vec<String>>>);

thread_local! {
    /// The collectors installed on this thread, innermost last.
    static INSTALLED: RefCell<Vec<Warnings>> = const { RefCell::new(Vec::new()) };
}

impl Warnings {
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// Runs `f` with the warnings templating raises in it collected here.
    pub fn collect<R>(&self, f: impl FnOnce() -> R) -> R {
        let _installed = StackGuard::push(&INSTALLED, self.clone());
        f()
    }

    /// `fut`, with the warnings templating raises while it runs collected here, whichever
    /// thread polls it.
    pub fn scope<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped {
            warnings: self.clone(),
            inner: Box::pin(fut),
        }
    }

    /// The warnings collected so far, oldest first; the list is left empty.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A future whose template warnings go to one collector (see [`Warnings::scope`]).
pub struct Scoped<F: Future> {
    warnings: Warnings,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _installed = StackGuard::push(&INSTALLED, this.warnings.clone());
        this.inner.as_mut().poll(cx)
    }
}

/// Hands a warning to the innermost collector of this thread.
pub(crate) fn warn(text: String) {
    match INSTALLED.with(|s| s.borrow().last().cloned()) {
        Some(w) => w.0.lock().unwrap_or_else(|e| e.into_inner()).push(text),
        None => tracing::warn!("{text}"),
    }
}

/// Runs `f`, passing what templating warned about in it on to the enclosing collector (it is
/// shown as usual), and gives the deprecations among those warnings as ansible-core 2.19 puts
/// them in the result of the action that raised them (`deprecations`: msg, version, the
/// deprecator): an action that evaluates templates itself (`assert`) reports them there too.
pub fn with_deprecations<R>(f: impl FnOnce() -> R) -> (R, Vec<crate::value::Value>) {
    let mine = Warnings::new();
    let out = mine.collect(f);
    let mut deprecations = Vec::new();
    for text in mine.take() {
        if let Some(d) = deprecation_entry(&text) {
            deprecations.push(d);
        }
        warn(text);
    }
    (out, deprecations)
}

/// A `[DEPRECATION WARNING]: MSG This feature will be removed from ansible-core version V.
/// [HELP]` text as a result's deprecation entry.
fn deprecation_entry(text: &str) -> Option<crate::value::Value> {
    use crate::value::{Value, map};
    const REMOVAL: &str = " This feature will be removed from ansible-core version ";
    let body = text.strip_prefix("[DEPRECATION WARNING]: ")?;
    let (msg, rest) = body.split_once(REMOVAL)?;
    let version = rest.split_once(". ").map_or(rest, |(v, _)| v);
    let version = version.strip_suffix('.').unwrap_or(version);
    Some(map([
        ("collection_name", Value::from("ansible.builtin")),
        (
            "deprecator",
            map([
                ("resolved_name", Value::from("ansible.builtin")),
                ("type", Value::from(())),
            ]),
        ),
        ("msg", Value::from(msg)),
        ("version", Value::from(version)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    const WARN_LOOKUP: &str = "{{ lookup('file', '/nonexistent/baton-test', errors='warn') }}";

    #[test]
    fn deprecations_are_passed_on_and_given_as_result_entries() {
        let outer = Warnings::new();
        let (ok, deps) = outer.collect(|| {
            with_deprecations(|| {
                crate::template::eval_condition(&Value::from("{{ true }}"), &Value::from(()))
            })
        });
        assert!(ok.unwrap());
        assert_eq!(outer.take().len(), 1, "the warning is still shown");
        assert_eq!(deps.len(), 1);
        assert_eq!(
            deps[0].get_attr("msg").unwrap().as_str(),
            Some(
                "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}."
            )
        );
        assert_eq!(deps[0].get_attr("version").unwrap().as_str(), Some("2.23"));
    }

    #[test]
    fn a_lookup_warning_reaches_the_installed_collector_only() {
        let outer = Warnings::new();
        let inner = Warnings::new();
        outer
            .collect(|| {
                inner.collect(|| crate::template::render_text(WARN_LOOKUP, &Value::from(())))
            })
            .unwrap();
        assert!(outer.take().is_empty());
        let got = inner.take();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with(
                "An error occurred while running the lookup plugin 'file': Unable to access"
            ),
            "{got:?}"
        );
        assert!(inner.take().is_empty(), "take empties the list");
    }

    #[test]
    fn a_scoped_future_keeps_its_collector_across_threads() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let collectors: Vec<Warnings> = (0..4).map(|_| Warnings::new()).collect();
        runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, w) in collectors.iter().enumerate() {
                set.spawn(w.scope(async move {
                    for _ in 0..=i {
                        // Yield between warnings: the task may resume on another thread.
                        tokio::task::yield_now().await;
                        crate::template::render_text(WARN_LOOKUP, &Value::from(())).unwrap();
                    }
                }));
            }
            while set.join_next().await.is_some() {}
        });
        for (i, w) in collectors.iter().enumerate() {
            assert_eq!(w.take().len(), i + 1);
        }
    }
}
