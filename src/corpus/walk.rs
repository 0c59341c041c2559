//! Which files of a folder are indexed: a walk in a stable order that skips hidden files,
//! what `.gitignore`, `.ignore` and `.mlsearchignore` files exclude, and what `--glob`
//! patterns leave out, and counts what each rule skipped.
//!
//! Patterns are read with ripgrep's `ignore` crate (gitignore syntax, `!` to re-include),
//! and rules combine as ripgrep combines them: `--glob` decides first (an include pattern
//! includes a file even if an ignore file excludes it), then hidden names, then ignore
//! files of the file's folder and every folder above it up to the indexed one, the deepest
//! first, `.mlsearchignore` before `.ignore` before `.gitignore`. A folder that is
//! excluded is not entered (as in git, nothing inside it can be re-included). Ignore files
//! outside the indexed folder (a parent repository's, git's global excludes) are not read,
//! so an index does not depend on where its folder lies or on who runs it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::overrides::{Override, OverrideBuilder};
use ignore::Match;

use super::{Format, SourceFile};

/// Ignore files, in order of precedence.
const IGNORE_FILES: [IgnoreRule; 3] = [IgnoreRule::Mlsearchignore, IgnoreRule::Ignore, IgnoreRule::Gitignore];

/// Which files to take.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Take hidden files and folders (names starting with `.`) too.
    pub hidden: bool,
    /// Do not read `.gitignore`, `.ignore` or `.mlsearchignore` files.
    pub no_ignore: bool,
    /// ripgrep-style globs, matched against the path relative to the folder: `*.md` takes
    /// only matching files (folders are still entered), `!drafts/**` leaves matches out.
    pub globs: Vec<String>,
    /// Folders never entered (the index, when it lies inside the folder); not counted.
    pub exclude: Vec<PathBuf>,
}

/// A rule that leaves files out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IgnoreRule {
    /// A `--glob` pattern (or no include pattern matched).
    Glob,
    /// A name starting with `.`.
    Hidden,
    /// A `.mlsearchignore` file.
    Mlsearchignore,
    /// A `.ignore` file.
    Ignore,
    /// A `.gitignore` file.
    Gitignore,
}

impl IgnoreRule {
    /// How the summary names it.
    pub fn name(self) -> &'static str {
        match self {
            IgnoreRule::Glob => "--glob",
            IgnoreRule::Hidden => "hidden",
            IgnoreRule::Mlsearchignore => ".mlsearchignore",
            IgnoreRule::Ignore => ".ignore",
            IgnoreRule::Gitignore => ".gitignore",
        }
    }
}

/// What one rule left out: files, and folders not entered (their files are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ignored {
    /// Files.
    pub files: usize,
    /// Folders.
    pub folders: usize,
}

/// The files of a folder, in a stable order.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files in a format mlsearch reads.
    pub files: Vec<SourceFile>,
    /// Files skipped for their type (count only: images, archives, ...).
    pub unsupported: usize,
    /// What each rule left out.
    pub ignored: BTreeMap<IgnoreRule, Ignored>,
    /// Entries that could not be listed (permission denied, broken links) and ignore
    /// files or globs that could not be read.
    pub errors: Vec<String>,
    /// Files whose names are not UTF-8, by the name they are indexed under (see
    /// [`relative_name`]).
    pub renamed: Vec<String>,
}

impl Discovery {
    /// Files and folders left out by all rules together.
    pub fn ignored_total(&self) -> Ignored {
        self.ignored.values().fold(Ignored::default(), |a, b| Ignored {
            files: a.files + b.files,
            folders: a.folders + b.folders,
        })
    }
}

