//! Progress on stderr for long steps: drawn only on a terminal, never with `--no-progress`, when logs
//! (`-v`) share stderr, or for a single target.

use std::io::IsTerminal;

/// Whether this run may draw progress at all.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress { enabled }
    }

    /// Whether to draw progress for a step over `len` items.
    fn wanted(&self, len: usize) -> bool {
        self.enabled && len > 1 && std::io::stderr().is_terminal()
    }

    /// A bar counting `len` items of `step`.
    pub fn bar(&self, len: usize, step: &str) -> indicatif::ProgressBar {
        if !self.wanted(len) {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} ({elapsed}, about {eta} left)",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(step.to_string());
        bar
    }

    /// A bar counting items of `step` whose number grows as they are found (clusters as their list's
    /// pages come): `known` of them from the start if that is all there will be, else `None`. `None`
    /// when no bar is drawn: even a hidden bar holds a kilobyte or two, and an organization's scan
    /// starts thousands of scopes at once.
    pub fn growing_bar(&self, step: &str, known: Option<usize>) -> Option<indicatif::ProgressBar> {
        // However many a list turns out to hold, it may be many.
        let len = known.unwrap_or(usize::MAX);
        if !self.wanted(len) {
            return None;
        }
        let bar = self.bar(len, step);
        bar.set_length(0);
        Some(bar)
    }

    /// A spinner while a step of unknown length runs over `targets` targets (collecting and tracing
    /// AMIs).
    pub fn spinner(&self, targets: usize, step: String) -> indicatif::ProgressBar {
        if !self.wanted(targets) {
            return indicatif::ProgressBar::hidden();
        }
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(step);
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    }
}
