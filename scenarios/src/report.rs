//! What a run prints: a line per step as it goes, a summary line, the failure details, and a
//! JUnit XML file (one test case per scenario).
//!
//! ```text
//! [3/7] assert ConfigMap x ... ok at +12s (virtual), 4 ms (wall)
//! [4/7] aws ec2:AttachVolume ... FAILED at +12s (virtual), 1 ms (wall)
//! ```

use crate::format::ShowDur;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// The outcome of one step, for its report line.
#[derive(Debug, Clone)]
pub struct StepLine {
    /// 1-based step number.
    pub number: usize,
    /// Steps in the scenario.
    pub total: usize,
    /// `assert ConfigMap x`.
    pub what: String,
    /// Whether the step held.
    pub ok: bool,
    /// Extra words after `ok` (`3 matched`), may be empty.
    pub note: String,
    /// Virtual time since the scenario started when the step ended.
    pub virtual_at: Duration,
    /// Wall-clock time the step took.
    pub wall: Duration,
}

impl std::fmt::Display for StepLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}/{}] {} ... {}",
            self.number,
            self.total,
            self.what,
            if self.ok { "ok" } else { "FAILED" }
        )?;
        if !self.note.is_empty() {
            write!(f, " ({})", self.note)?;
        }
        write!(
            f,
            " at +{} (virtual), {} ms (wall)",
            ShowDur(self.virtual_at),
            self.wall.as_millis()
        )
    }
}

/// Why a scenario failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The failing step (0: before the first step, e.g. an unknown topology).
    pub step: usize,
    /// The line of the scenario file where that step starts, when known.
    pub line: Option<usize>,
    /// One line: what did not hold.
    pub message: String,
    /// Everything that helps fix it: expected, closest actual and the diff, recent Kubernetes
    /// events, recent AWS calls.
    pub details: String,
}

/// The outcome of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `metadata.name`.
    pub name: String,
    /// The scenario file.
    pub file: PathBuf,
    /// Steps that held.
    pub passed_steps: usize,
    /// Steps in the scenario.
    pub total_steps: usize,
    /// Virtual time the scenario covered.
    pub virtual_elapsed: Duration,
    /// Wall-clock time it took.
    pub wall: Duration,
    /// `None` when every step held.
    pub failure: Option<Failure>,
}

impl Outcome {
    /// Whether every step held.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The failure as text: where, what, and the details.
    pub fn failure_text(&self) -> Option<String> {
        let f = self.failure.as_ref()?;
        let at = match f.line {
            Some(l) => format!("{}:{l}", self.file.display()),
            None => self.file.display().to_string(),
        };
        let step = if f.step == 0 {
            "before the first step".to_string()
        } else {
            format!("step {}", f.step)
        };
        Some(format!("{at}: {step}: {}\n{}", f.message, f.details))
    }

    /// `scenario seed-cluster-up: ok, 7 steps, +5m12s (virtual), 80 ms (wall)`.
    pub fn line(&self) -> String {
        format!(
            "scenario {}: {}, {}/{} steps, +{} (virtual), {} ms (wall)",
            self.name,
            if self.passed() { "ok" } else { "FAILED" },
            self.passed_steps,
            self.total_steps,
            ShowDur(self.virtual_elapsed),
            self.wall.as_millis()
        )
    }
}

/// `2 scenarios: 1 passed, 1 failed (aws/ec2-limits.yaml)`.
pub fn summary(outcomes: &[Outcome]) -> String {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.file.display().to_string())
        .collect();
    let mut s = format!(
        "{} scenario{}: {} passed, {} failed",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        outcomes.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        let _ = write!(s, " ({})", failed.join(", "));
    }
    s
}

/// A JUnit XML report: one `testsuite` `cloudbox-scenarios`, one `testcase` per scenario, with
/// a `failure` (message and details) for each that failed.
pub fn junit_xml(outcomes: &[Outcome]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let total: f64 = outcomes.iter().map(|o| o.wall.as_secs_f64()).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"cloudbox-scenarios\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{total:.3}\">",
        outcomes.len()
    );
    for o in outcomes {
        let _ = write!(
            s,
            "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3}\"",
            xml_escape(&o.name),
            xml_escape(&classname(o)),
            xml_escape(&o.file.display().to_string()),
            o.wall.as_secs_f64()
        );
        match (&o.failure, o.failure_text()) {
            (Some(f), Some(text)) => {
                let _ = writeln!(
                    s,
                    ">\n      <failure message=\"{}\" type=\"ScenarioFailure\">{}</failure>\n    </testcase>",
                    xml_escape(&format!("step {}: {}", f.step, f.message)),
                    xml_escape(&text)
                );
            }
            _ => s.push_str("/>\n"),
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

fn classname(o: &Outcome) -> String {
    o.file
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| format!("scenarios.{}", n.to_string_lossy()))
        .unwrap_or_else(|| "scenarios".to_string())
}

/// Escapes text for XML attributes and content (control characters other than tab and newline
/// are dropped: XML 1.0 cannot carry them).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(fail: bool) -> Outcome {
        Outcome {
            name: "n<1>".into(),
            file: PathBuf::from("scenarios/aws/x.yaml"),
            passed_steps: 2,
            total_steps: 3,
            virtual_elapsed: Duration::from_secs(72),
            wall: Duration::from_millis(5),
            failure: fail.then(|| Failure {
                step: 3,
                line: Some(12),
                message: "no ConfigMap matched".into(),
                details: "expected & actual".into(),
            }),
        }
    }

    #[test]
    fn step_line_format() {
        let l = StepLine {
            number: 3,
            total: 7,
            what: "assert ConfigMap x".into(),
            ok: true,
            note: String::new(),
            virtual_at: Duration::from_secs(12),
            wall: Duration::from_millis(4),
        };
        assert_eq!(
            l.to_string(),
            "[3/7] assert ConfigMap x ... ok at +12s (virtual), 4 ms (wall)"
        );
    }

    #[test]
    fn summary_and_failure_text() {
        let o = [outcome(false), outcome(true)];
        assert_eq!(
            summary(&o),
            "2 scenarios: 1 passed, 1 failed (scenarios/aws/x.yaml)"
        );
        let t = o[1].failure_text().unwrap_or_default();
        assert!(
            t.starts_with("scenarios/aws/x.yaml:12: step 3: no ConfigMap matched"),
            "{t}"
        );
        assert!(o[0].line().contains("ok, 2/3 steps, +1m12s"));
    }

    #[test]
    fn junit() {
        let x = junit_xml(&[outcome(false), outcome(true)]);
        assert!(x.contains("tests=\"2\" failures=\"1\""));
        assert!(x.contains("<testcase name=\"n&lt;1&gt;\" classname=\"scenarios.aws\""));
        assert!(x.contains("<failure message=\"step 3: no ConfigMap matched\""));
        assert!(x.contains("expected &amp; actual"));
    }
}
