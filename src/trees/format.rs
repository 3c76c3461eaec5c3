//! The model file envelope: one versioned, checksummed binary layout for every tenantml
//! model (tree ensembles now, forecasters and scorers later).
//!
//! A file is a fixed header, the model kind, the payload (the model, postcard-encoded, so
//! floats keep their exact bits, infinities and NaN included) and the metadata (JSON, so
//! later capabilities can add free-form sections under [`ModelMetadata::extra`]). All
//! integers are little-endian.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"TMLMODEL"` |
//! | 8 | 2 | format version (`u16`, this build writes and reads up to [`FORMAT_VERSION`]) |
//! | 10 | 2 | flags (`u16`, none defined: must be 0) |
//! | 12 | 2 | header length `H` (`u16`, = 36 + kind length in version 1) |
//! | 14 | 2 | kind length `K` (`u16`, 1..=[`MAX_KIND_LEN`]) |
//! | 16 | 8 | payload length `P` (`u64`) |
//! | 24 | 8 | metadata length `M` (`u64`) |
//! | 32 | 4 | CRC-32C (Castagnoli) of every byte of the file except these 4 |
//! | 36 | `K` | model kind, printable ASCII, e.g. `tree-model` |
//! | `H` | `P` | payload: the model, postcard |
//! | `H + P` | `M` | metadata: [`ModelMetadata`] as JSON |
//!
//! The file is exactly `H + P + M` bytes long. Decoding checks every field before it trusts
//! it, and each allocation is bounded by the input length (postcard reads from the slice and
//! serde caps what a claimed length may preallocate), so a hostile or damaged file yields
//! [`Error::BadModelFile`], never a panic or a huge allocation.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::tree::Tree;
use crate::error::{Error, Result};

/// The first 8 bytes of every tenantml model file.
pub const MAGIC: [u8; 8] = *b"TMLMODEL";
/// The newest envelope version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Longest model kind tag, in bytes.
pub const MAX_KIND_LEN: usize = 64;
/// Largest file [`load`] accepts: a model this big is certainly a mistake, and refusing it
/// up front keeps a wrong path from exhausting memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

const FIXED_HEADER: usize = 36;
const CHECKSUM_AT: usize = 32;

/// Descriptive data stored beside a model, readable with [`peek`] without decoding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelMetadata {
    /// Model name, e.g. `fraud-tenant-42`.
    pub name: Option<String>,
    /// Caller's model version.
    pub version: Option<u64>,
    /// When the model was trained (the caller's format, RFC 3339 recommended).
    pub created_at: Option<String>,
    /// The tenantml version that wrote the file; [`encode`] sets it.
    pub library_version: String,
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// Training or validation metrics by name; finite values only (JSON has no NaN).
    pub training_metrics: BTreeMap<String, f64>,
    /// Sections other capabilities add (drift reference statistics, backtest errors...).
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl ModelMetadata {
    /// Applies a JSON object with any of `name`, `version`, `created_at`,
    /// `training_metrics` and `extra`: given fields replace (maps: extend) the current ones,
    /// others are kept; an unknown field is a parse error.
    pub fn update_from_json(&mut self, json: &str) -> Result<()> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Update {
            name: Option<String>,
            version: Option<u64>,
            created_at: Option<String>,
            training_metrics: Option<BTreeMap<String, f64>>,
            extra: Option<BTreeMap<String, serde_json::Value>>,
        }
        let update: Update =
            serde_json::from_str(json).map_err(|e| Error::Parse(format!("model metadata: {e}")))?;
        if let Some(v) = update.name {
            self.name = Some(v);
        }
        if let Some(v) = update.version {
            self.version = Some(v);
        }
        if let Some(v) = update.created_at {
            self.created_at = Some(v);
        }
        if let Some(v) = update.training_metrics {
            self.training_metrics.extend(v);
        }
        if let Some(v) = update.extra {
            self.extra.extend(v);
        }
        Ok(())
    }
}

