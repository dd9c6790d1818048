//! Append-only JSON-lines files shared by the audit log and the journal: created 0600 in a 0700
//! directory, each append under an exclusive file lock (console and headless may write at once)
//! and fsynced, torn or non-UTF-8 lines reported and skipped when read.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One open JSON-lines file.
#[derive(Debug)]
pub struct JsonlFile {
    path: PathBuf,
    file: File,
}

impl JsonlFile {
    /// Opens (creating) the file for appending. A directory it creates is 0700 (and watchfloor's
    /// default state directory is tightened to it), a file it creates 0600; an existing file
    /// readable by others is tightened to 0600.
    pub fn open(path: &Path) -> std::io::Result<JsonlFile> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf);
        if let Some(d) = &dir {
            if !d.exists() {
                DirBuilder::new().recursive(true).mode(0o700).create(d)?;
            } else if super::AuditLog::default_path()
                .is_some_and(|p| p.parent() == Some(d.as_path()))
                && std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
            {
                // watchfloor's own default state directory, made readable by an older version
                // (best-effort: a directory we cannot change still works).
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700));
            }
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .mode(0o600)
            .open(path)?;
        let meta = file.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        if !existed {
            // The new directory entry must survive a crash too.
            file.sync_all()?;
            if let Some(d) = &dir {
                File::open(d)?.sync_all()?;
            }
        }
        Ok(JsonlFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one value as a line and fsyncs it before returning. Under the lock, a torn last
    /// line (a writer killed mid-write) is closed with a newline first, so this record starts on
    /// a line of its own.
    pub fn append<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(value)?;
        line.push(b'\n');
        self.file.lock()?;
        let r = self.append_locked(&line);
        let _ = self.file.unlock();
        r
    }

    fn append_locked(&mut self, line: &[u8]) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            self.file.seek(SeekFrom::Start(len - 1))?;
            self.file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                self.file.write_all(b"\n")?;
            }
        }
        self.file.write_all(line)?;
        self.file.sync_data()
    }

    /// Reads every line as `T`. A line that is torn, not UTF-8 or not a `T` is reported as
    /// `path:line: why` and skipped; only an unreadable file is an error.
    pub fn read<T: DeserializeOwned>(path: &Path) -> std::io::Result<(Vec<T>, Vec<String>)> {
        let mut bytes = Vec::new();
        File::open(path)?.read_to_end(&mut bytes)?;
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(raw) else {
                bad.push(format!(
                    "{}:{}: skipped a line that is not UTF-8",
                    path.display(),
                    n + 1
                ));
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<T>(line) {
                Ok(v) => out.push(v),
                Err(e) => bad.push(format!(
                    "{}:{}: unreadable record: {e}",
                    path.display(),
                    n + 1
                )),
            }
        }
        Ok((out, bad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_lock_torn_and_non_utf8_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state/x.jsonl");
        let mut f = JsonlFile::open(&p).unwrap();
        f.append(&serde_json::json!({"a": 1})).unwrap();
        let dmode = std::fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        let fmode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700);
        assert_eq!(fmode & 0o777, 0o600);
        // Another writer dies mid-line, then writes garbage that is not UTF-8.
        let mut raw = OpenOptions::new().append(true).open(&p).unwrap();
        raw.write_all(b"{\"a\":").unwrap();
        raw.write_all(b"\n\xff\xfe\n").unwrap();
        raw.write_all(b"{\"a\":").unwrap();
        // A second handle (as the headless process would have) appends after the torn tail.
        let mut g = JsonlFile::open(&p).unwrap();
        g.append(&serde_json::json!({"a": 2})).unwrap();
        f.append(&serde_json::json!({"a": 3})).unwrap();
        let (vals, bad) = JsonlFile::read::<serde_json::Value>(&p).unwrap();
        let a: Vec<i64> = vals.iter().map(|v| v["a"].as_i64().unwrap()).collect();
        assert_eq!(a, vec![1, 2, 3]);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[1].ends_with("x.jsonl:3: skipped a line that is not UTF-8"));
        // A file others could read is tightened on open.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        JsonlFile::open(&p).unwrap();
        let fmode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(fmode & 0o777, 0o600);
    }
}
