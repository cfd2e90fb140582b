use kalam::AlignedModel;

#[derive(AlignedModel)]
struct Packet {
    len: u32,
    data: [u8],
}

fn main() {}
