use kalam::KalamTable;

// `via` on an optional field converts the inner type: here `String`, which has no
// conversion to `u64`. The error names it, on the field.
#[derive(KalamTable)]
struct Group {
    #[column(primary_key)]
    id: u32,
    #[column(via = u64)]
    leader: Option<String>,
}

fn main() {}
