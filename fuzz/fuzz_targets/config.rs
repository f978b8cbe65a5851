//! `emr-ami-audit.toml`: any text is a configuration or an error naming its line, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = emr_ami_audit::config::parse(Path::new("emr-ami-audit.toml"), text);
    }
});
