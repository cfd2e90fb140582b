use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(max_size = 16)]
enum Value {
    Null,
    Int(i64),
    Text(String),
}

fn main() {}