/// Walks `root` recursively and returns the files to index, sorted by path.
pub fn discover(root: &Path, options: &WalkOptions) -> Discovery {
    let mut found = Discovery::default();
    let mut rules = Rules::new(root, options, &mut found.errors);
    let mut ignored: BTreeMap<IgnoreRule, Ignored> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || options.exclude.iter().any(|x| e.path() == x) {
                return e.depth() == 0;
            }
            let is_dir = e.file_type().is_dir();
            match rules.rule_against(e.path(), is_dir) {
                Some(rule) => {
                    let count = ignored.entry(rule).or_default();
                    if is_dir {
                        count.folders += 1;
                    } else {
                        count.files += 1;
                    }
                    false
                }
                None => true,
            }
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                found.errors.push(err.to_string());
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(format) = Format::of(entry.path()) else {
            found.unsupported += 1;
            continue;
        };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let (rel_path, exact) = relative_name(rel);
        if !exact {
            found.renamed.push(rel_path.clone());
        }
        found.files.push(SourceFile {
            rel_path,
            path: entry.path().to_path_buf(),
            format,
        });
    }
    found.errors.append(&mut rules.errors);
    found.ignored = ignored;
    found
}

/// The rules of one walk, with each folder's ignore files read once, when first needed.
struct Rules<'a> {
    root: &'a Path,
    hidden: bool,
    read_ignore_files: bool,
    globs: Option<Override>,
    /// Folder → its ignore files that exist, in precedence order.
    folders: HashMap<PathBuf, Vec<(IgnoreRule, Gitignore)>>,
    errors: Vec<String>,
}

impl<'a> Rules<'a> {
    fn new(root: &'a Path, options: &WalkOptions, errors: &mut Vec<String>) -> Rules<'a> {
        let globs = (!options.globs.is_empty())
            .then(|| {
                let mut builder = OverrideBuilder::new(root);
                for glob in &options.globs {
                    if let Err(e) = builder.add(glob) {
                        errors.push(format!("--glob {glob:?}: {e}"));
                    }
                }
                builder.build().map_err(|e| errors.push(format!("--glob: {e}"))).ok()
            })
            .flatten();
        Rules {
            root,
            hidden: options.hidden,
            read_ignore_files: !options.no_ignore,
            globs,
            folders: HashMap::new(),
            errors: Vec::new(),
        }
    }

    /// The rule that leaves `path` out, if one does.
    fn rule_against(&mut self, path: &Path, is_dir: bool) -> Option<IgnoreRule> {
        if let Some(globs) = &self.globs {
            match globs.matched(path, is_dir) {
                Match::Ignore(_) => return Some(IgnoreRule::Glob),
                Match::Whitelist(_) => return None,
                Match::None => {}
            }
        }
        let name = path.file_name().map(|n| n.to_string_lossy());
        if !self.hidden && name.is_some_and(|n| n.starts_with('.')) {
            return Some(IgnoreRule::Hidden);
        }
        if !self.read_ignore_files {
            return None;
        }
        let folders: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(self.root))
            .map(Path::to_path_buf)
            .collect();
        for rule in IGNORE_FILES {
            for folder in &folders {
                let matched = self
                    .ignore_files(folder)
                    .iter()
                    .filter(|(r, _)| *r == rule)
                    .map(|(_, gitignore)| gitignore.matched(path, is_dir))
                    .find(|m| !m.is_none());
                match matched {
                    Some(Match::Ignore(_)) => return Some(rule),
                    Some(_) => return None,
                    None => {}
                }
            }
        }
        None
    }

    fn ignore_files(&mut self, folder: &Path) -> &[(IgnoreRule, Gitignore)] {
        if !self.folders.contains_key(folder) {
            let mut files = Vec::new();
            for rule in IGNORE_FILES {
                let path = folder.join(rule.name());
                if !path.is_file() {
                    continue;
                }
                let mut builder = GitignoreBuilder::new(folder);
                if let Some(e) = builder.add(&path) {
                    self.errors.push(format!("{}: {e}", path.display()));
                }
                match builder.build() {
                    Ok(gitignore) => files.push((rule, gitignore)),
                    Err(e) => self.errors.push(format!("{}: {e}", path.display())),
                }
            }
            self.folders.insert(folder.to_path_buf(), files);
        }
        &self.folders[folder]
    }
}

