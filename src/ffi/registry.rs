//! C ABI of the model registry (`tenantml::registry`): a directory of versioned model
//! files, safe with several writer processes. Model files cross as bytes (any
//! `tml_*_to_bytes` output), so the caller can also keep them elsewhere.
//!
//! Version 0 means "the promoted version (or the newest if none was promoted)" where a
//! version is read, and "none" where one is reported. Version sidecars cross as JSON
//! (`VersionInfo`: `name`, `version`, `created_at`, `model_type`, `feature_count`,
//! `feature_schema_hash`, `training_metrics`, `config`, `reference_statistics`,
//! `library_version`, `size`, `checksum`).

use std::ffi::c_char;

use super::model::{slice_arg, TmlBytes};
use super::TmlStatus;
use super::{
    borrow, bytes_out, free_handle, guard, handle_out, optional_str_arg, out, str_arg, string_out,
};
use crate::registry::{Registry, SaveMetadata};

/// A registry rooted at a directory. Opaque; free with `tml_registry_free`. Any call may
/// run on many threads and in many processes at once.
pub struct TmlRegistry {
    registry: Registry,
}

fn version_arg(version: u64) -> Option<u64> {
    (version != 0).then_some(version)
}

/// Opens (creating if needed) the registry rooted at directory `root`. Free the handle
/// with `tml_registry_free`.
///
/// # Safety
/// `root` is NULL or NUL-terminated; `out_registry` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_open(
    root: *const c_char,
    out_registry: *mut *mut TmlRegistry,
) -> TmlStatus {
    guard(|| {
        out(out_registry, "out_registry")?;
        let registry = Registry::open(str_arg(root, "root")?)?;
        handle_out(TmlRegistry { registry }, out_registry, "out_registry")
    })
}

/// Releases a registry handle. NULL is ignored.
///
/// # Safety
/// `registry` is NULL or a live handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_free(registry: *mut TmlRegistry) {
    free_handle(registry)
}

/// Stores model file bytes (`data`, `len`) as a new version of `name` and writes its
/// number to `*out_version`. `metadata_json` (NULL = none) is `{"config": <any JSON>,
/// "training_metrics": {"auc": 0.9}}`. Bytes that are not a valid model file fail with
/// `TML_STATUS_BAD_MODEL_FILE`. The version is not promoted.
///
/// # Safety
/// `registry` is a live handle; `name` and `metadata_json` are NULL or NUL-terminated;
/// `data` points to `len` readable bytes; `out_version` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_save_bytes(
    registry: *const TmlRegistry,
    name: *const c_char,
    data: *const u8,
    len: usize,
    metadata_json: *const c_char,
    out_version: *mut u64,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_version, "out_version")?;
        let name = str_arg(name, "name")?;
        let bytes = slice_arg(data, len, "data")?;
        let metadata = match optional_str_arg(metadata_json, "metadata_json")? {
            Some(json) => SaveMetadata::from_json(json)?,
            None => SaveMetadata::default(),
        };
        *out(out_version, "out_version")? = r.save_bytes(name, bytes, &metadata)?;
        Ok(())
    })
}

/// Reads version `version` of `name` (0: the promoted one, or the newest if none was
/// promoted), verified, into `*out_bytes` (free with `tml_bytes_free`) and its sidecar as
/// JSON into `*out_info_json` (may be NULL; free with `tml_string_free`). When
/// `expected_schema_hash` is not NULL, a version with another `feature_schema_hash` fails
/// with `TML_STATUS_SCHEMA_MISMATCH`. A damaged model file fails with
/// `TML_STATUS_BAD_MODEL_FILE`, a damaged sidecar or pointer with
/// `TML_STATUS_REGISTRY_CORRUPT`; nothing is written then.
///
/// # Safety
/// `registry` is a live handle; string arguments are NULL or NUL-terminated; `out_bytes`
/// is writable; `out_info_json` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_load_bytes(
    registry: *const TmlRegistry,
    name: *const c_char,
    version: u64,
    expected_schema_hash: *const c_char,
    out_bytes: *mut TmlBytes,
    out_info_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_bytes, "out_bytes")?;
        let name = str_arg(name, "name")?;
        let (bytes, info) = match optional_str_arg(expected_schema_hash, "expected_schema_hash")? {
            Some(hash) => r.load_bytes_expecting(name, version_arg(version), hash)?,
            None => r.load_bytes(name, version_arg(version))?,
        };
        let info_json = serde_json::to_string(&info)?;
        if !out_info_json.is_null() {
            string_out(info_json, out_info_json, "out_info_json")?;
        }
        bytes_out(out_bytes, "out_bytes", || Ok(bytes))
    })
}

/// Every version of `name` as a JSON array, ascending: `{"version", "current", "info"
/// (sidecar or null), "error" (why it does not load, or null)}`; damaged versions are
/// listed with their error. Free `*out_json` with `tml_string_free`.
///
/// # Safety
/// `registry` is a live handle; `name` is NUL-terminated; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_list_json(
    registry: *const TmlRegistry,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_json, "out_json")?;
        let list = r.list(str_arg(name, "name")?)?;
        string_out(serde_json::to_string(&list)?, out_json, "out_json")
    })
}

/// The model names in the registry as a JSON array of strings, sorted. Free `*out_json`
/// with `tml_string_free`.
///
/// # Safety
/// `registry` is a live handle; `out_json` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_names_json(
    registry: *const TmlRegistry,
    out_json: *mut *mut c_char,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_json, "out_json")?;
        string_out(serde_json::to_string(&r.names()?)?, out_json, "out_json")
    })
}

/// The promoted version of `name` into `*out_version`, 0 if none was promoted.
///
/// # Safety
/// `registry` is a live handle; `name` is NUL-terminated; `out_version` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_current(
    registry: *const TmlRegistry,
    name: *const c_char,
    out_version: *mut u64,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_version, "out_version")?;
        let current = r.current(str_arg(name, "name")?)?;
        *out(out_version, "out_version")? = current.unwrap_or(0);
        Ok(())
    })
}

/// Makes `version` of `name` the live one (after verifying it loads).
///
/// # Safety
/// `registry` is a live handle; `name` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_promote(
    registry: *const TmlRegistry,
    name: *const c_char,
    version: u64,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        r.promote(str_arg(name, "name")?, version)
    })
}

/// Returns `name`'s pointer to the previously promoted version, written to
/// `*out_version`.
///
/// # Safety
/// `registry` is a live handle; `name` is NUL-terminated; `out_version` is writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_rollback(
    registry: *const TmlRegistry,
    name: *const c_char,
    out_version: *mut u64,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        out(out_version, "out_version")?;
        let version = r.rollback(str_arg(name, "name")?)?;
        *out(out_version, "out_version")? = version;
        Ok(())
    })
}

/// Deletes all but the newest `keep` (>= 1) versions of `name`, never the promoted one,
/// and writes how many were deleted to `*out_removed` (may be NULL).
///
/// # Safety
/// `registry` is a live handle; `name` is NUL-terminated; `out_removed` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tml_registry_retain(
    registry: *const TmlRegistry,
    name: *const c_char,
    keep: usize,
    out_removed: *mut usize,
) -> TmlStatus {
    guard(|| {
        let r = &borrow(registry, "registry")?.registry;
        let removed = r.retain(str_arg(name, "name")?, keep)?;
        if !out_removed.is_null() {
            *out(out_removed, "out_removed")? = removed.len();
        }
        Ok(())
    })
}
