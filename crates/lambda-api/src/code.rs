//! A function's code: a deployment package (zip) unpacked into the store, checked entry
//! by entry before anything is written, or a local directory used in place.
//!
//! Lambda's limits (see docs/sources.md, "Lambda quotas"): 50 MB for a zip uploaded
//! directly, 250 MB unzipped. The checks here enforce both on the bytes actually
//! inflated, not on the sizes the archive declares, so an archive that lies about its
//! sizes (a zip bomb) stops at the limit; an entry whose path would leave the function's
//! directory (`../`, absolute, or a symlink) is refused, and nothing is written outside
//! the store.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::error::ApiError;

/// Lambda's limit for a zip uploaded with the request.
pub const MAX_ZIPPED_BYTES: u64 = 50 * 1024 * 1024;
/// Lambda's limit for a function's unzipped code.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;
/// More entries than this is refused before extraction (no real package comes near).
pub const MAX_ENTRIES: usize = 100_000;

/// Code as stored: where the task root is and what Lambda reports about the package.
#[derive(Debug, Clone)]
pub struct StoredCode {
    /// The task root.
    pub dir: PathBuf,
    /// `CodeSize`: the zip's size, or the directory's total size.
    pub size_bytes: u64,
    /// `CodeSha256`: base64 of the SHA-256 of the zip (of a directory: of its file list,
    /// sizes and contents, so a change shows).
    pub sha256_base64: String,
}

