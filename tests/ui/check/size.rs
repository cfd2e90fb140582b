use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C)]
#[layout(size = 16)]
struct WireHeader {
    magic: u32,
    version: u16,
    flags: u16,
    length: u32,
    checksum: u32,
    extra: u8,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(size = 16)]
struct Short {
    magic: u32,
    length: u32,
}

fn main() {}
