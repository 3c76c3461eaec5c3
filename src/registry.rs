//! A versioned model store in a directory, safe with several writer processes.
//!
//! Any tenantml model file (tree model, usage predictor, fraud scorer, churn predictor:
//! anything [`crate::trees::format`] wraps) is stored as bytes under a model name:
//!
//! ```text
//! <root>/<name>/1.tml      the model file, byte for byte
//! <root>/<name>/1.json     its sidecar: VersionInfo (type, schema hash, metrics, checksum...) and its own checksum
//! <root>/<name>/CURRENT    the promotion pointer: live version + rollback history (JSON)
//! <root>/<name>/.lock      flock'ed by every writer
//! ```
//!
//! - [`Registry::save_bytes`] checks the bytes (envelope and checksum), then under the
//!   model's lock allocates the next version and writes the model file, then the sidecar,
//!   each fsynced under a name that must not exist yet. A version exists once its sidecar
//!   does, so a reader never sees half a version, and no version is ever overwritten.
//!   A writer killed mid-save leaves only temporary files or a model file without a
//!   sidecar; readers ignore both and the next writer removes them.
//! - Saving registers a version; it does not make it live. [`Registry::promote`] does
//!   (the MLflow way), and [`Registry::rollback`] returns to the previously promoted
//!   version. Loading without a version loads the promoted one, or the newest if nothing
//!   was ever promoted.
//! - Loading verifies the sidecar (name, version), the size and CRC-32C the sidecar
//!   recorded, and the model file's own envelope checksum. Damage to one version is a
//!   clear error for that version ([`Error::BadModelFile`] for the model file,
//!   [`Error::RegistryCorrupt`] for a sidecar or the pointer) and leaves the others
//!   loadable; [`Registry::list`] marks it.
//! - [`Registry::retain`] keeps the newest K versions and never deletes the promoted one.
//!
//! Bytes in and out ([`Registry::save_bytes`], [`Registry::load_bytes`]) let callers keep
//! model files anywhere else too, e.g. on object storage shared by several hosts.
//!
//! ```
//! use tenantml::registry::{Registry, SaveMetadata};
//! use tenantml::trees::model::{Model, ModelParams};
//! # let dir = std::env::temp_dir().join(format!("tml-registry-doc-{}", std::process::id()));
//! let x = ndarray::Array2::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 13) % 50) as f64);
//! let y: Vec<f64> = x.rows().into_iter().map(|r| r[0] * 2.0 - r[1]).collect();
//! let params = ModelParams::from_json(r#"{"gbdt": {"rounds": 5}}"#)?;
//! let model = Model::fit(x.view(), &y, None, None, &params)?;
//!
//! let registry = Registry::open(&dir)?;
//! let v1 = registry.save("usage", &model, &SaveMetadata::default())?;
//! let v2 = registry.save("usage", &model, &SaveMetadata::from_json(r#"{"config": {"rounds": 5}}"#)?)?;
//! assert_eq!((v1, v2), (1, 2));
//! registry.promote("usage", v1)?;
//! let (live, info): (Model, _) = registry.load("usage", None)?;
//! assert_eq!((info.version, info.model_type.as_str()), (1, "tree-model"));
//! assert_eq!(live.predict_row(&[3.0, 4.0])?, model.predict_row(&[3.0, 4.0])?);
//! registry.promote("usage", v2)?;
//! assert_eq!(registry.rollback("usage")?, v1);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), tenantml::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::trees::format;

mod files;
mod info;

pub use info::{schema_hash, ReferenceSummary, SaveMetadata, VersionInfo};

use files::{model_file, sidecar_file, DirLock, MAX_JSON_BYTES, POINTER_FILE};
use info::{Pointer, MAX_HISTORY};

/// Longest model name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// A model type the registry can store and load directly; every tenantml model is one.
pub trait StoredModel: Sized {
    /// The model file bytes (the type's `to_bytes`).
    fn to_model_bytes(&self) -> Result<Vec<u8>>;
    /// The model from model file bytes (the type's `from_bytes`).
    fn from_model_bytes(bytes: &[u8]) -> Result<Self>;
}

macro_rules! stored_model {
    ($($t:ty),*) => {$(
        impl StoredModel for $t {
            fn to_model_bytes(&self) -> Result<Vec<u8>> {
                self.to_bytes()
            }
            fn from_model_bytes(bytes: &[u8]) -> Result<Self> {
                <$t>::from_bytes(bytes)
            }
        }
    )*};
}

