use kalam::AlignedModel;

#[kalam::hot(fast)]
fn scan() {}

struct Cursor;

#[kalam::hot]
impl Cursor {
    #[hot(never)]
    fn next(&self) {}
}

#[derive(AlignedModel)]
struct Row {
    #[hot(fast, name = 3)]
    id: u64,
    #[hot = "yes"]
    len: u32,
    #[hot(set, set)]
    flags: u8,
}

fn main() {
    scan();
    Cursor.next();
}
