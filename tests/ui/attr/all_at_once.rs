// Every mistake in one input is reported in one pass, and the stub impl means the use
// of `LAYOUT` in main adds no error of its own.
use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_sise = 64, optimal = 1, size = "8", cache_line = 3)]
struct Many {
    #[hot(always)]
    a: u64,
    #[layout]
    b: u8,
}

fn main() {
    let _ = Many::LAYOUT.size;
}
