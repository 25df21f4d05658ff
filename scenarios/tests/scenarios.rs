//! Every scenario file under this crate's folder (`scenarios/<area>/<name>.yaml`) is one libtest
//! trial named `<area>::<name>`, so `cargo test -p cloudbox-scenarios aws::` filters as usual.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

fn main() {
    let args = Arguments::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let files = match cloudbox_scenarios::collect(std::slice::from_ref(&root)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("collecting scenarios: {e:#}");
            std::process::exit(101);
        }
    };
    let trials = files
        .into_iter()
        .map(|path| {
            let name = trial_name(&root, &path);
            Trial::test(name, move || run(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn trial_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path).with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("::")
}

fn run(path: &Path) -> Result<(), Failed> {
    let scenario = cloudbox_scenarios::load(path).map_err(|e| Failed::from(format!("{e:#}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("starting the async runtime: {e}")))?;
    let mut lines = String::new();
    let (outcome, _world) = runtime.block_on(cloudbox_scenarios::run(
        &scenario,
        &cloudbox_scenarios::Options::default(),
        &mut |l| {
            lines.push_str(l);
            lines.push('\n');
        },
    ));
    match outcome.failure_text() {
        None => Ok(()),
        Some(text) => Err(Failed::from(format!("{lines}\n{text}"))),
    }
}
