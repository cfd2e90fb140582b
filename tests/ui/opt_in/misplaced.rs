use kalam::opt_in_feature;

#[opt_in_feature("audit")]
struct Audit;

trait Sink {
    #[opt_in_feature("audit")]
    fn write(&self);
}

fn main() {
    let _ = Audit;
}