/// Base64 of SHA-256, as Lambda's `CodeSha256`.
pub fn sha256_base64(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// Unpacks `zip` into `dir` (created; must not exist), enforcing Lambda's limits.
pub fn unpack_zip(zip: &[u8], dir: &Path) -> Result<StoredCode, ApiError> {
    unpack_zip_within(zip, dir, MAX_UNZIPPED_BYTES)
}

fn unpack_zip_within(zip: &[u8], dir: &Path, max_unzipped_bytes: u64) -> Result<StoredCode, ApiError> {
    if zip.len() as u64 > MAX_ZIPPED_BYTES {
        return Err(ApiError::too_large(format!(
            "Zipped code of {} bytes exceeds the direct upload limit of {MAX_ZIPPED_BYTES} bytes",
            zip.len()
        )));
    }
    let bad = |why: String| ApiError::invalid_parameter(format!("Could not unzip uploaded file: {why}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| bad(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(bad(format!(
            "{} entries, more than the {MAX_ENTRIES} accepted",
            archive.len()
        )));
    }
    // Every name is checked before the first byte is written.
    let mut names = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| bad(e.to_string()))?;

        // An absolute name or a `..` step is refused outright, even where the zip crate
        // would quietly make it relative: the package is not what its author thinks.
        let raw_name = entry.name().map_err(|e| bad(e.to_string()))?.into_owned();
        let escapes = raw_name.starts_with('/')
            || raw_name.starts_with('\\')
            || raw_name.split(['/', '\\']).any(|part| part == "..");
        let Some(relative) = entry.enclosed_name().filter(|_| !escapes) else {
            return Err(bad(format!(
                "entry {raw_name:?} would be written outside the function's directory"
            )));
        };
        if entry.is_symlink() {
            return Err(bad(format!("entry {raw_name:?} is a symbolic link")));
        }
        names.push((relative, entry.is_dir(), entry.unix_mode()));
    }
    std::fs::create_dir_all(dir).map_err(|e| ApiError::service(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = 0_u64;
    let result = (|| {
        for (index, (relative, is_dir, mode)) in names.into_iter().enumerate() {
            let path = dir.join(&relative);
            let io = |e: std::io::Error| ApiError::service(format!("cannot write {}: {e}", path.display()));
            if is_dir {
                std::fs::create_dir_all(&path).map_err(io)?;
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let entry = archive.by_index(index).map_err(|e| bad(e.to_string()))?;
            let room = max_unzipped_bytes - written;
            let mut file = std::fs::File::create(&path).map_err(io)?;
            // One byte past the room is read to tell "exactly at the limit" from "over".
            let copied = std::io::copy(&mut entry.take(room + 1), &mut file).map_err(|e| bad(e.to_string()))?;
            if copied > room {
                return Err(ApiError::invalid_parameter(format!(
                    "Unzipped size must be smaller than {max_unzipped_bytes} bytes"
                )));
            }
            written += copied;
            if let Some(mode) = mode {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o755 | 0o600)).map_err(io)?;
            }
        }
        Ok(())
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_dir_all(dir);
        return Err(err);
    }
    Ok(StoredCode {
        dir: dir.to_owned(),
        size_bytes: zip.len() as u64,
        sha256_base64: sha256_base64(zip),
    })
}

/// Decodes a `ZipFile` blob as the JSON body carries it (base64).
pub fn decode_zip_blob(blob: &str) -> Result<Vec<u8>, ApiError> {
    base64::engine::general_purpose::STANDARD
        .decode(blob.trim())
        .map_err(|e| ApiError::invalid_parameter(format!("ZipFile is not valid base64: {e}")))
}

/// A local directory used in place (coldfront's extension); its hash covers every
/// file's path, size and contents.
pub fn local_directory(dir: &Path) -> Result<StoredCode, ApiError> {
    let dir = dir
        .canonicalize()
        .map_err(|e| ApiError::invalid_parameter(format!("code directory {}: {e}", dir.display())))?;
    if !dir.is_dir() {
        return Err(ApiError::invalid_parameter(format!(
            "code directory {} is not a directory",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    collect_files(&dir, &dir, &mut files);
    files.sort();
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut size_bytes = 0_u64;
    for relative in &files {
        let mut bytes = Vec::new();
        if let Ok(mut file) = std::fs::File::open(dir.join(relative)) {
            let _ = file.read_to_end(&mut bytes);
        }
        size_bytes += bytes.len() as u64;
        context.update(relative.to_string_lossy().as_bytes());
        context.update(&(bytes.len() as u64).to_le_bytes());
        context.update(&bytes);
    }
    Ok(StoredCode {
        dir,
        size_bytes,
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(context.finish().as_ref()),
    })
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && entry.file_name() != "__pycache__" => collect_files(root, &path, files),
            Ok(kind) if kind.is_file() => {
                if let Ok(relative) = path.strip_prefix(root) {
                    files.push(relative.to_owned());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_package_unpacks_with_its_hash() {
        let store = tempfile::tempdir().unwrap();
        let zip = zip_of(&[
            ("handler.py", b"def handle(e, c):\n    return 1\n"),
            ("pkg/mod.py", b"x = 1\n"),
        ]);
        let code = unpack_zip(&zip, &store.path().join("f")).unwrap();
        assert_eq!(std::fs::read_to_string(code.dir.join("pkg/mod.py")).unwrap(), "x = 1\n");
        assert_eq!(code.size_bytes, zip.len() as u64);
        assert_eq!(code.sha256_base64, sha256_base64(&zip));
        assert_eq!(code.sha256_base64.len(), 44);
    }

    #[test]
    fn an_entry_escaping_the_directory_writes_nothing() {
        let store = tempfile::tempdir().unwrap();
        for name in ["../evil.py", "/etc/evil.py", "a/../../evil.py"] {
            let zip = zip_of(&[("ok.py", b"1"), (name, b"boom")]);
            let err = unpack_zip(&zip, &store.path().join("f")).unwrap_err();
            assert_eq!(err.code, "InvalidParameterValueException", "{name}");
            assert!(err.message.contains("outside"), "{name}: {}", err.message);
            assert!(!store.path().join("f").exists(), "{name}: nothing is written");
            assert!(!store.path().join("evil.py").exists());
        }
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_leaves_nothing() {
        let store = tempfile::tempdir().unwrap();
        let zeros = vec![0_u8; 3 * 1024 * 1024];
        let zip = zip_of(&[("a.bin", &zeros[..]), ("b.bin", &zeros[..])]);
        assert!(zip.len() < 64 * 1024, "deflate shrinks zeros: {} bytes", zip.len());
        let err = unpack_zip_within(&zip, &store.path().join("f"), 4 * 1024 * 1024).unwrap_err();
        assert!(err.message.contains("Unzipped size"), "{}", err.message);
        assert!(!store.path().join("f").exists());
        // Within the limit, the same archive unpacks.
        unpack_zip_within(&zip, &store.path().join("g"), 6 * 1024 * 1024).unwrap();
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let store = tempfile::tempdir().unwrap();
        let err = unpack_zip(b"not a zip at all", &store.path().join("f")).unwrap_err();
        assert_eq!(err.code, "InvalidParameterValueException");
        assert!(err.message.starts_with("Could not unzip uploaded file"));
    }
}
