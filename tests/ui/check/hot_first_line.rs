use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C)]
#[layout(hot_first_line)]
struct Session {
    name: [u8; 64],
    #[hot]
    last_seen: u64,
    #[hot]
    user_id: u64,
}

// With a 32-byte line and repr(Rust), the advice is to take control of the order.
#[derive(AlignedModel)]
#[layout(hot_first_line, cache_line = 32)]
struct Cursor {
    buffer: [u64; 8],
    #[hot]
    position: u32,
}

fn main() {}
