//! The C ABI. Rules (see DESIGN.md): every symbol starts with `tml_`, every type with `Tml`;
//! fallible functions return [`TmlStatus`] and write results through out-pointers (after the
//! inputs); `tml_last_error()` gives the calling thread's last message; no panic crosses the
//! boundary; handles are opaque, made by `*_new`/`*_open_*` and released by null-safe
//! `*_free`; strings the library returns are freed with `tml_string_free`.
//!
//! Each file here is a thin translation of one capability: argument checks and conversions,
//! never logic a Rust caller would not also get.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result};

pub mod breaker;
pub mod churn;
pub mod drift;
pub mod drift_stream;
pub mod forecast;
pub mod fraud;
pub mod model;
pub mod registry;
pub mod telemetry;

/// Version of the C ABI. The PHP loader refuses a library whose `tml_abi_version()`
/// differs from the one it was written for. Bump on any incompatible header change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlAbi {
    /// The current ABI version (`TML_ABI_VERSION` in C).
    Version = 2,
}

/// Status of every fallible call: 0 is success, other codes are stable and never reused
/// (bands: 1-99 general, 100-199 models, 200-299 circuit breaker, 900+ internal).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TmlStatus {
    /// Success.
    Ok = 0,
    /// An argument is outside its documented domain.
    InvalidArgument = 1,
    /// A required pointer was NULL.
    NullPointer = 2,
    /// JSON or text could not be parsed.
    ParseError = 3,
    /// An operating-system call failed.
    Io = 4,
    /// A model file is truncated, corrupted, foreign or incompatible.
    BadModelFile = 100,
    /// A model was used before it was fitted.
    NotFitted = 101,
    /// A model registry's sidecar or promotion pointer is damaged.
    RegistryCorrupt = 102,
    /// A model's feature schema is not the expected one.
    SchemaMismatch = 103,
    /// The circuit breaker refused the call.
    CircuitOpen = 200,
    /// The breaker exists in the shared store with other settings.
    ConfigMismatch = 201,
    /// The shared breaker store has no free slot.
    StoreFull = 202,
    /// The shared breaker store file is foreign or damaged.
    StoreCorrupt = 203,
    /// A panic was caught at the boundary (a bug in tenantml).
    InternalPanic = 900,
}

impl From<&Error> for TmlStatus {
    fn from(e: &Error) -> Self {
        match e {
            Error::InvalidArgument(_) => TmlStatus::InvalidArgument,
            Error::NullPointer(_) => TmlStatus::NullPointer,
            Error::Parse(_) => TmlStatus::ParseError,
            Error::Io { .. } => TmlStatus::Io,
            Error::BadModelFile(_) => TmlStatus::BadModelFile,
            Error::NotFitted(_) => TmlStatus::NotFitted,
            Error::RegistryCorrupt(_) => TmlStatus::RegistryCorrupt,
            Error::SchemaMismatch(_) => TmlStatus::SchemaMismatch,
            Error::CircuitOpen { .. } => TmlStatus::CircuitOpen,
            Error::ConfigMismatch { .. } => TmlStatus::ConfigMismatch,
            Error::StoreFull { .. } => TmlStatus::StoreFull,
            Error::StoreCorrupt(_) => TmlStatus::StoreCorrupt,
            Error::InternalPanic(_) => TmlStatus::InternalPanic,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

pub(crate) fn set_last_error(message: String) {
    let message = CString::new(message.replace('\0', "\\0")).expect("NULs were replaced");
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(message));
}

/// Runs an exported function's body: errors become a status plus the thread's last error,
/// and a panic becomes `TML_STATUS_INTERNAL_PANIC` instead of unwinding into C.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> TmlStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => TmlStatus::Ok,
        Ok(Err(e)) => fail(&e),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            fail(&Error::InternalPanic(message))
        }
    }
}

/// Records `e` as the thread's last error and returns its status.
fn fail(e: &Error) -> TmlStatus {
    set_last_error(e.to_string());
    TmlStatus::from(e)
}

