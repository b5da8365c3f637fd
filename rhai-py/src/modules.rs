//! `import "name"` resolved to `name.rhai` files, kept inside the module folder when there is one.

use std::path::{Path, PathBuf};

use rhai::module_resolvers::FileModuleResolver;
use std::sync::Arc;

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position};

/// Resolves imports in `root` (and never outside it), or without a root, next to the importing file.
pub struct ModuleFolder {
    root: Option<PathBuf>,
    files: FileModuleResolver,
}

impl ModuleFolder {
    /// `root` must be a canonical path.
    pub fn new(root: Option<PathBuf>) -> Self {
        let files = match &root {
            Some(root) => FileModuleResolver::new_with_path(root),
            None => FileModuleResolver::new(),
        };
        ModuleFolder { root, files }
    }

    /// Refuse a module whose file is missing or, through `..` or a link, outside the root.
    fn check(
        &self,
        path: &str,
        importer: Option<&str>,
        position: Position,
    ) -> Result<(), Box<EvalAltResult>> {
        let importer_dir = importer.and_then(|source| Path::new(source).parent());
        let file = self.files.get_file_path(path, importer_dir);
        let folder = std::env::current_dir()
            .map(|cwd| cwd.join(file.parent().unwrap_or(Path::new(""))))
            .map_or_else(|_| "the current folder".to_owned(), |dir| dir.display().to_string());
        // Rhai replaces a resolver's bare "module not found" with its own, which drops the reason:
        // wrapped in "error in module", the reason reaches the caller.
        let not_found = |why: String| {
            let missing = EvalAltResult::ErrorModuleNotFound(format!("'{path}' ({why})"), position);
            EvalAltResult::ErrorInModule(path.to_owned(), missing.into(), position)
        };
        let Ok(real) = file.canonicalize() else {
            let name = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            return Err(not_found(format!("no {name} in {folder}")).into());
        };
        if let Some(root) = &self.root {
            if !real.starts_with(root) {
                return Err(not_found(format!(
                    "{} is outside the module folder {}",
                    real.display(),
                    root.display()
                ))
                .into());
            }
        }
        Ok(())
    }
}

impl ModuleResolver for ModuleFolder {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        position: Position,
    ) -> Result<Arc<Module>, Box<EvalAltResult>> {
        self.check(path, source, position)?;
        self.files.resolve(engine, source, path, position)
    }
}
