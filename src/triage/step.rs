//! Progress of a run, one `Step` at a time: how it went (`StepOutcome`) and what it was. The
//! console panel and headless output decide how an outcome looks.

/// How a step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It was done.
    Done,
    /// Its call failed, with the reason.
    Failed(String),
    /// Something the run goes on without (the tag mirror skipped, an audit record lost).
    Warning,
    /// A pause: waiting for another process, the allow-all wait, that wait cut short.
    Wait,
    /// Compensation after a failure: interfaces moved onto the isolation group.
    Compensating,
}

/// One progress line of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How it went.
    pub outcome: StepOutcome,
    /// What it was: the step's name, the warning, what is awaited.
    pub text: String,
}

impl Step {
    /// A step that was done.
    pub fn done(text: impl Into<String>) -> Step {
        Step::new(StepOutcome::Done, text)
    }

    /// A step whose call failed for `reason`.
    pub fn failed(text: impl Into<String>, reason: impl Into<String>) -> Step {
        Step::new(StepOutcome::Failed(reason.into()), text)
    }

    /// A warning.
    pub fn warning(text: impl Into<String>) -> Step {
        Step::new(StepOutcome::Warning, text)
    }

    /// A pause.
    pub fn wait(text: impl Into<String>) -> Step {
        Step::new(StepOutcome::Wait, text)
    }

    /// A compensation.
    pub fn compensating(text: impl Into<String>) -> Step {
        Step::new(StepOutcome::Compensating, text)
    }

    fn new(outcome: StepOutcome, text: impl Into<String>) -> Step {
        Step {
            outcome,
            text: text.into(),
        }
    }
}
