//! Prints the layout report of a few structs and writes one as SVG.
//!
//! ```sh
//! cargo run --example layout_report -- job.svg
//! ```

use kalam::AlignedModel;

/// A job record as it is stored on disk, in declaration order.
#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct Job {
    flag: bool,
    #[hot]
    count: i64,
    timestamp: i64,
    id: u32,
}

/// A session with a large buffer in front of its hot fields.
#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct Session {
    name: [u8; 60],
    #[hot]
    user_id: u64,
    #[hot]
    last_seen: u64,
    active: bool,
}

/// A message whose largest variant sets the size of every value.
#[allow(dead_code, clippy::large_enum_variant)] // the large variant is the point
#[derive(AlignedModel)]
enum Message {
    Ping,
    Text(String),
    Blob([u8; 256]),
}

fn main() -> std::io::Result<()> {
    println!("{}\n", Job::LAYOUT);
    println!("{}\n", Session::LAYOUT);
    println!("{}", Message::LAYOUT);
    if let Some(path) = std::env::args().nth(1) {
        std::fs::write(&path, Session::LAYOUT.to_svg())?;
        println!("\nwrote {path}");
    }
    Ok(())
}
