//! The human-readable reports: the `Display` table and the SVG memory map.

#![allow(dead_code)]

use kalam::AlignedModel;

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

#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct Session {
    name: [u8; 60],
    #[hot]
    user_id: u64,
    active: bool,
}

#[allow(clippy::large_enum_variant)]
#[derive(AlignedModel)]
enum Message {
    Ping,
    Blob([u8; 256]),
}

// The holes are there for `const` assertions: 7 bytes after `flag`, 4 at the tail.
const _: () = assert!(Job::LAYOUT.hole_count() == 2);
const _: () =
    assert!(matches!(Job::LAYOUT.hole(0), Some(h) if h.offset == 1 && h.size == 7 && !h.tail));
const _: () =
    assert!(matches!(Job::LAYOUT.hole(1), Some(h) if h.offset == 28 && h.size == 4 && h.tail));
const _: () = assert!(Job::LAYOUT.hole(2).is_none());

#[test]
fn const_holes_agree_with_the_iterator() {
    for layout in [&Job::LAYOUT, &Session::LAYOUT, &Message::LAYOUT] {
        let holes: Vec<_> = layout.holes().collect();
        assert_eq!(holes.len(), layout.hole_count(), "{}", layout.name);
        for (n, hole) in holes.iter().enumerate() {
            assert_eq!(layout.hole(n).as_ref(), Some(hole));
        }
        let padding: usize = holes.iter().map(|h| h.size).sum();
        assert_eq!(padding, layout.padding(), "{}", layout.name);
    }
}

#[test]
fn struct_table_shows_holes_hot_fields_and_the_best_order() {
    let expected = "\
Job (repr(C), 32 bytes, align 8)
offset  size  align  field           type
     0     1      1  flag            bool
     1     7         (padding)
     8     8      8  count           i64   hot
    16     8      8  timestamp       i64
    24     4      4  id              u32
    28     4         (tail padding)
padding: 11 of 32 bytes (34%); best order: 24 bytes (count, timestamp, id, flag), saves 8";
    assert_eq!(Job::LAYOUT.to_string(), expected);
}

#[test]
fn struct_table_marks_cache_lines() {
    let table = Session::LAYOUT.to_string();
    let lines: Vec<&str> = table.lines().collect();
    let marker = lines
        .iter()
        .position(|l| l.contains("--- cache line 1 ---"));
    let user_id = lines.iter().position(|l| l.contains("user_id"));
    assert!(marker.is_some() && marker < user_id, "{table}");
    assert!(lines[marker.unwrap() - 1].contains("(padding)"), "{table}");
}

#[test]
fn optimal_struct_says_so() {
    #[derive(AlignedModel)]
    #[repr(C)]
    struct Dense {
        a: u64,
        b: u32,
        c: u32,
    }
    assert!(
        Dense::LAYOUT
            .to_string()
            .ends_with("padding: 0 of 16 bytes (0%); best order: 16 bytes (this one)")
    );
}

#[test]
fn enum_table_lists_payloads() {
    let expected = format!(
        "enum Message (repr(Rust), {} bytes, align 1)\nvariant  payload\nPing           0\nBlob         256  largest",
        std::mem::size_of::<Message>()
    );
    assert_eq!(Message::LAYOUT.to_string(), expected);
}

#[test]
fn svg_draws_every_field_and_the_padding() {
    let svg = Session::LAYOUT.to_svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for field in Session::LAYOUT.fields {
        assert!(
            svg.contains(&format!("<title>{}: ", field.name)),
            "{} missing",
            field.name
        );
    }
    assert!(svg.contains(&format!("padding: {} bytes", Session::LAYOUT.padding())));
    // One row per line, each labelled with its offset at the left margin: 80 bytes make two
    // 64-byte rows, or five 16-byte ones.
    let row_labels = |svg: &str| svg.matches(r#"text-anchor="end""#).count();
    assert_eq!(row_labels(&svg), 2);
    assert_eq!(row_labels(&Session::LAYOUT.to_svg_with_line(16)), 5);
}

#[test]
fn an_enum_map_draws_its_variants() {
    let svg = Message::LAYOUT.to_svg();
    for variant in Message::LAYOUT.variants {
        assert!(svg.contains(&format!(">{}</text>", variant.name)), "{svg}");
        assert!(
            svg.contains(&format!(">{} B</text>", variant.payload)),
            "{svg}"
        );
    }
    assert!(svg.contains(&format!(
        "<title>Blob — payload 256 of {} bytes</title>",
        Message::LAYOUT.size
    )));
}