stored_model!(
    crate::trees::model::Model,
    crate::forecast::UsagePredictor,
    crate::scoring::fraud::FraudScorer,
    crate::scoring::churn::ChurnPredictor
);

/// One version as [`Registry::list`] reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VersionEntry {
    /// Version number.
    pub version: u64,
    /// Whether this is the promoted version.
    pub current: bool,
    /// The sidecar, when it could be read.
    pub info: Option<VersionInfo>,
    /// Why this version does not load (damaged sidecar or model file); `None` when it
    /// verifies.
    pub error: Option<String>,
}

/// A model registry rooted at a directory. Cheap to clone; holds no open files.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

/// Checks a model name: 1..=[`MAX_NAME_LEN`] bytes of `[A-Za-z0-9._-]`, not starting with
/// a dot (so never `.`, `..` or a hidden file).
///
/// ```
/// use tenantml::registry::validate_name;
/// assert!(validate_name("fraud-tenant_42.v2").is_ok());
/// assert!(validate_name("../etc").is_err());
/// assert!(validate_name("").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars || name.starts_with('.') {
        return Err(Error::InvalidArgument(format!(
            "model name {name:?} must be 1..={MAX_NAME_LEN} characters of A-Z a-z 0-9 . _ - \
             and not start with a dot"
        )));
    }
    Ok(())
}

