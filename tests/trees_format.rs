//! The model file envelope: round trips (bit-exact floats, metadata), every way a file can
//! be damaged or foreign, tree structure validation, and atomic save/load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tenantml::trees::format::{
    crc32c, decode, encode, load, peek, save, validate_trees, ModelMetadata, Validate,
    FORMAT_VERSION, MAGIC,
};
use tenantml::trees::tree::{Node, Tree};
use tenantml::Error;

mod common;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Toy {
    name: String,
    values: Vec<f64>,
    counts: Vec<u32>,
}

impl Validate for Toy {
    fn validate(&self) -> tenantml::Result<()> {
        if self.counts.len() > 1000 {
            return Err(Error::BadModelFile("too many counts".into()));
        }
        Ok(())
    }
}

/// A one-byte model (postcard writes a newtype as its content).
#[derive(Debug, Serialize, Deserialize)]
struct Byte(u8);

impl Validate for Byte {
    fn validate(&self) -> tenantml::Result<()> {
        Ok(())
    }
}

fn toy() -> Toy {
    Toy {
        name: "toy".into(),
        values: vec![
            0.0,
            -0.0,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::from_bits(0x7ff8_dead_beef_0001), // a NaN with a payload
            f64::MIN_POSITIVE / 4.0,               // subnormal
            f64::MAX,
            f64::EPSILON,
        ],
        counts: vec![0, 1, u32::MAX],
    }
}

fn meta() -> ModelMetadata {
    ModelMetadata {
        name: Some("fraud-tenant-42".into()),
        version: Some(7),
        created_at: Some("2026-11-27T03:00:00Z".into()),
        feature_names: vec!["amount".into(), "hour".into()],
        training_metrics: BTreeMap::from([("auc".into(), 0.91), ("logloss".into(), 0.23)]),
        extra: BTreeMap::from([(
            "drift_reference".into(),
            serde_json::json!({"amount": {"mean": 12.5, "bins": [1, 2, 3]}}),
        )]),
        ..Default::default()
    }
}

fn small_file() -> Vec<u8> {
    let small = Toy {
        name: "s".into(),
        values: vec![1.0, f64::NAN],
        counts: vec![3],
    };
    encode("toy", &small, &ModelMetadata::default()).unwrap()
}

fn bad_model(r: tenantml::Result<(Toy, ModelMetadata)>) -> String {
    match r {
        Err(Error::BadModelFile(msg)) => msg,
        Err(other) => panic!("expected BadModelFile, got {other:?}"),
        Ok(_) => panic!("expected BadModelFile, got a model"),
    }
}

/// Re-stamps the checksum so a test reaches the checks after it.
fn fix_checksum(bytes: &mut [u8]) {
    let mut covered = bytes[..32].to_vec();
    covered.extend_from_slice(&bytes[36..]);
    let crc = crc32c(&covered);
    bytes[32..36].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn crc32c_known_answers() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b""), 0);
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xff, and ascending.
    assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    let ascending: Vec<u8> = (0..32).collect();
    assert_eq!(crc32c(&ascending), 0x46DD_794E);
}

#[test]
fn round_trip_keeps_every_float_bit_and_the_metadata() {
    let bytes = encode("toy", &toy(), &meta()).unwrap();
    assert_eq!(&bytes[..8], &MAGIC);
    let (back, m): (Toy, _) = decode("toy", &bytes).unwrap();
    assert_eq!(back.name, "toy");
    assert_eq!(back.counts, toy().counts);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.values), bits(&toy().values));
    assert_eq!(m.library_version, tenantml::VERSION);
    let mut expected = meta();
    expected.library_version = tenantml::VERSION.into();
    assert_eq!(m, expected);
}

#[test]
fn encode_stamps_the_library_version() {
    let m = ModelMetadata {
        library_version: "0.0.0-forged".into(),
        ..Default::default()
    };
    let (_, back): (Toy, _) = decode("toy", &encode("toy", &toy(), &m).unwrap()).unwrap();
    assert_eq!(back.library_version, tenantml::VERSION);
}

