use super::*;

const ROW: Aad<'static> = Aad {
    field: "connectors.credentials",
    owner: "alice",
    row: "row-1",
};

fn vault(spec: &str) -> Vault {
    Vault::from_spec(&Secret::new(spec)).expect("valid spec")
}

fn key(id: &str) -> String {
    Vault::generate_key_entry(id).expect("valid id").expose().to_owned()
}

#[test]
fn sealed_value_opens_to_the_plaintext() {
    let v = vault(&key("k1"));
    let blob = v.seal(ROW, b"token-123");
    assert_eq!(v.open(ROW, &blob).expect("opens"), b"token-123");
    assert!(!blob.windows(9).any(|w| w == b"token-123"), "plaintext visible in blob");
}

#[test]
fn every_seal_uses_a_fresh_nonce() {
    let v = vault(&key("k1"));
    assert_ne!(v.seal(ROW, b"same"), v.seal(ROW, b"same"));
}

#[test]
fn a_blob_moved_to_another_row_owner_or_field_fails() {
    let v = vault(&key("k1"));
    let blob = v.seal(ROW, b"secret");
    for other in [
        Aad { row: "row-2", ..ROW },
        Aad { owner: "bob", ..ROW },
        Aad {
            field: "connectors.headers",
            ..ROW
        },
    ] {
        assert_eq!(v.open(other, &blob), Err(VaultError::Decrypt), "{other:?}");
    }
}

#[test]
fn aad_parts_cannot_be_shifted_between_fields() {
    let v = vault(&key("k1"));
    let blob = v.seal(
        Aad {
            field: "f",
            owner: "ab",
            row: "c",
        },
        b"x",
    );
    assert_eq!(
        v.open(
            Aad {
                field: "f",
                owner: "a",
                row: "bc"
            },
            &blob
        ),
        Err(VaultError::Decrypt)
    );
}

#[test]
fn any_flipped_byte_after_the_header_is_detected() {
    let v = vault(&key("k1"));
    let blob = v.seal(ROW, b"secret value");
    let header = 2 + "k1".len();
    for i in header..blob.len() {
        let mut tampered = blob.clone();
        tampered[i] ^= 0x01;
        assert_eq!(v.open(ROW, &tampered), Err(VaultError::Decrypt), "byte {i}");
    }
}

#[test]
fn a_blob_relabelled_with_another_configured_key_fails() {
    let v = vault(&format!("{},{}", key("k1"), key("k2")));
    let mut blob = v.seal(ROW, b"secret");
    blob[3] = b'2'; // key id "k1" -> "k2"
    assert_eq!(v.open(ROW, &blob), Err(VaultError::Decrypt));
}

#[test]
fn unknown_key_id_is_reported_by_name() {
    let blob = vault(&key("old")).seal(ROW, b"secret");
    assert_eq!(
        vault(&key("new")).open(ROW, &blob),
        Err(VaultError::UnknownKey("old".into()))
    );
}

#[test]
fn malformed_blobs_are_refused() {
    let v = vault(&key("k1"));
    let good = v.seal(ROW, b"secret");
    let mut wrong_format = good.clone();
    wrong_format[0] = 2;
    let mut zero_id = good.clone();
    zero_id[1] = 0;
    let mut bad_utf8 = good.clone();
    bad_utf8[2] = 0xff;
    for blob in [
        vec![],
        vec![FORMAT_V1],
        good[..good.len() - 20].to_vec(),
        wrong_format,
        zero_id,
        bad_utf8,
    ] {
        assert_eq!(v.open(ROW, &blob), Err(VaultError::Malformed), "{blob:?}");
    }
    assert_eq!(key_id_of(&[9, 9]), Err(VaultError::Malformed));
}

#[test]
fn json_round_trip_and_type_mismatch() {
    let v = vault(&key("k1"));
    let blob = v.seal_json(ROW, &vec!["a", "b"]);
    assert_eq!(v.open_json::<Vec<String>>(ROW, &blob).expect("opens"), ["a", "b"]);
    assert_eq!(v.open_json::<u32>(ROW, &blob), Err(VaultError::Json));
}

#[test]
fn rotation_moves_blobs_to_the_first_key_and_is_idempotent() {
    let (old, new) = (key("old"), key("new"));
    let before = vault(&old);
    let blob = before.seal(ROW, b"secret");

    let both = vault(&format!("{new}, {old}"));
    assert_eq!(both.primary_key_id(), "new");
    assert_eq!(both.open(ROW, &blob).expect("old key still opens"), b"secret");
    let moved = both.reseal(ROW, &blob).expect("reseal").expect("changed");
    assert_eq!(key_id_of(&moved), Ok("new"));
    assert_eq!(both.reseal(ROW, &moved), Ok(None), "second pass changes nothing");

    let only_new = vault(&new);
    assert_eq!(only_new.open(ROW, &moved).expect("opens without old key"), b"secret");
}

#[test]
fn reseal_refuses_a_blob_bound_elsewhere() {
    let (old, new) = (key("old"), key("new"));
    let blob = vault(&old).seal(ROW, b"secret");
    let both = vault(&format!("{new},{old}"));
    assert_eq!(
        both.reseal(Aad { row: "other", ..ROW }, &blob),
        Err(VaultError::Decrypt)
    );
}

#[test]
fn bad_key_specs_are_refused_without_echoing_key_material() {
    let good = key("k1");
    let material = good.split_once(':').expect("entry").1.to_owned();
    let cases = [
        String::new(),
        " , ".into(),
        material.clone(),
        format!(":{material}"),
        format!("bad id:{material}"),
        format!("{}:{material}", "x".repeat(33)),
        format!("{good},{good}"),
        "k1:not-base64!".into(),
        format!("k1:{}", &material[..20]),
    ];
    for spec in cases {
        let err = Vault::from_spec(&Secret::new(spec.clone())).expect_err(&spec);
        assert!(matches!(err, VaultError::InvalidKeySpec(_)), "{spec}: {err:?}");
        assert!(!err.to_string().contains(&material), "error echoes key: {err}");
    }
    assert!(Vault::generate_key_entry("no spaces").is_err());
}

#[test]
fn debug_lists_key_ids_only() {
    let spec = key("k1");
    let debug = format!("{:?}", vault(&spec));
    assert_eq!(debug, r#"Vault { key_ids: ["k1"] }"#);
}

#[test]
fn open_json_and_reseal_pass_on_open_errors() {
    let v = vault(&key("k1"));
    let mut blob = v.seal_json(ROW, &"x");
    let last = blob.len() - 1;
    blob[last] ^= 1;
    assert_eq!(v.open_json::<String>(ROW, &blob), Err(VaultError::Decrypt));
    assert_eq!(v.reseal(ROW, &[1]), Err(VaultError::Malformed));
}