impl Registry {
    /// Opens (creating if needed) a registry rooted at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Registry> {
        let root = root.as_ref().to_path_buf();
        if root.as_os_str().is_empty() {
            return Err(Error::InvalidArgument("registry root is empty".into()));
        }
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating registry root {}", root.display()), e))?;
        if !root.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "registry root {} is not a directory",
                root.display()
            )));
        }
        Ok(Registry { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, name: &str) -> Result<PathBuf> {
        validate_name(name)?;
        Ok(self.root.join(name))
    }

    /// The model's directory, locked; only saving creates it, so operating on a name that
    /// was never saved leaves no empty directory behind.
    fn locked(&self, name: &str, create: bool) -> Result<(PathBuf, DirLock)> {
        let dir = self.dir(name)?;
        if create {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        } else if !dir.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "the registry has no model '{name}'"
            )));
        }
        let lock = files::lock(&dir)?;
        Ok((dir, lock))
    }

    /// Model names in the registry, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io(format!("listing {}", self.root.display()), e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing the registry root", e))?;
            if let Some(name) = entry.file_name().to_str() {
                if validate_name(name).is_ok() && entry.path().is_dir() {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Stores model file `bytes` as a new version of `name` and returns its number (the
    /// highest so far plus one, from 1). Bytes that are not a valid tenantml model file are
    /// refused with [`Error::BadModelFile`]. The version is not promoted.
    pub fn save_bytes(&self, name: &str, bytes: &[u8], metadata: &SaveMetadata) -> Result<u64> {
        validate_name(name)?;
        let envelope = format::peek(bytes)?;
        // Build once to validate metrics and the drift reference before taking the lock.
        info::describe(name, 0, bytes, &envelope, metadata)?;
        let (dir, _lock) = self.locked(name, true)?;
        let scan = files::scan(&dir)?;
        remove_stale(&scan.stale);
        // A model file without a sidecar was never visible, so its number may be reused;
        // write_new still refuses to replace one that could not be removed.
        let mut version = scan.versions.last().copied().unwrap_or(0) + 1;
        loop {
            if files::write_new(&dir, &model_file(version), bytes)? {
                break;
            }
            version += 1;
        }
        let sidecar = info::describe(name, version, bytes, &envelope, metadata)?;
        let json = info::encode_sidecar(&sidecar)?;
        if !files::write_new(&dir, &sidecar_file(version), &json)? {
            return Err(Error::RegistryCorrupt(format!(
                "{} already exists for a version just allocated (a writer ignoring the lock?)",
                dir.join(sidecar_file(version)).display()
            )));
        }
        files::sync_dir(&dir);
        Ok(version)
    }

    /// Stores a model as a new version; see [`Registry::save_bytes`].
    pub fn save<M: StoredModel>(
        &self,
        name: &str,
        model: &M,
        metadata: &SaveMetadata,
    ) -> Result<u64> {
        self.save_bytes(name, &model.to_model_bytes()?, metadata)
    }

    /// The bytes and sidecar of a version, verified. `version` `None` means the promoted
    /// version, or the newest when none was ever promoted. The version loaded becomes
    /// `tenantml_model_version_in_use{model="<name>"}` in the global telemetry recorder.
    pub fn load_bytes(&self, name: &str, version: Option<u64>) -> Result<(Vec<u8>, VersionInfo)> {
        let dir = self.dir(name)?;
        let version = self.resolve(name, &dir, version)?;
        let loaded = read_version(&dir, name, version)?;
        // A full metrics table must not fail a model load; it counts the drop itself.
        let _ = crate::telemetry::global().set_model_version(name, loaded.1.version);
        Ok(loaded)
    }

    /// As [`Registry::load_bytes`], and fails with [`Error::SchemaMismatch`] unless the
    /// version's [`VersionInfo::feature_schema_hash`] is `expected_schema_hash` (see
    /// [`schema_hash`]).
    pub fn load_bytes_expecting(
        &self,
        name: &str,
        version: Option<u64>,
        expected_schema_hash: &str,
    ) -> Result<(Vec<u8>, VersionInfo)> {
        let (bytes, info) = self.load_bytes(name, version)?;
        if info.feature_schema_hash != expected_schema_hash {
            return Err(Error::SchemaMismatch(format!(
                "'{name}' version {} has feature schema {} ({} features), expected {}",
                info.version, info.feature_schema_hash, info.feature_count, expected_schema_hash
            )));
        }
        Ok((bytes, info))
    }

    /// Loads a model; see [`Registry::load_bytes`].
    pub fn load<M: StoredModel>(
        &self,
        name: &str,
        version: Option<u64>,
    ) -> Result<(M, VersionInfo)> {
        let (bytes, info) = self.load_bytes(name, version)?;
        Ok((M::from_model_bytes(&bytes)?, info))
    }

    /// The promoted version, `None` if none was promoted.
    pub fn current(&self, name: &str) -> Result<Option<u64>> {
        let dir = self.dir(name)?;
        Ok(read_pointer(&dir, name)?.map(|p| p.current))
    }

    /// Every version of `name`, ascending, each verified (sidecar and model file are read
    /// in full); a damaged version is listed with its `error`. A model never saved has no
    /// versions.
    pub fn list(&self, name: &str) -> Result<Vec<VersionEntry>> {
        let dir = self.dir(name)?;
        let current = read_pointer(&dir, name)?.map(|p| p.current);
        let scan = files::scan(&dir)?;
        Ok(scan
            .versions
            .into_iter()
            .map(|version| {
                let (info, error) = match read_sidecar(&dir, name, version) {
                    Ok(info) => {
                        let error = read_verified(&dir, &info).err().map(|e| e.to_string());
                        (Some(info), error)
                    }
                    Err(e) => (None, Some(e.to_string())),
                };
                VersionEntry {
                    version,
                    current: current == Some(version),
                    info,
                    error,
                }
            })
            .collect())
    }

    /// Makes `version` the live one, after verifying it loads. The previously promoted
    /// version goes to the rollback history. A damaged pointer is replaced (its history
    /// is lost).
    pub fn promote(&self, name: &str, version: u64) -> Result<()> {
        let (dir, _lock) = self.locked(name, false)?;
        read_version(&dir, name, version)?;
        let mut pointer = match read_pointer(&dir, name) {
            Ok(Some(p)) => p,
            Ok(None) | Err(Error::RegistryCorrupt(_)) => Pointer {
                name: name.to_string(),
                current: version,
                history: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        if pointer.current != version {
            pointer.history.push(pointer.current);
            let excess = pointer.history.len().saturating_sub(MAX_HISTORY);
            pointer.history.drain(..excess);
            pointer.current = version;
        }
        write_pointer(&dir, &pointer)
    }

    /// Returns the pointer to the previously promoted version and returns that version.
    /// Fails when nothing was promoted before the current version.
    pub fn rollback(&self, name: &str) -> Result<u64> {
        let (dir, _lock) = self.locked(name, false)?;
        let mut pointer = read_pointer(&dir, name)?.ok_or_else(|| {
            Error::InvalidArgument(format!("'{name}' has no promoted version to roll back"))
        })?;
        let previous = pointer.history.pop().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "'{name}' has no earlier promoted version than {}",
                pointer.current
            ))
        })?;
        read_version(&dir, name, previous)?;
        pointer.current = previous;
        write_pointer(&dir, &pointer)?;
        Ok(previous)
    }

    /// Deletes all but the newest `keep` versions (at least 1), never the promoted one,
    /// and removes leftovers of interrupted saves. Returns the deleted versions.
    pub fn retain(&self, name: &str, keep: usize) -> Result<Vec<u64>> {
        if keep == 0 {
            return Err(Error::InvalidArgument(
                "retain keeps at least 1 version".into(),
            ));
        }
        let (dir, _lock) = self.locked(name, false)?;
        let pointer = read_pointer(&dir, name)?;
        let scan = files::scan(&dir)?;
        remove_stale(&scan.stale);
        let cut = scan.versions.len().saturating_sub(keep);
        let removed: Vec<u64> = scan.versions[..cut]
            .iter()
            .copied()
            .filter(|v| pointer.as_ref().map(|p| p.current) != Some(*v))
            .collect();
        for &v in &removed {
            // Sidecar first: the version disappears at once, the model file is then an
            // orphan any later writer would also remove.
            for file in [sidecar_file(v), model_file(v)] {
                let path = dir.join(file);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(format!("removing {}", path.display()), e)),
                }
            }
        }
        if let Some(mut p) = pointer {
            let before = p.history.len();
            p.history.retain(|v| !removed.contains(v));
            if p.history.len() != before {
                write_pointer(&dir, &p)?;
            }
        }
        files::sync_dir(&dir);
        Ok(removed)
    }

    fn resolve(&self, name: &str, dir: &Path, version: Option<u64>) -> Result<u64> {
        if let Some(v) = version {
            return Ok(v);
        }
        if let Some(p) = read_pointer(dir, name)? {
            return Ok(p.current);
        }
        files::scan(dir)?
            .versions
            .last()
            .copied()
            .ok_or_else(|| Error::InvalidArgument(format!("the registry has no model '{name}'")))
    }
}

