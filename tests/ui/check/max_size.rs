use kalam::AlignedModel;

// Reordering is enough: the error gives the order.
#[derive(AlignedModel)]
#[repr(C)]
#[layout(max_size = 24, allow_waste)]
struct Job {
    flag: bool,
    count: i64,
    timestamp: i64,
    id: u32,
}

// Reordering is not enough: the error names the largest field.
#[derive(AlignedModel)]
#[layout(max_size = 64)]
struct Row {
    id: u64,
    name: String,
    payload: [u8; 100],
}

fn main() {}
