//! A recording from a colleague: any `exchanges.json` loads or is refused, never a panic; responses are
//! read only inside the scenario.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join("answer.xml"), "<A/>").is_err()
        || std::fs::write(dir.path().join("exchanges.json"), data).is_err()
    {
        return;
    }
    let _ = emr_ami_audit::replay::Scenario::load(dir.path());
});
