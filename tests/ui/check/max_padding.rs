use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C)]
#[layout(max_padding = 2, allow_waste)]
struct Job {
    flag: bool,
    count: i64,
    timestamp: i64,
    id: u32,
}

fn main() {}
