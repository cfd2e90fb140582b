use kalam::opt_in_feature;

#[opt_in_feature("audit")]
fn count() -> Result<u64, String> {
    Ok(1)
}

#[opt_in_feature("audit")]
fn rows() -> impl Iterator<Item = u8> {
    [1u8].into_iter()
}

#[opt_in_feature("audit")]
const fn constant() {}

fn main() {
    let _ = count();
    let _ = rows();
    constant();
}
