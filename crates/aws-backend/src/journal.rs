//! The journal: a function's configuration as it was before coldfront changed it, on disk
//! before the first change, removed only once the function is back to it. A run killed
//! with SIGKILL leaves it behind; `coldfront aws restore` (and the next run, which checks
//! first) puts the function back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AwsError;

/// What coldfront changes, as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// The function's name or ARN as the user gave it.
    pub function: String,
    /// The function's ARN.
    pub function_arn: String,
    /// The region.
    pub region: String,
    /// `Environment.Variables`, the whole map (Lambda replaces it, never merges).
    pub environment: BTreeMap<String, String>,
    /// `MemorySize`.
    pub memory_mb: u32,
}

/// One function's journal file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal of `function_arn` in `dir`.
    pub fn for_function(dir: &Path, function_arn: &str) -> Self {
        let name: String = function_arn
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self {
            path: dir.join(format!("{name}.json")),
        }
    }

    /// Every journal left in `dir`.
    pub fn all_in(dir: &Path) -> Result<Vec<Self>, AwsError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AwsError::Journal {
                    path: dir.to_owned(),
                    source,
                });
            }
        };
        let mut journals: Vec<Self> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|path| Self { path })
            .collect();
        journals.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(journals)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The original it holds, if it exists.
    pub fn read(&self) -> Result<Option<Original>, AwsError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| AwsError::JournalCorrupt {
                    path: self.path.clone(),
                    reason: e.to_string(),
                }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AwsError::Journal {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Writes `original` durably (a temporary file, fsync, rename) before any change.
    pub fn write(&self, original: &Original) -> Result<(), AwsError> {
        use std::io::Write as _;
        let io = |source| AwsError::Journal {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(serde_json::to_string_pretty(original).expect("serialisable").as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)
    }

    /// Removes it, once the function is restored.
    pub fn remove(&self) -> Result<(), AwsError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(AwsError::Journal {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_round_trips_and_a_corrupt_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::for_function(dir.path(), "arn:aws:lambda:us-east-1:123456789012:function:wiki");
        assert_eq!(journal.read().unwrap(), None);
        let original = Original {
            function: "wiki".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:wiki".into(),
            region: "us-east-1".into(),
            environment: BTreeMap::from([("A".into(), "1".into())]),
            memory_mb: 512,
        };
        journal.write(&original).unwrap();
        assert_eq!(journal.read().unwrap(), Some(original));
        assert_eq!(Journal::all_in(dir.path()).unwrap().len(), 1);
        std::fs::write(journal.path(), "{").unwrap();
        let err = journal.read().unwrap_err().to_string();
        assert!(err.contains(&journal.path().display().to_string()), "{err}");
        journal.remove().unwrap();
        journal.remove().unwrap();
        assert!(Journal::all_in(&dir.path().join("none")).unwrap().is_empty());
    }
}
