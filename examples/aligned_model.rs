//! Prints a struct's layout as declared and as `#[kalam::aligned_model]` reordered it.
//!
//! ```sh
//! cargo run --example aligned_model
//! ```

use kalam::AlignedModel;

/// A job record, declared in the order that came to mind.
#[kalam::aligned_model]
#[repr(C)]
#[derive(Debug)]
struct Job {
    flag: bool,
    count: i64,
    timestamp: i64,
    id: u32,
}

fn main() {
    if let Some(declared) = Job::LAYOUT.declared {
        println!("{declared}\n");
    }
    println!("{}", Job::LAYOUT);
    let job = Job {
        flag: true,
        count: 1,
        timestamp: 2,
        id: 3,
    };
    println!("\n{job:?}");
}
