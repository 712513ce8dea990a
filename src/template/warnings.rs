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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    const WARN_LOOKUP: &str = "{{ lookup('file', '/nonexistent/baton-test', errors='warn') }}";

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
