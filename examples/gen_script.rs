//! Generate a synthetic Nuke script for benchmarks: a comp of N nodes (Reads-free, so
//! nothing touches the disk), a given fraction of knobs animated, frames 1001..1000+F.
//!
//! ```sh
//! cargo run --release --example gen_script -- --nodes 5000 --animated 0.1 --frames 1000 > big.nk
//! ```
//! Deterministic: the same arguments give the same bytes (a fixed-seed xorshift).

use std::fmt::Write as _;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let mut nodes = 5000usize;
    let mut animated = 0.1f64;
    let mut frames = 1000i64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("a value after the flag");
        match a.as_str() {
            "--nodes" => nodes = val().parse().expect("--nodes N"),
            "--animated" => animated = val().parse().expect("--animated FRACTION"),
            "--frames" => frames = val().parse().expect("--frames N"),
            _ => {
                eprintln!("usage: gen_script [--nodes N] [--animated FRACTION] [--frames N]");
                std::process::exit(2);
            }
        }
    }
    print!("{}", generate(nodes, animated, frames));
}

/// The script text.
pub fn generate(nodes: usize, animated: f64, frames: i64) -> String {
    let (first, last) = (1001i64, 1000 + frames);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut s = String::with_capacity(nodes * 200);
    let _ = writeln!(
        s,
        "#! nuke -nx\nversion 15.1 v1\nRoot {{\n inputs 0\n name /bench/synthetic.nk\n first_frame {first}\n last_frame {last}\n fps 24\n format \"1920 1080 0 0 1920 1080 1 HD_1080\"\n}}"
    );
    let value = |rng: &mut Rng, base: f64| -> String {
        if rng.unit() < animated {
            let mut c = String::from("{curve");
            let keys = 2 + (rng.next() % 6) as i64;
            for k in 0..keys {
                let f = first + (last - first) * k / (keys - 1);
                let _ = write!(c, " x{f} {:.3}", base + rng.unit());
            }
            c.push('}');
            format!("{{{c}}}")
        } else {
            format!("{:.3}", base + rng.unit())
        }
    };
    let _ = writeln!(
        s,
        "Constant {{\n inputs 0\n color {{0.18 0.18 0.18 1}}\n name Source\n xpos 0\n ypos 0\n}}"
    );
    let mut saved = 0usize;
    for i in 1..nodes {
        let y = i * 40;
        if i % 10 == 0 && saved > 0 {
            // A merge with a branch saved earlier.
            let _ = writeln!(s, "push $N{}", saved - 1);
            let _ = writeln!(
                s,
                "Merge2 {{\n inputs 2\n operation over\n mix {}\n name Merge{i}\n xpos 0\n ypos {y}\n}}",
                value(&mut rng, 0.5)
            );
        } else {
            match i % 3 {
                0 => {
                    let _ = writeln!(
                        s,
                        "Grade {{\n white {}\n black {}\n gamma {}\n multiply {}\n name Grade{i}\n xpos 0\n ypos {y}\n}}",
                        value(&mut rng, 1.0),
                        value(&mut rng, 0.0),
                        value(&mut rng, 1.0),
                        value(&mut rng, 1.0)
                    );
                }
                1 => {
                    let _ = writeln!(
                        s,
                        "Blur {{\n size {}\n filter gaussian\n name Blur{i}\n label \"blur {i}\"\n xpos 0\n ypos {y}\n}}",
                        value(&mut rng, 2.0)
                    );
                }
                _ => {
                    let _ = writeln!(
                        s,
                        "Transform {{\n translate {{{} {}}}\n rotate {}\n scale {}\n center {{960 540}}\n name Transform{i}\n xpos 0\n ypos {y}\n}}",
                        value(&mut rng, 0.0),
                        value(&mut rng, 0.0),
                        value(&mut rng, 0.0),
                        value(&mut rng, 1.0)
                    );
                }
            }
        }
        if i % 7 == 0 {
            let _ = writeln!(s, "set N{saved} [stack 0]");
            saved += 1;
        }
    }
    let _ = writeln!(
        s,
        "Write {{\n file out.%04d.exr\n name Write1\n xpos 0\n ypos {}\n}}",
        nodes * 40
    );
    s
}