/// The name a file is indexed under: its path relative to the folder, with `/` between
/// components, and whether that is exactly its name. A component that is not UTF-8 has
/// each byte that is not part of a UTF-8 character written as `\xNN`, so two such names
/// never become one (a lossy conversion would make both `\u{fffd}`).
pub fn relative_name(rel: &Path) -> (String, bool) {
    let mut exact = true;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c.as_os_str().to_str() {
            Some(s) => s.to_string(),
            None => {
                exact = false;
                escape_non_utf8(c.as_os_str())
            }
        })
        .collect();
    (parts.join("/"), exact)
}

#[cfg(unix)]
fn escape_non_utf8(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

#[cfg(not(unix))]
fn escape_non_utf8(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn names(found: &Discovery) -> Vec<&str> {
        found.files.iter().map(|f| f.rel_path.as_str()).collect()
    }

    #[test]
    fn ignore_files_hidden_names_and_globs_leave_files_out_and_are_counted() {
        let dir = tree(&[
            (".gitignore", "node_modules/\n*.log.txt\n!keep.log.txt\n"),
            ("notes/a.md", "a"),
            ("notes/b.log.txt", "b"),
            ("notes/keep.log.txt", "k"),
            ("notes/.ignore", "private.md\n"),
            ("notes/private.md", "p"),
            ("node_modules/x/readme.md", "x"),
            ("node_modules/y/readme.md", "y"),
            (".hidden/h.md", "h"),
            ("sub/.mlsearchignore", "*.txt\n"),
            ("sub/.gitignore", "!*.txt\n"),
            ("sub/c.txt", "c"),
            ("sub/d.md", "d"),
        ]);
        let found = discover(dir.path(), &WalkOptions::default());
        assert_eq!(names(&found), ["notes/a.md", "notes/keep.log.txt", "sub/d.md"]);
        let count = |rule| found.ignored.get(&rule).copied().unwrap_or_default();
        assert_eq!(count(IgnoreRule::Gitignore), Ignored { files: 1, folders: 1 });
        assert_eq!(count(IgnoreRule::Ignore), Ignored { files: 1, folders: 0 });
        // .mlsearchignore wins over .gitignore's re-include in the same folder.
        assert_eq!(count(IgnoreRule::Mlsearchignore), Ignored { files: 1, folders: 0 });
        // .gitignore, notes/.ignore, .hidden/, sub/.mlsearchignore, sub/.gitignore.
        assert_eq!(count(IgnoreRule::Hidden), Ignored { files: 4, folders: 1 });
        assert!(found.errors.is_empty(), "{:?}", found.errors);

        let all = discover(
            dir.path(),
            &WalkOptions {
                hidden: true,
                no_ignore: true,
                ..Default::default()
            },
        );
        assert_eq!(all.files.len(), 9, "{:?}", names(&all));
        assert!(all.ignored.is_empty());

        // Globs decide before ignore files: an include pattern takes a gitignored file.
        let globbed = discover(
            dir.path(),
            &WalkOptions {
                globs: vec!["*.log.txt".into(), "!keep*".into()],
                ..Default::default()
            },
        );
        assert_eq!(names(&globbed), ["notes/b.log.txt"]);
        // Every other file, hidden ones included: globs come before the hidden rule.
        assert_eq!(globbed.ignored[&IgnoreRule::Glob].files, 9);
    }

    #[test]
    fn a_bad_glob_is_reported() {
        let dir = tree(&[("a.md", "a")]);
        let found = discover(
            dir.path(),
            &WalkOptions {
                globs: vec!["a{".into()],
                ..Default::default()
            },
        );
        assert!(found.errors.iter().any(|e| e.contains("a{")), "{:?}", found.errors);
    }
}
