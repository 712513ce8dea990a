//! Questions modules ask while a task runs (`pause`'s prompt, see `modules::ask`): the task
//! room installs an asker around each host job, and the questions come here, where they become
//! `Event::Prompt`s that the output layer answers. The executor itself never reads the
//! terminal.

use super::Runner;
use super::events::Event;
use crate::modules::ask::Question;

/// What the operator answered to a task's first question; the task's other hosts get the
/// same answer (ansible-core asks `pause` once for the whole batch).
#[derive(Default)]
pub(super) struct Answered(Option<Option<String>>);

impl Runner<'_> {
    /// Answers `q` through the reporter, or with the answer this task already got.
    pub(super) fn answer(&mut self, q: Question, answered: &mut Answered) {
        let got = match &answered.0 {
            Some(a) => a.clone(),
            None => {
                let slot = std::sync::Mutex::new(None);
                self.reporter.event(&Event::Prompt {
                    prompt: &q.prompt,
                    private: q.private,
                    answer: &slot,
                });
                let a = slot.into_inner().unwrap_or_else(|e| e.into_inner());
                answered.0 = Some(a.clone());
                a
            }
        };
        // The job may be gone (a panic failed it): nobody to tell.
        let _ = q.reply.send(got);
    }
}