impl Default for ModelMetadata {
    fn default() -> Self {
        ModelMetadata {
            name: None,
            version: None,
            created_at: None,
            library_version: crate::VERSION.to_string(),
            feature_names: Vec::new(),
            training_metrics: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// What [`peek`] reports about a file without decoding its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeInfo {
    /// The model kind tag.
    pub kind: String,
    /// The envelope version the file was written with.
    pub format_version: u16,
    /// Header length in bytes (up to the payload).
    pub header_len: usize,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// Metadata length in bytes.
    pub metadata_len: u64,
    /// The stored (and verified) CRC-32C.
    pub checksum: u32,
    /// The decoded metadata.
    pub metadata: ModelMetadata,
}

/// Structural checks a model type runs on itself after decoding, so content that could not
/// have been produced by fitting (an index out of range, a NaN weight) is refused before any
/// prediction uses it.
pub trait Validate {
    /// `Ok` when the value is safe to use; otherwise [`Error::BadModelFile`] saying why.
    fn validate(&self) -> Result<()>;
}

fn bad(msg: impl Into<String>) -> Error {
    Error::BadModelFile(msg.into())
}

/// Wraps a model and its metadata in the envelope.
///
/// `kind` names the model type (printable ASCII, 1..=64 bytes); [`decode`] refuses a file of
/// another kind. The metadata's `library_version` is replaced by this library's version.
///
/// ```
/// use tenantml::trees::format::{decode, encode, ModelMetadata, Validate};
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Scale { factor: f64 }
/// impl Validate for Scale {
///     fn validate(&self) -> tenantml::Result<()> { Ok(()) }
/// }
/// let meta = ModelMetadata { name: Some("demo".into()), ..Default::default() };
/// let bytes = encode("scale", &Scale { factor: f64::INFINITY }, &meta)?;
/// let (model, back): (Scale, _) = decode("scale", &bytes)?;
/// assert_eq!(model, Scale { factor: f64::INFINITY });
/// assert_eq!(back.name.as_deref(), Some("demo"));
/// assert!(decode::<Scale>("other-kind", &bytes).is_err());
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn encode<T: Serialize>(kind: &str, model: &T, metadata: &ModelMetadata) -> Result<Vec<u8>> {
    check_kind(kind).map_err(Error::InvalidArgument)?;
    if let Some((name, v)) = metadata
        .training_metrics
        .iter()
        .find(|(_, v)| !v.is_finite())
    {
        return Err(Error::InvalidArgument(format!(
            "training metric '{name}' is {v}; metadata is JSON, which has no NaN or infinity"
        )));
    }
    let payload = postcard::to_allocvec(model)
        .map_err(|e| Error::InvalidArgument(format!("model cannot be serialised: {e}")))?;
    let mut meta = metadata.clone();
    meta.library_version = crate::VERSION.to_string();
    let meta = serde_json::to_vec(&meta)?;

    let header_len = FIXED_HEADER + kind.len();
    let mut out = Vec::with_capacity(header_len + payload.len() + meta.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(&(kind.len() as u16).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&meta);
    let crc = file_checksum(&out);
    out[CHECKSUM_AT..FIXED_HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks and unwraps a file written by [`encode`]: the envelope, the kind, the checksum,
/// the metadata, the payload (which must be consumed exactly) and finally
/// [`Validate::validate`]. See [`encode`] for an example.
pub fn decode<T: DeserializeOwned + Validate>(
    kind: &str,
    bytes: &[u8],
) -> Result<(T, ModelMetadata)> {
    let env = parse(bytes)?;
    if env.kind != kind {
        return Err(bad(format!(
            "this file holds a '{}' model, not a '{kind}' model",
            env.kind
        )));
    }
    let metadata = parse_metadata(env.metadata)?;
    let (model, rest) = postcard::take_from_bytes::<T>(env.payload)
        .map_err(|e| bad(format!("the '{kind}' payload does not decode: {e}")))?;
    if !rest.is_empty() {
        return Err(bad(format!(
            "the '{kind}' payload has {} unread bytes at its end (written by another model \
             layout?)",
            rest.len()
        )));
    }
    model.validate()?;
    Ok((model, metadata))
}

/// Reads the envelope and metadata of a file (verifying its checksum) without decoding the
/// payload, e.g. to list models or to learn a file's kind before choosing a type.
pub fn peek(bytes: &[u8]) -> Result<EnvelopeInfo> {
    let env = parse(bytes)?;
    Ok(EnvelopeInfo {
        kind: env.kind.to_string(),
        format_version: env.version,
        header_len: env.header_len,
        payload_len: env.payload.len() as u64,
        metadata_len: env.metadata.len() as u64,
        checksum: env.checksum,
        metadata: parse_metadata(env.metadata)?,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
/// flushed to disk and renamed over `path`, so readers see the old file or the new one,
/// never a half-written one. The bytes are not checked.
pub fn save(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);

    let path = path.as_ref();
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file path", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(format!("creating {}", tmp.display()), e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            Error::io(
                format!("renaming {} to {}", tmp.display(), path.display()),
                e,
            )
        })
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    // The rename is durable only once the directory entry is on disk; not every platform
    // can open a directory for syncing, and the data itself is already safe.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads a model file's bytes, refusing files larger than [`MAX_FILE_BYTES`].
pub fn load(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("reading the size of {}", path.display()), e))?
        .len();
    let too_big = |n: u64| {
        bad(format!(
            "{} is {n} bytes, more than the {MAX_FILE_BYTES}-byte limit for a model file",
            path.display()
        ))
    };
    if len > MAX_FILE_BYTES {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // `take` guards against a file that grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Checks that a tree ensemble is structurally sound for `n_features` input columns: each
/// tree is non-empty; children come after their parent and are in range; every node but
/// the root has exactly one parent (so the nodes form one tree, without cycles); leaves have
/// no children and internal nodes two; features are `< n_features`; thresholds are not NaN;
/// values are finite; covers are finite and non-negative.
pub fn validate_trees(trees: &[Tree], n_features: usize) -> Result<()> {
    for (t, tree) in trees.iter().enumerate() {
        let n = tree.nodes.len();
        if n == 0 {
            return Err(bad(format!("tree {t} has no nodes")));
        }
        if n > u32::MAX as usize {
            return Err(bad(format!(
                "tree {t} has {n} nodes, more than indices can address"
            )));
        }
        let mut has_parent = vec![false; n];
        for (i, node) in tree.nodes.iter().enumerate() {
            let fail = |what: String| Err(bad(format!("tree {t}, node {i}: {what}")));
            if !node.value.is_finite() {
                return fail(format!("value {} is not finite", node.value));
            }
            if !(node.cover.is_finite() && node.cover >= 0.0) {
                return fail(format!(
                    "cover {} is not a finite non-negative number",
                    node.cover
                ));
            }
            if node.is_leaf() {
                if node.right != 0 {
                    return fail(format!("a leaf (left 0) with right child {}", node.right));
                }
                continue;
            }
            if node.right == 0 {
                return fail(format!("left child {} but no right child", node.left));
            }
            if node.feature as usize >= n_features {
                return fail(format!(
                    "splits on feature {} but the model has {n_features} features",
                    node.feature
                ));
            }
            if node.threshold.is_nan() {
                return fail("threshold is NaN".to_string());
            }
            for child in [node.left, node.right] {
                let c = child as usize;
                if c <= i || c >= n {
                    return fail(format!(
                        "child {c} is not after its parent and within the tree's {n} nodes"
                    ));
                }
                if std::mem::replace(&mut has_parent[c], true) {
                    return fail(format!("node {c} has a second parent"));
                }
            }
        }
        if let Some(orphan) = has_parent.iter().skip(1).position(|p| !p) {
            return Err(bad(format!("tree {t}: node {} has no parent", orphan + 1)));
        }
    }
    Ok(())
}

/// The CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `bytes`.
///
/// ```
/// assert_eq!(tenantml::trees::format::crc32c(b"123456789"), 0xE306_9283);
/// ```
pub fn crc32c(bytes: &[u8]) -> u32 {
    !crc32c_update(!0, bytes)
}

/// Eight tables so the loop consumes 8 bytes per step (slicing-by-8): model loading has a
/// budget of a few milliseconds and a byte-at-a-time CRC would take most of it.
static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0x82F6_3B78 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

fn crc32c_update(mut crc: u32, bytes: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][c[4] as usize]
            ^ t[2][c[5] as usize]
            ^ t[1][c[6] as usize]
            ^ t[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ u32::from(b)) & 0xff) as usize];
    }
    crc
}

fn file_checksum(file: &[u8]) -> u32 {
    let crc = crc32c_update(!0, &file[..CHECKSUM_AT]);
    !crc32c_update(crc, &file[FIXED_HEADER..])
}

fn check_kind(kind: &str) -> std::result::Result<(), String> {
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(format!(
            "model kind must be 1..={MAX_KIND_LEN} bytes, got {}",
            kind.len()
        ));
    }
    if !kind.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "model kind {kind:?} must be printable ASCII without spaces"
        ));
    }
    Ok(())
}

