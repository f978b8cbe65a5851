//! Files the user names (a launch plan, the configuration, an `--accounts @FILE` list), read whole, but
//! only when they are regular files, and only up to a cap: a FIFO would hang the run, a device such as
//! `/dev/zero` would fill the memory, and a huge file costs many times its size once parsed.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most a launch plan may hold.
pub const PLAN_CAP: u64 = 16 * 1024 * 1024;
/// The most a configuration or accounts file may hold.
pub const CONFIG_CAP: u64 = 1024 * 1024;

/// Which file, for the messages: "plan file", "config", "accounts file".
pub type What = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("cannot read {what} '{}': {source}", path.display())]
    Io {
        what: What,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} '{}' is {kind}, not a regular file", path.display())]
    NotAFile {
        what: What,
        path: PathBuf,
        kind: &'static str,
    },
    #[error("{what} '{}' is larger than the {} limit", path.display(), Cap(*cap))]
    TooLarge { what: What, path: PathBuf, cap: u64 },
    #[error("{what} '{}' is not UTF-8 text", path.display())]
    NotText { what: What, path: PathBuf },
}

/// A cap in the unit it is a whole number of.
struct Cap(u64);

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: u64 = 1024 * 1024;
        if self.0 >= MIB && self.0.is_multiple_of(MIB) {
            write!(f, "{} MiB", self.0 / MIB)
        } else if self.0 >= 1024 && self.0.is_multiple_of(1024) {
            write!(f, "{} KiB", self.0 / 1024)
        } else {
            write!(f, "{} bytes", self.0)
        }
    }
}

/// What a path that is not a regular file is.
fn kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// The text of `path` (symlinks followed), when it is a regular file of at most `cap` bytes.
///
/// The type is checked before opening, so a FIFO is refused without blocking on its open, and again on
/// the open file. The size is checked from the metadata and by reading at most `cap + 1` bytes, since
/// some files (`/proc`) report a size that is not what they hold.
pub fn read_to_string(path: &Path, what: What, cap: u64) -> Result<String, InputFileError> {
    let io = |source| InputFileError::Io {
        what,
        path: path.to_path_buf(),
        source,
    };
    let regular = |metadata: &std::fs::Metadata| -> Result<(), InputFileError> {
        if !metadata.is_file() {
            return Err(InputFileError::NotAFile {
                what,
                path: path.to_path_buf(),
                kind: kind(metadata.file_type()),
            });
        }
        if metadata.len() > cap {
            return Err(too_large(what, path, cap));
        }
        Ok(())
    };
    regular(&std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::File::open(path).map_err(io)?;
    // The path may have changed between the two looks; what counts is what was opened.
    regular(&file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(what, path, cap));
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotText {
        what,
        path: path.to_path_buf(),
    })
}

fn too_large(what: What, path: &Path, cap: u64) -> InputFileError {
    InputFileError::TooLarge {
        what,
        path: path.to_path_buf(),
        cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "hello").expect("write");
        assert_eq!(
            read_to_string(&path, "test file", 5).expect("reads"),
            "hello"
        );
        let error = read_to_string(&path, "test file", 4).expect_err("too large");
        assert_eq!(
            error.to_string(),
            format!(
                "test file '{}' is larger than the 4 bytes limit",
                path.display()
            )
        );
    }

    #[test]
    fn directories_and_missing_files_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = read_to_string(dir.path(), "plan file", PLAN_CAP).expect_err("a directory");
        assert!(
            error
                .to_string()
                .ends_with("is a directory, not a regular file"),
            "{error}"
        );
        let missing = dir.path().join("missing");
        let error = read_to_string(&missing, "config", CONFIG_CAP).expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read config '{}':", missing.display())),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_through_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let link = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
        let error = read_to_string(&link, "plan file", PLAN_CAP).expect_err("a device");
        assert!(
            error
                .to_string()
                .ends_with("is a character device, not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn caps_are_shown_in_their_unit() {
        assert_eq!(Cap(PLAN_CAP).to_string(), "16 MiB");
        assert_eq!(Cap(CONFIG_CAP).to_string(), "1 MiB");
        assert_eq!(Cap(2048).to_string(), "2 KiB");
    }
}
