use kalam::AlignedModel;

// On a derive, #[layout(align = N)] asserts the field's alignment.
#[derive(AlignedModel)]
struct Entry {
    #[layout(align = 4)]
    offset: u64,
    len: u32,
}

fn main() {}
