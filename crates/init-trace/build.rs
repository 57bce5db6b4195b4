//! Embeds the bundled fixture functions and the Python bootstrap into the crate, so the
//! `coldfront` binary works from any directory with nothing installed beside it.

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "__pycache__" || name.ends_with(".pyc") || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    for top in ["fixtures", "runtimes"] {
        println!("cargo:rerun-if-changed={top}");
        collect(&root.join(top), &mut files);
    }
    let mut hasher = DefaultHasher::new();
    let mut code = String::from(
        "/// Every bundled file: path relative to the bundle root, and contents.\npub(crate) static FILES: &[(&str, &[u8])] = &[\n",
    );
    for path in &files {
        let relative = path
            .strip_prefix(&root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        relative.hash(&mut hasher);
        std::fs::read(path).expect("readable bundled file").hash(&mut hasher);
        writeln!(
            code,
            "    ({relative:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("write to string");
        println!("cargo:rerun-if-changed={}", path.display());
    }
    code.push_str("];\n");
    writeln!(code, "/// A hash of every bundled file, naming the directory they are written to.\npub(crate) const CONTENT_HASH: &str = \"{:016x}\";", hasher.finish()).expect("write to string");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("bundled_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