#[test]
fn peek_reads_the_envelope_without_the_payload() {
    let bytes = encode("toy", &toy(), &meta()).unwrap();
    let info = peek(&bytes).unwrap();
    assert_eq!(info.kind, "toy");
    assert_eq!(info.format_version, FORMAT_VERSION);
    assert_eq!(info.header_len, 36 + 3);
    assert_eq!(
        info.header_len as u64 + info.payload_len + info.metadata_len,
        bytes.len() as u64
    );
    assert_eq!(info.metadata.name.as_deref(), Some("fraud-tenant-42"));
    assert_eq!(
        info.checksum,
        u32::from_le_bytes(bytes[32..36].try_into().unwrap())
    );
}

#[test]
fn bad_arguments_to_encode() {
    for kind in ["", "has space", "ünï", &"k".repeat(65)] {
        assert!(
            matches!(
                encode(kind, &toy(), &meta()),
                Err(Error::InvalidArgument(_))
            ),
            "kind {kind:?}"
        );
    }
    let mut m = meta();
    m.training_metrics.insert("r2".into(), f64::NAN);
    let err = encode("toy", &toy(), &m).unwrap_err().to_string();
    assert!(err.contains("r2"), "{err}");
}

#[test]
fn foreign_and_newer_files_are_refused_with_clear_messages() {
    let good = small_file();
    assert!(bad_model(decode("toy", &[])).contains("empty"));
    assert!(bad_model(decode("toy", &good[..7])).contains("truncated"));
    assert!(
        bad_model(decode("toy", b"PK\x03\x04 a zip file, not a model"))
            .contains("not a tenantml model file")
    );
    assert!(bad_model(decode("toy", b"TMLMODEX")).contains("not a tenantml model file"));

    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    fix_checksum(&mut newer);
    let msg = bad_model(decode("toy", &newer));
    assert!(
        msg.contains(&format!("newer tenantml (format v{})", FORMAT_VERSION + 1))
            && msg.contains(&format!("up to v{FORMAT_VERSION}")),
        "{msg}"
    );

    let mut flagged = good.clone();
    flagged[10] = 1;
    fix_checksum(&mut flagged);
    assert!(bad_model(decode("toy", &flagged)).contains("flags"));

    let msg = bad_model(decode("tree-model", &good));
    assert!(
        msg.contains("'toy'") && msg.contains("'tree-model'"),
        "{msg}"
    );
}

