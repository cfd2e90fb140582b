use kalam::opt_in_feature;

// `default` returns Default::default(), which Result does not have.
#[opt_in_feature("audit", default)]
fn count() -> Result<u64, String> {
    Ok(1)
}

fn main() {
    let _ = count();
}
