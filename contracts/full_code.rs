//! Build script of the `*_full` packages: they compile their contract's own source with
//! `cfg(full_code)`, so every message runs its body there instead of forwarding to the
//! full code (see `medconsent_shared::split`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(full_code)");
    println!("cargo::rustc-cfg=full_code");
}
