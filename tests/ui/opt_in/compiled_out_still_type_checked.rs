// With its cargo feature off, the body is compiled out, but still type-checked.
use kalam::opt_in_feature;

#[opt_in_feature("audit", feature = "never-enabled")]
fn record(id: u64) {
    let name: String = id;
    drop(name);
}

fn main() {
    record(1);
}
