//! The journal: a function's configuration as it was before coldfront changed it, on disk
//! before the first change, removed only once the function is back to it. A run killed
//! with SIGKILL leaves it behind; `coldfront aws restore` (and the next run, which checks
//! first) puts the function back.
//!
//! A function coldfront creates for a run (the bundled control, a copy of the subject) is
//! journaled the same way, as a [`Creation`] in `<name>.created` beside the `.json`
//! originals, before `CreateFunction` is sent, and removed once the function is deleted.

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

/// A function coldfront is about to create, and how to recognise it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creation {
    /// The new function's name.
    pub function: String,
    /// The `Description` it is created with: unique to the run, so only a function whose
    /// description is exactly this is deleted (never one of the user's that happens to
    /// have the name).
    pub description: String,
    /// What it is for, e.g. `the bundled control for wiki`.
    pub purpose: String,
    /// The function it was made from.
    pub subject: String,
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

    /// The journal of a function coldfront creates, named `function`, in `dir`.
    pub fn for_creation(dir: &Path, function: &str) -> Self {
        let mut journal = Self::for_function(dir, function);
        journal.path.set_extension("created");
        journal
    }

    /// Every journal of an original left in `dir`.
    pub fn all_in(dir: &Path) -> Result<Vec<Self>, AwsError> {
        Self::with_extension(dir, "json")
    }

    /// Every journal of a created function left in `dir`.
    pub fn creations_in(dir: &Path) -> Result<Vec<Self>, AwsError> {
        Self::with_extension(dir, "created")
    }

    fn with_extension(dir: &Path, extension: &str) -> Result<Vec<Self>, AwsError> {
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
            .filter(|p| p.extension().is_some_and(|e| e == extension))
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
        self.read_as()
    }

    /// The creation it holds, if it exists.
    pub fn read_creation(&self) -> Result<Option<Creation>, AwsError> {
        self.read_as()
    }

    fn read_as<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, AwsError> {
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
        self.write_as(original)
    }

    /// Writes `creation` durably before the function is created.
    pub fn write_creation(&self, creation: &Creation) -> Result<(), AwsError> {
        self.write_as(creation)
    }

    fn write_as<T: Serialize>(&self, record: &T) -> Result<(), AwsError> {
        use std::io::Write as _;
        let io = |source| AwsError::Journal {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(serde_json::to_string_pretty(record).expect("serialisable").as_bytes())
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

        // A creation sits beside the originals without being taken for one.
        let creation = Creation {
            function: "wiki-cfctl-0a1b2c3d".into(),
            description: "Created by coldfront [0a1b2c3d]".into(),
            purpose: "the bundled control for wiki".into(),
            subject: "wiki".into(),
        };
        let created = Journal::for_creation(dir.path(), &creation.function);
        created.write_creation(&creation).unwrap();
        assert!(created.path().ends_with("wiki-cfctl-0a1b2c3d.created"));
        assert!(Journal::all_in(dir.path()).unwrap().is_empty());
        assert_eq!(Journal::creations_in(dir.path()).unwrap().len(), 1);
        assert_eq!(created.read_creation().unwrap(), Some(creation));
    }
}
