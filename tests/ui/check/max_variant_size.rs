use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_variant_size = 32)]
enum Message {
    Ping,
    Text(String),
    Blob([u8; 1024]),
}

fn main() {}
