// The Qdrant integration tests (tests/it/qdrant.rs) need a server: with `QDRANT_URL` set they are
// built to run (`cfg(qdrant)`), without it they are built `#[ignore]`d, so a run reports them as
// ignored instead of passing without running.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=QDRANT_URL");
    println!("cargo::rustc-check-cfg=cfg(qdrant)");
    if std::env::var("QDRANT_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo::rustc-cfg=qdrant");
    }
}