struct Envelope<'a> {
    version: u16,
    header_len: usize,
    checksum: u32,
    kind: &'a str,
    payload: &'a [u8],
    metadata: &'a [u8],
}

fn parse(bytes: &[u8]) -> Result<Envelope<'_>> {
    if bytes.is_empty() {
        return Err(bad("the input is empty: not a tenantml model file"));
    }
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] {
        return Err(bad("not a tenantml model file (the magic bytes are wrong)"));
    }
    if bytes.len() < FIXED_HEADER {
        return Err(bad(format!(
            "truncated: {} bytes, shorter than the {FIXED_HEADER}-byte header",
            bytes.len()
        )));
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u16_at(8);
    if version == 0 {
        return Err(bad("format version 0 does not exist (corrupted header)"));
    }
    if version > FORMAT_VERSION {
        return Err(bad(format!(
            "written by a newer tenantml (format v{version}); this build reads up to \
             v{FORMAT_VERSION}"
        )));
    }
    let flags = u16_at(10);
    if flags != 0 {
        return Err(bad(format!(
            "unknown flags {flags:#06x} (written by a newer tenantml, or corrupted)"
        )));
    }
    let header_len = usize::from(u16_at(12));
    let kind_len = usize::from(u16_at(14));
    if kind_len == 0 || kind_len > MAX_KIND_LEN || header_len != FIXED_HEADER + kind_len {
        return Err(bad(format!(
            "inconsistent header: header length {header_len}, kind length {kind_len}"
        )));
    }
    let (payload_len, meta_len) = (u64_at(16), u64_at(24));
    let expected = (header_len as u64)
        .checked_add(payload_len)
        .and_then(|s| s.checked_add(meta_len));
    match expected {
        Some(e) if e == bytes.len() as u64 => {}
        Some(e) if e > bytes.len() as u64 => {
            return Err(bad(format!(
                "truncated: the header announces {e} bytes but there are {}",
                bytes.len()
            )))
        }
        Some(e) => {
            return Err(bad(format!(
                "{} trailing bytes after the announced {e} bytes",
                bytes.len() as u64 - e
            )))
        }
        None => {
            return Err(bad(format!(
                "impossible lengths (payload {payload_len}, metadata {meta_len} bytes)"
            )))
        }
    }
    let stored = u32::from_le_bytes(bytes[CHECKSUM_AT..FIXED_HEADER].try_into().expect("4"));
    let actual = file_checksum(bytes);
    if stored != actual {
        return Err(bad(format!(
            "corrupted: checksum {actual:#010x} does not match the stored {stored:#010x}"
        )));
    }
    let kind = std::str::from_utf8(&bytes[FIXED_HEADER..header_len])
        .ok()
        .filter(|k| check_kind(k).is_ok())
        .ok_or_else(|| bad("the model kind is not printable ASCII"))?;
    let payload_end = header_len + payload_len as usize;
    Ok(Envelope {
        version,
        header_len,
        checksum: stored,
        kind,
        payload: &bytes[header_len..payload_end],
        metadata: &bytes[payload_end..],
    })
}

fn parse_metadata(bytes: &[u8]) -> Result<ModelMetadata> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("the metadata is not valid JSON: {e}")))
}

/// Serde adapter storing a field as a JSON string inside a binary payload, for settings
/// types whose serde form needs a self-describing format (internally tagged or untagged
/// enums, which postcard cannot read back). Use as `#[serde(with = "format::json_field")]`.
pub(crate) mod json_field {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<T: Serialize, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let json = serde_json::to_string(value).map_err(S::Error::custom)?;
        json.serialize(serializer)
    }

    pub(crate) fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<T, D::Error> {
        let json = String::deserialize(deserializer)?;
        serde_json::from_str(&json).map_err(D::Error::custom)
    }
}