#[test]
fn every_truncation_is_an_error() {
    let good = small_file();
    for len in 0..good.len() {
        let msg = bad_model(decode("toy", &good[..len]));
        assert!(peek(&good[..len]).is_err());
        if len > 0 {
            assert!(msg.contains("truncated"), "at {len}: {msg}");
        }
        if len >= 36 {
            assert!(msg.contains(&good.len().to_string()), "at {len}: {msg}");
        }
    }
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let good = small_file();
    for byte in 0..good.len() {
        for bit in 0..8 {
            let mut bytes = good.clone();
            bytes[byte] ^= 1 << bit;
            bad_model(decode("toy", &bytes));
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = small_file();
    bytes.extend_from_slice(b"junk");
    assert!(bad_model(decode("toy", &bytes)).contains("4 trailing bytes"));
}

#[test]
fn huge_claimed_lengths_fail_fast() {
    let good = small_file();
    for (at, value) in [(16, u64::MAX), (24, u64::MAX), (16, 1 << 40), (24, 1 << 62)] {
        let mut bytes = good.clone();
        bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        fix_checksum(&mut bytes);
        bad_model(decode("toy", &bytes));
    }
}

/// A well-formed envelope whose payload claims a Vec of 2^60 floats: postcard must run
/// out of input, and serde must not preallocate anything like that.
#[test]
fn payload_claiming_a_gigantic_vec_fails_cleanly() {
    let mut payload = Vec::new();
    payload.push(1u8); // name length 1
    payload.push(b'x');
    let mut n: u64 = 1 << 60;
    while n >= 0x80 {
        payload.push((n as u8) | 0x80);
        n >>= 7;
    }
    payload.push(n as u8);
    payload.extend_from_slice(&1.0f64.to_le_bytes());

    let meta = b"{}";
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&0u16.to_le_bytes());
    bytes.extend_from_slice(&39u16.to_le_bytes());
    bytes.extend_from_slice(&3u16.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(b"toy");
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(meta);
    fix_checksum(&mut bytes);

    assert!(peek(&bytes).is_ok(), "the envelope itself is sound");
    let start = std::time::Instant::now();
    let msg = bad_model(decode("toy", &bytes));
    assert!(msg.contains("payload"), "{msg}");
    // Not a timing assertion on speed, a guard against a multi-gigabyte fill loop.
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn payload_bytes_left_over_or_missing_are_refused() {
    // A u8 payload read as a Toy runs out; a Toy payload read as a u8 leaves bytes over.
    let byte = encode("toy", &5u8, &ModelMetadata::default()).unwrap();
    assert!(bad_model(decode("toy", &byte)).contains("payload"));

    let err = decode::<Byte>("toy", &small_file())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unread bytes"), "{err}");
}

#[test]
fn validate_runs_after_decoding() {
    let big = Toy {
        name: "big".into(),
        values: vec![],
        counts: vec![0; 1001],
    };
    let bytes = encode("toy", &big, &ModelMetadata::default()).unwrap();
    assert!(bad_model(decode("toy", &bytes)).contains("too many counts"));
}

#[test]
fn metadata_must_be_json() {
    let mut bytes = small_file();
    let n = bytes.len();
    bytes[n - 2..].copy_from_slice(b"@@");
    fix_checksum(&mut bytes);
    assert!(bad_model(decode("toy", &bytes)).contains("metadata"));
    assert!(peek(&bytes).is_err());
}

#[test]
fn metadata_from_an_older_writer_with_fewer_fields_loads() {
    let good = small_file();
    let info = peek(&good).unwrap();
    let mut bytes = good[..info.header_len + info.payload_len as usize].to_vec();
    bytes.extend_from_slice(br#"{"name":"old","future_field":1}"#);
    let meta_len = (bytes.len() - info.header_len - info.payload_len as usize) as u64;
    bytes[24..32].copy_from_slice(&meta_len.to_le_bytes());
    fix_checksum(&mut bytes);
    let (_, m): (Toy, _) = decode("toy", &bytes).unwrap();
    assert_eq!(m.name.as_deref(), Some("old"));
    assert!(m.feature_names.is_empty());
}

#[test]
fn save_and_load_round_trip_atomically() {
    let dir = common::ScratchDir::new("format");
    let path = dir.path().join("model.tml");
    let first = encode("toy", &toy(), &meta()).unwrap();
    save(&path, &first).unwrap();
    assert_eq!(load(&path).unwrap(), first);

    let second = small_file();
    save(&path, &second).unwrap();
    assert_eq!(load(&path).unwrap(), second);
    let (t, _): (Toy, _) = decode("toy", &load(&path).unwrap()).unwrap();
    assert_eq!(t.name, "s");

    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["model.tml".to_string()], "no temp files left");

    let missing = dir.path().join("nope").join("model.tml");
    assert!(matches!(save(&missing, &first), Err(Error::Io { .. })));
    assert!(matches!(load(&missing), Err(Error::Io { .. })));
}

#[test]
fn load_refuses_files_over_the_limit() {
    let dir = common::ScratchDir::new("format-big");
    let path = dir.path().join("huge.tml");
    let f = std::fs::File::create(&path).unwrap();
    // Sparse: no disk space is used.
    f.set_len(tenantml::trees::format::MAX_FILE_BYTES + 1)
        .unwrap();
    let msg = match load(&path) {
        Err(Error::BadModelFile(msg)) => msg,
        other => panic!("expected BadModelFile, got {other:?}"),
    };
    assert!(msg.contains("limit"), "{msg}");
}

fn leaf(value: f64) -> Node {
    Node {
        feature: 0,
        threshold: 0.0,
        bin: 0,
        default_left: false,
        left: 0,
        right: 0,
        value,
        gain: 0.0,
        cover: 1.0,
    }
}

fn split(feature: u32, left: u32, right: u32) -> Node {
    Node {
        feature,
        threshold: 0.5,
        bin: 1,
        left,
        right,
        gain: 1.0,
        cover: 2.0,
        ..leaf(0.0)
    }
}

/// Root split on feature 0, its right child split on feature 2.
fn good_tree() -> Tree {
    Tree {
        nodes: vec![
            split(0, 1, 2),
            leaf(-1.0),
            split(2, 3, 4),
            leaf(0.5),
            leaf(1.0),
        ],
    }
}

#[test]
fn sound_trees_pass_validation() {
    validate_trees(
        &[
            good_tree(),
            Tree {
                nodes: vec![leaf(3.0)],
            },
        ],
        3,
    )
    .unwrap();
    validate_trees(&[], 0).unwrap();
}

#[test]
fn corrupted_trees_are_refused() {
    type Corrupt = fn(&mut Tree);
    let cases: Vec<(&str, Corrupt)> = vec![
        ("no nodes", |t| t.nodes.clear()),
        ("feature 3", |t| t.nodes[2].feature = 3),
        ("child 5", |t| t.nodes[2].right = 5),
        ("a leaf (left 0) with right child 4", |t| {
            t.nodes[2].left = 0
        }),
        ("no right child", |t| t.nodes[0].right = 0),
        ("a leaf (left 0) with right child 2", |t| {
            t.nodes[1].right = 2
        }),
        ("second parent", |t| t.nodes[2].left = 4),
        ("child 1 is not after", |t| t.nodes[2].left = 1),
        ("threshold is NaN", |t| t.nodes[0].threshold = f64::NAN),
        ("value inf", |t| t.nodes[4].value = f64::INFINITY),
        ("value NaN", |t| t.nodes[0].value = f64::NAN),
        ("cover -1", |t| t.nodes[3].cover = -1.0),
        ("cover NaN", |t| t.nodes[3].cover = f64::NAN),
        ("node 3 has no parent", |t| t.nodes[2] = leaf(0.0)),
    ];
    for (expect, corrupt) in cases {
        let mut t = good_tree();
        corrupt(&mut t);
        match validate_trees(&[good_tree(), t], 3) {
            Err(Error::BadModelFile(msg)) => {
                assert!(msg.contains(expect), "expected {expect:?} in {msg:?}");
                if expect != "no nodes" {
                    assert!(msg.starts_with("tree 1"), "{msg}");
                }
            }
            other => panic!("{expect}: expected BadModelFile, got {other:?}"),
        }
    }
}

/// Trees travel through the envelope: a model type wraps them and validates on decode.
#[test]
fn trees_through_the_envelope() {
    #[derive(Serialize, Deserialize)]
    struct Forest {
        n_features: usize,
        trees: Vec<Tree>,
    }
    impl Validate for Forest {
        fn validate(&self) -> tenantml::Result<()> {
            validate_trees(&self.trees, self.n_features)
        }
    }
    let ok = Forest {
        n_features: 3,
        trees: vec![good_tree()],
    };
    let bytes = encode("forest", &ok, &ModelMetadata::default()).unwrap();
    let (back, _): (Forest, _) = decode("forest", &bytes).unwrap();
    assert_eq!(back.trees, ok.trees);
    assert_eq!(back.trees[0].predict_row(&[1.0, 0.0, 0.0]), 0.5);

    let narrow = Forest {
        n_features: 2,
        trees: vec![good_tree()],
    };
    let bytes = encode("forest", &narrow, &ModelMetadata::default()).unwrap();
    assert!(matches!(
        decode::<Forest>("forest", &bytes),
        Err(Error::BadModelFile(m)) if m.contains("feature 2")
    ));
}
