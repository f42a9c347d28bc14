//! Any text given to the rule-file parser gives a rule set or an error naming
//! `origin:line:col`, never a panic; the rules it accepts can be matched and
//! fingerprinted, and an error never quotes a huge pattern back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartcache::ignore::{RuleError, RuleSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RuleSet::parse(text, "fuzz.rules") {
        Ok(set) => {
            assert!(smartcache::hash::is_hex128(&set.fingerprint()));
            for class in ["Blur", "Root", "OFXuk.co.thefoundry.keylight.keylight_v201", ""] {
                let _ = set.node_rule(class);
                for knob in ["xpos", "rgba.red", "Screen Matte", ""] {
                    let _ = set.knob_rule(class, knob);
                }
            }
        }
        Err(RuleError::Syntax { line, col, message, .. }) => {
            assert!(line >= 1 && col >= 1, "{message}");
            assert!(message.len() < 400, "{message}");
        }
        Err(e) => panic!("parsing text cannot fail to read a file: {e}"),
    }
});