/// Runs a `*_free` body; a panic there is swallowed (there is no status to report it with).
pub(crate) fn guard_free(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Borrows a handle or argument that must not be NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` for the duration of the borrow.
pub(crate) unsafe fn borrow<'a, T>(ptr: *const T, what: &'static str) -> Result<&'a T> {
    ptr.as_ref().ok_or(Error::NullPointer(what))
}

/// Checks an out-pointer.
pub(crate) fn out<'a, T>(ptr: *mut T, what: &'static str) -> Result<&'a mut T> {
    // SAFETY: non-NULL out-pointers must point to writable memory for a T (API contract).
    unsafe { ptr.as_mut() }.ok_or(Error::NullPointer(what))
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &'static str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::NullPointer(what));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|e| Error::InvalidArgument(format!("{what} is not valid UTF-8: {e}")))
}

/// Like [`str_arg`], but NULL means "not given".
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn optional_str_arg<'a>(
    ptr: *const c_char,
    what: &'static str,
) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        str_arg(ptr, what).map(Some)
    }
}

/// Hands a string to C; the caller frees it with `tml_string_free`.
pub(crate) fn string_out(
    value: String,
    out_ptr: *mut *mut c_char,
    what: &'static str,
) -> Result<()> {
    let slot = out(out_ptr, what)?;
    let value =
        CString::new(value).map_err(|_| Error::InternalPanic("string with interior NUL".into()))?;
    *slot = value.into_raw();
    Ok(())
}

/// Hands `make()`'s bytes to C (the output slot is checked first, so a NULL `out_ptr` costs
/// no work); the caller frees them with `tml_bytes_free(data, len)`.
pub(crate) fn bytes_out(
    out_ptr: *mut model::TmlBytes,
    what: &'static str,
    make: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<()> {
    let slot = out(out_ptr, what)?;
    let bytes = make()?.into_boxed_slice();
    let len = bytes.len();
    *slot = model::TmlBytes {
        data: Box::into_raw(bytes) as *mut u8,
        len,
    };
    Ok(())
}

/// Moves a Rust value into a new opaque handle.
pub(crate) fn handle_out<T>(value: T, out_ptr: *mut *mut T, what: &'static str) -> Result<()> {
    let slot = out(out_ptr, what)?;
    *slot = Box::into_raw(Box::new(value));
    Ok(())
}

/// Releases a handle made by [`handle_out`]. NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or came from `handle_out::<T>` and is not used afterwards.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        guard_free(|| drop(Box::from_raw(ptr)));
    }
}

/// The ABI version this library implements; compare with `TML_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn tml_abi_version() -> u32 {
    TmlAbi::Version as u32
}

/// The library version (e.g. "0.1.0"); a static string, never freed.
#[no_mangle]
pub extern "C" fn tml_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version has no NUL"),
        };
    VERSION.as_ptr()
}

/// The message of the last failed call on this thread, or NULL if none failed yet. The
/// string belongs to the library and stays valid until the next failing call on this
/// thread; do not free it.
#[no_mangle]
pub extern "C" fn tml_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| {
            slot.borrow()
                .as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr())
        })
        .unwrap_or(std::ptr::null())
}

/// Frees a string returned through a `char **` out-parameter. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string this library returned, not freed before.
#[no_mangle]
pub unsafe extern "C" fn tml_string_free(s: *mut c_char) {
    if !s.is_null() {
        guard_free(|| drop(CString::from_raw(s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_error_codes() {
        let errors = [
            Error::InvalidArgument(String::new()),
            Error::NullPointer("x"),
            Error::Parse(String::new()),
            Error::io("x", std::io::Error::other("y")),
            Error::BadModelFile(String::new()),
            Error::NotFitted(String::new()),
            Error::RegistryCorrupt(String::new()),
            Error::SchemaMismatch(String::new()),
            Error::CircuitOpen {
                name: String::new(),
                retry_after: None,
            },
            Error::ConfigMismatch {
                name: String::new(),
                stored: 1,
                requested: 2,
            },
            Error::StoreFull { capacity: 1 },
            Error::StoreCorrupt(String::new()),
            Error::InternalPanic(String::new()),
        ];
        for e in &errors {
            assert_eq!(TmlStatus::from(e) as u32, e.code(), "{e:?}");
        }
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard(|| panic!("boom {}", 7));
        assert_eq!(status, TmlStatus::InternalPanic);
        let msg = unsafe { CStr::from_ptr(tml_last_error()) }
            .to_str()
            .unwrap();
        assert_eq!(msg, "internal error (panic): boom 7");
    }

    #[test]
    fn version_strings() {
        assert_eq!(tml_abi_version(), 2);
        assert_eq!(
            unsafe { CStr::from_ptr(tml_version()) }.to_str().unwrap(),
            crate::VERSION
        );
    }
}
