//! The registry's JSON documents: a version's metadata sidecar, what a caller adds when
//! saving, and the promotion pointer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::drift::ModelReference;
use crate::error::{Error, Result};
use crate::trees::format::EnvelopeInfo;

/// The metadata sidecar of one stored version (`<version>.json` beside `<version>.tml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionInfo {
    /// Registry model name (the directory).
    pub name: String,
    /// Version number, from 1, allocated by the registry.
    pub version: u64,
    /// When the version was saved, RFC 3339 in UTC.
    pub created_at: String,
    /// The model file's kind, e.g. `tree-model`, `fraud-scorer`.
    pub model_type: String,
    /// Number of input features the model file names.
    pub feature_count: usize,
    /// [`schema_hash`] of the model file's feature names.
    pub feature_schema_hash: String,
    /// The model file's training metrics, extended by those given at save time.
    pub training_metrics: BTreeMap<String, f64>,
    /// The caller's configuration (any JSON, `null` when none was given).
    pub config: serde_json::Value,
    /// Summary of the drift reference the model file carries, if any.
    pub reference_statistics: Option<ReferenceSummary>,
    /// The tenantml version that wrote the model file.
    pub library_version: String,
    /// Size of the model file in bytes.
    pub size: u64,
    /// CRC-32C of the whole model file, `crc32c:` and 8 hex digits.
    pub checksum: String,
}

/// What a version's drift reference (`extra["drift_reference"]` of the model file, see
/// [`ModelReference`]) covers; the reference itself stays in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSummary {
    /// Features summarised.
    pub features: usize,
    /// Whether the model's training predictions are summarised too.
    pub predictions: bool,
}

/// What a caller adds when saving a version: JSON `{"config": ..., "training_metrics":
/// {...}}`, both optional; unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SaveMetadata {
    /// Free-form configuration to keep with the version (e.g. the training parameters).
    pub config: serde_json::Value,
    /// Metrics to add to (or replace in) the model file's own training metrics.
    pub training_metrics: BTreeMap<String, f64>,
}

impl SaveMetadata {
    /// Parses the JSON form; an empty string means no metadata.
    ///
    /// ```
    /// use tenantml::registry::SaveMetadata;
    /// let m = SaveMetadata::from_json(r#"{"training_metrics": {"auc": 0.91}}"#)?;
    /// assert_eq!(m.training_metrics["auc"], 0.91);
    /// assert!(SaveMetadata::from_json(r#"{"cofnig": 1}"#).is_err());
    /// # Ok::<(), tenantml::Error>(())
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(SaveMetadata::default());
        }
        serde_json::from_str(json).map_err(|e| Error::Parse(format!("save metadata: {e}")))
    }
}

/// A stable hash of feature names in column order: FNV-1a (64-bit) over each name's
/// length (8 bytes, little-endian) followed by its UTF-8 bytes, written `fnv1a64:` and 16
/// hex digits. The length prefix keeps `["ab", "c"]` and `["a", "bc"]` apart.
///
/// ```
/// use tenantml::registry::schema_hash;
/// let a = schema_hash(&["amount".to_string(), "hour".to_string()]);
/// assert!(a.starts_with("fnv1a64:"));
/// assert_ne!(a, schema_hash(&["hour".to_string(), "amount".to_string()]));
/// ```
pub fn schema_hash(feature_names: &[String]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    for name in feature_names {
        eat(&(name.len() as u64).to_le_bytes());
        eat(name.as_bytes());
    }
    format!("fnv1a64:{h:016x}")
}

/// Builds the sidecar of a model file about to be stored.
pub(crate) fn describe(
    name: &str,
    version: u64,
    bytes: &[u8],
    envelope: &EnvelopeInfo,
    extra: &SaveMetadata,
) -> Result<VersionInfo> {
    let meta = &envelope.metadata;
    let mut training_metrics = meta.training_metrics.clone();
    training_metrics.extend(extra.training_metrics.iter().map(|(k, v)| (k.clone(), *v)));
    if let Some((k, v)) = training_metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "training metric '{k}' is {v}; registry metadata is JSON, which has no NaN or \
             infinity"
        )));
    }
    let reference_statistics = ModelReference::from_metadata(meta)?.map(|r| ReferenceSummary {
        features: r.features.schema().len(),
        predictions: r.predictions.is_some(),
    });
    Ok(VersionInfo {
        name: name.to_string(),
        version,
        created_at: jiff::Timestamp::now().to_string(),
        model_type: envelope.kind.clone(),
        feature_count: meta.feature_names.len(),
        feature_schema_hash: schema_hash(&meta.feature_names),
        training_metrics,
        config: extra.config.clone(),
        reference_statistics,
        library_version: meta.library_version.clone(),
        size: bytes.len() as u64,
        checksum: checksum(bytes),
    })
}

pub(crate) fn checksum(bytes: &[u8]) -> String {
    format!("crc32c:{:08x}", crate::trees::format::crc32c(bytes))
}

/// A sidecar as stored: the info and a CRC-32C of its compact JSON, so damage inside a
/// field that still parses (a flipped digit of `created_at`, a changed `config`) is caught,
/// not only damage that breaks the JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SidecarFile {
    info: VersionInfo,
    info_checksum: String,
}

/// The bytes of a sidecar file.
pub(crate) fn encode_sidecar(info: &VersionInfo) -> Result<Vec<u8>> {
    let info_checksum = checksum(&serde_json::to_vec(info)?);
    Ok(serde_json::to_vec_pretty(&SidecarFile {
        info: info.clone(),
        info_checksum,
    })?)
}

/// A sidecar file's info, or why it is not a valid one. The checksum is recomputed over
/// the re-serialised info: serde_json writes the same struct (maps sorted, floats in their
/// shortest round-tripping form) to the same bytes.
pub(crate) fn decode_sidecar(bytes: &[u8]) -> std::result::Result<VersionInfo, String> {
    let file: SidecarFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let actual = checksum(&serde_json::to_vec(&file.info).map_err(|e| e.to_string())?);
    if actual != file.info_checksum {
        return Err(format!(
            "its checksum {actual} does not match the stored {} (edited or damaged)",
            file.info_checksum
        ));
    }
    Ok(file.info)
}

/// Longest rollback history kept in the pointer.
pub(crate) const MAX_HISTORY: usize = 100;

/// The promotion pointer (`CURRENT`): the live version and the previously promoted ones,
/// oldest first, for rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Pointer {
    pub(crate) name: String,
    pub(crate) current: u64,
    pub(crate) history: Vec<u64>,
}
