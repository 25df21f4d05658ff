//! Scenario files (DESIGN.md "Scenario files", `docs/scenarios.md`): the format, chainsaw-style
//! matching, a runner on a virtual clock, and the reports.
//!
//! - [`format`]: the YAML format, parsed with errors naming the file and the step;
//! - [`matching`]: partial objects, lists, scalars and `(JMESPath)` keys; closest object + diff;
//! - [`runner`]: a [`runner::World`] per scenario and the steps run in it;
//! - [`report`]: step lines, summary, failure details, JUnit XML;
//! - [`topology`]: topology files (the starting world), realized through the AWS API.

pub mod bring_up;
pub mod format;
pub mod matching;
pub mod report;
pub mod runner;
pub mod topology;

pub use format::{load, Scenario};
pub use report::Outcome;
pub use runner::{
    controller_pass, controllers_for, next_instant, run, settle, Options, PassTimes, World,
    IDLE_STEP, PASS_TIMES,
};

use std::path::{Path, PathBuf};

/// The scenario files under `paths` (files as given; folders searched recursively for `*.yaml`
/// and `*.yml` whose text declares `kind: Scenario`), sorted.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            // Build output and the crate's sources are never scenarios.
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            if matches!(name.as_deref(), Some("target" | "src" | "tests")) {
                continue;
            }
            walk(&p, out)?;
        } else if is_scenario_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// A `.yaml`/`.yml` file whose top level says `kind: Scenario` (manifests beside scenarios are
/// skipped).
pub fn is_scenario_file(p: &Path) -> bool {
    let yaml = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
    yaml && std::fs::read_to_string(p).is_ok_and(|t| {
        t.lines()
            .any(|l| l.trim_end() == format!("kind: {}", format::KIND))
    })
}
