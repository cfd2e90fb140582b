use kalam::opt_in_feature;

#[opt_in_feature]
fn unnamed() {}

#[opt_in_feature("audit log")]
fn spaced() {}

#[opt_in_feature("audit", defualt)]
fn typo() {}

#[opt_in_feature(audit)]
fn not_a_string() {}

#[opt_in_feature("audit", default, default)]
fn twice() {}

fn main() {
    unnamed();
    spaced();
    typo();
    not_a_string();
    twice();
}