fn remove_stale(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

fn read_sidecar(dir: &Path, name: &str, version: u64) -> Result<VersionInfo> {
    let path = dir.join(sidecar_file(version));
    let bytes = files::read_small(&path, MAX_JSON_BYTES)?
        .ok_or_else(|| Error::InvalidArgument(format!("'{name}' has no version {version}")))?;
    let info = info::decode_sidecar(&bytes).map_err(|e| {
        Error::RegistryCorrupt(format!(
            "{} is not a valid version sidecar: {e}",
            path.display()
        ))
    })?;
    if info.name != name || info.version != version {
        return Err(Error::RegistryCorrupt(format!(
            "{} describes '{}' version {}, not '{name}' version {version}",
            path.display(),
            info.name,
            info.version
        )));
    }
    Ok(info)
}

fn read_verified(dir: &Path, info: &VersionInfo) -> Result<Vec<u8>> {
    let path = dir.join(model_file(info.version));
    let bytes = format::load(&path).map_err(|e| match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Error::BadModelFile(format!("{} is missing", path.display()))
        }
        e => e,
    })?;
    if bytes.len() as u64 != info.size {
        return Err(Error::BadModelFile(format!(
            "{} is {} bytes, its sidecar says {} (truncated or replaced)",
            path.display(),
            bytes.len(),
            info.size
        )));
    }
    let actual = info::checksum(&bytes);
    if actual != info.checksum {
        return Err(Error::BadModelFile(format!(
            "{} is corrupted: checksum {actual}, its sidecar says {}",
            path.display(),
            info.checksum
        )));
    }
    format::peek(&bytes).map_err(|e| Error::BadModelFile(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

fn read_version(dir: &Path, name: &str, version: u64) -> Result<(Vec<u8>, VersionInfo)> {
    if version == 0 {
        return Err(Error::InvalidArgument("versions start at 1".into()));
    }
    let info = read_sidecar(dir, name, version)?;
    Ok((read_verified(dir, &info)?, info))
}

fn read_pointer(dir: &Path, name: &str) -> Result<Option<Pointer>> {
    let path = dir.join(POINTER_FILE);
    let Some(bytes) = files::read_small(&path, MAX_JSON_BYTES)? else {
        return Ok(None);
    };
    let corrupt = |why: String| {
        Error::RegistryCorrupt(format!(
            "{}: {why}; promote a version to replace it",
            path.display()
        ))
    };
    let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if pointer.name != name || pointer.current == 0 || pointer.history.contains(&0) {
        return Err(corrupt(format!(
            "it names '{}' version {}",
            pointer.name, pointer.current
        )));
    }
    Ok(Some(pointer))
}

fn write_pointer(dir: &Path, pointer: &Pointer) -> Result<()> {
    format::save(dir.join(POINTER_FILE), &serde_json::to_vec_pretty(pointer)?)
}
