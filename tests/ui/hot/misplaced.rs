// The error names the right places, and the item is still emitted: `main` uses both.
#[kalam::hot]
struct Config {
    verbose: bool,
}

#[kalam::hot]
const LIMIT: u32 = 8;

fn main() {
    let _ = Config { verbose: LIMIT > 1 };
}
