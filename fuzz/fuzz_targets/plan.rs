//! A launch plan (RunJobFlow JSON, CloudFormation JSON or YAML) from a pull request: any bytes are a plan
//! or an error, never a panic or a hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parameters = Default::default();
    for name in ["plan.json", "plan.yaml"] {
        let _ =
            emr_ami_audit::plan::from_text(Path::new(name), text, &parameters, Some("us-east-1"));
        let _ = emr_ami_audit::plan::from_text(Path::new(name), text, &parameters, None);
    }
});
