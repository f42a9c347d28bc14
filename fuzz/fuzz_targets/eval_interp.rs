//! Any text, evaluated as a Nuke expression and as a Tcl string with a scope whose
//! answers come from the input, gives a value or an Unknown, never a panic, a hang or
//! a stack overflow; a value is finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartcache::eval::interp::{eval_expression_num, eval_tcl, Scope};

/// Answers derived from the input's first bytes: numbers, texts that contain Tcl
/// syntax themselves, or nothing.
struct FromBytes<'a> {
    seed: &'a [u8],
}

impl FromBytes<'_> {
    fn pick(&self, key: &str) -> usize {
        let mut h: usize = 5381;
        for b in key.bytes().chain(self.seed.iter().copied()) {
            h = h.wrapping_mul(33) ^ usize::from(b);
        }
        h
    }

    fn text(&self, key: &str) -> Option<String> {
        const TEXTS: &[&str] = &[
            "1",
            "0",
            "1.5",
            "0x10",
            "a b",
            "",
            "[value x]",
            "$gui",
            "{",
            "/a/b.c",
        ];
        let h = self.pick(key);
        (!h.is_multiple_of(7)).then(|| TEXTS[h % TEXTS.len()].to_owned())
    }
}

impl Scope for FromBytes<'_> {
    fn number(&mut self, path: &str, frame: f64) -> Option<f64> {
        let h = self.pick(path) ^ frame.to_bits() as usize;
        (!h.is_multiple_of(5)).then(|| (h % 1000) as f64 / 4.0 - 100.0)
    }
    fn text(&mut self, path: &str, _: f64) -> Option<String> {
        FromBytes::text(self, path)
    }
    fn env(&mut self, name: &str) -> Option<String> {
        FromBytes::text(self, name)
    }
    fn var(&mut self, name: &str) -> Option<String> {
        FromBytes::text(self, name)
    }
    fn topnode(&mut self, node: Option<&str>) -> Option<String> {
        FromBytes::text(self, node.unwrap_or("topnode"))
    }
    fn exists(&mut self, path: &str) -> Option<bool> {
        let h = self.pick(path);
        (!h.is_multiple_of(3)).then_some(h.is_multiple_of(2))
    }
}

fuzz_target!(|data: &[u8]| {
    let (seed, text) = data.split_at(data.len().min(4));
    let text = String::from_utf8_lossy(text);
    let frame = match seed.first() {
        Some(b) if b.is_multiple_of(4) => f64::from(*b) + 0.5,
        Some(b) => f64::from(*b) + 1000.0,
        None => 1.0,
    };
    let mut scope = FromBytes { seed };
    if let Ok(n) = eval_expression_num(&text, frame, &mut scope) {
        assert!(n.value.is_finite());
    }
    let _ = eval_tcl(&text, frame, &mut scope);
});
