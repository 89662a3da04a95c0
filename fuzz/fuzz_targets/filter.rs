//! `$filter` / `$orderby` text: parsing never panics, a refusal points inside the text, and what
//! parses prints to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match backstore_odata::parse_filter(text) {
        Ok(expr) => {
            let printed = expr.to_string();
            assert_eq!(backstore_odata::parse_filter(&printed).as_ref(), Ok(&expr), "{printed}");
        }
        Err(e) => assert!(e.position <= text.chars().count()),
    }
    let _ = backstore_odata::parse_orderby(text);
});
