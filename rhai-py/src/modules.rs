//! `import "name"` resolved to `name.rhai` files, kept inside the module folder when there is one.
//!
//! Rhai's own file resolver names a module by its import string and resolves a module's imports
//! from the current folder; this one names it by its file, so errors point at the file, and it
//! refuses import cycles, which would otherwise recurse until the native stack overflows.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope};

type ModuleResult<T> = Result<T, Box<EvalAltResult>>;

/// Resolves `import "x"` to `x.rhai`: in `root` (and never outside it), or without a root, next
/// to the importing file. Each file is loaded once and kept.
pub struct ModuleFolder {
    root: Option<PathBuf>,
    loaded: Mutex<HashMap<PathBuf, Arc<Module>>>,
}

thread_local! {
    /// The module files being loaded on this thread, outermost first.
    static LOADING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

impl ModuleFolder {
    /// `root` must be a canonical path.
    pub fn new(root: Option<PathBuf>) -> Self {
        ModuleFolder { root, loaded: Mutex::new(HashMap::new()) }
    }

    /// The module's file: present, and inside the root (through `..` and links too).
    fn locate(&self, path: &str, importer: Option<&str>, position: Position) -> ModuleResult<PathBuf> {
        let base = match &self.root {
            Some(root) => root.clone(),
            None => importer
                .and_then(|source| Path::new(source).parent())
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        };
        let file = base.join(path).with_extension("rhai");
        // Rhai replaces a resolver's bare "module not found" with its own, which drops the reason:
        // wrapped in "error in module", the reason reaches the caller.
        let not_found = |why: String| {
            let missing = EvalAltResult::ErrorModuleNotFound(format!("'{path}' ({why})"), position);
            EvalAltResult::ErrorInModule(path.to_owned(), missing.into(), position).into()
        };
        let Ok(real) = file.canonicalize() else {
            let folder = std::env::current_dir().map(|cwd| cwd.join(file.parent().unwrap_or(Path::new(""))));
            let folder =
                folder.map_or_else(|_| "the current folder".to_owned(), |dir| dir.display().to_string());
            let name = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            return Err(not_found(format!("no {name} in {folder}")));
        };
        match &self.root {
            Some(root) if !real.starts_with(root) => {
                Err(not_found(format!("{} is outside the module folder {}", real.display(), root.display())))
            }
            _ => Ok(real),
        }
    }

    fn load(&self, engine: &Engine, file: &Path, position: Position) -> ModuleResult<Arc<Module>> {
        let in_module = |err| EvalAltResult::ErrorInModule(file.display().to_string(), err, position).into();
        let cycle = LOADING.with_borrow(|loading| {
            loading.iter().position(|f| f == file).map(|start| {
                let chain: Vec<String> = loading[start..].iter().map(|f| f.display().to_string()).collect();
                format!("import cycle: {} -> {}", chain.join(" -> "), file.display())
            })
        });
        if let Some(cycle) = cycle {
            return Err(in_module(EvalAltResult::ErrorRuntime(cycle.into(), position).into()));
        }
        LOADING.with_borrow_mut(|loading| loading.push(file.to_path_buf()));
        let module = engine
            .compile_file(file.to_path_buf())
            .and_then(|ast| Module::eval_ast_as_new(Scope::new(), &ast, engine))
            .map_err(in_module);
        LOADING.with_borrow_mut(Vec::pop);
        module.map(Arc::new)
    }
}

impl ModuleResolver for ModuleFolder {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        position: Position,
    ) -> ModuleResult<Arc<Module>> {
        let file = self.locate(path, source, position)?;
        if let Some(module) = self.loaded.lock().get(&file) {
            return Ok(module.clone());
        }
        let module = self.load(engine, &file, position)?;
        self.loaded.lock().insert(file, module.clone());
        Ok(module)
    }
}
