//! Replays the committed fuzz corpus (`net/fuzz/corpus/frame_decode`) through the frame
//! decoder in an ordinary test run: no input panics, errors name their fault, and decoded
//! frames re-encode to the bytes they came from.

use basalt_net::frame::{decode, encode_with_version};

#[test]
fn the_fuzz_corpus_decodes_or_fails_clearly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frame_decode");
    let mut inputs = 0;
    let mut decoded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        inputs += 1;
        match decode(&data) {
            Ok((frame, used)) => {
                decoded += 1;
                let again = encode_with_version(&frame.message, frame.version).unwrap();
                assert_eq!(&again[..], &data[..used], "{}", path.display());
            }
            Err(e) => assert!(!e.to_string().is_empty(), "{}", path.display()),
        }
    }
    // The corpus holds one valid frame of each kind and the malformed cases.
    assert!(inputs >= 17, "only {inputs} corpus inputs in {}", dir.display());
    assert!(decoded >= 9, "only {decoded} of {inputs} corpus inputs decoded");
}
