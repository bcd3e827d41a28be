//! A process killed at one forge call, modelled in-process: from that call on, every
//! call is answered 502 and carried out no more, so the job fails where it stands and
//! nothing further reaches the forge until the test restarts the process.
use std::fmt;
use wiremock::ResponseTemplate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the forge carries the call out.
    Before,
    /// After the forge carried it out: the answer is lost with the process.
    After,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    /// The call as the fake logs it (`METHOD /path`).
    pub call: String,
    /// Which occurrence of the call, from 1.
    pub nth: usize,
    pub when: When,
    seen: usize,
}

impl Kill {
    pub fn new(call: &str, nth: usize, when: When) -> Self {
        Self {
            call: call.to_owned(),
            nth,
            when,
            seen: 0,
        }
    }

    /// Counts `call`; `Some` when the process dies at it.
    pub fn strikes(&mut self, call: &str) -> Option<When> {
        if call != self.call {
            return None;
        }
        self.seen += 1;
        (self.seen == self.nth).then_some(self.when)
    }
}

impl fmt::Display for Kill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match self.when {
            When::Before => "before",
            When::After => "after",
        };
        write!(f, "killed {when} call {} of `{}`", self.nth, self.call)
    }
}

/// What a dead process's calls get.
pub fn gone() -> ResponseTemplate {
    ResponseTemplate::new(502).set_body_string("Bad Gateway")
}
