//! The layout checks behind `#[layout(..)]`, as `const fn`s.
//!
//! Each check returns an empty [`Message`] when it holds, and otherwise the diagnostic the
//! derive's generated `const` item panics with: the numbers, where the bytes went, and the
//! fix. `subject` is the type as the user knows it (`Job`, or `Pair<u64, 4>` for a
//! `check_with` instantiation).

use crate::layout::{FieldLayout, StructLayout};
use crate::message::Message;

/// `optimal`: no padding that another field order would remove.
#[must_use]
pub const fn optimal(layout: &StructLayout, subject: &str) -> Message {
    let mut m = Message::new();
    let best = layout.optimal_size();
    if layout.size <= best {
        return m;
    }
    describe(&mut m, layout, subject);
    m.push(" is ")
        .push_usize(layout.size)
        .push(" bytes, but its fields fit in ")
        .push_usize(best);
    m.push(": ");
    padding_summary(&mut m, layout);
    m.push(", ")
        .push_usize(layout.avoidable_padding())
        .push(" of them avoidable. ");
    if layout.is_repr_c() {
        m.push("Declare: ");
    } else {
        m.push("rustc chose this order itself; to fix it, make it #[repr(C)] and declare: ");
    }
    push_order(&mut m, layout);
    m.push("; or add #[layout(allow_waste)].");
    m
}

/// `max_size = max`.
#[must_use]
pub const fn max_size(layout: &StructLayout, subject: &str, max: usize) -> Message {
    let mut m = Message::new();
    if layout.size <= max {
        return m;
    }
    describe(&mut m, layout, subject);
    m.push(" is ")
        .push_count(layout.size, "byte", "bytes")
        .push(", ");
    m.push_usize(layout.size - max)
        .push(" over its max_size of ")
        .push_usize(max)
        .push(". ");
    if layout.variants.is_empty() {
        shrink_struct_hint(&mut m, layout, max, "max_size");
    } else {
        shrink_enum_hint(&mut m, layout, "max_size");
    }
    m
}

/// `size = exact`.
#[must_use]
pub const fn exact_size(layout: &StructLayout, subject: &str, exact: usize) -> Message {
    let mut m = Message::new();
    if layout.size == exact {
        return m;
    }
    describe(&mut m, layout, subject);
    m.push(" is ").push_count(layout.size, "byte", "bytes");
    m.push(", but #[layout(size = ")
        .push_usize(exact)
        .push(")] requires exactly ");
    m.push_usize(exact).push(". ");
    if layout.size < exact {
        m.push("Add the missing ")
            .push_count(exact - layout.size, "byte", "bytes");
        m.push(" as fields or explicit padding, or correct the size.");
    } else if layout.variants.is_empty() {
        shrink_struct_hint(&mut m, layout, exact, "size");
    } else {
        shrink_enum_hint(&mut m, layout, "size");
    }
    m
}

/// `max_padding = max`, and `no_padding` (`max` of 0, worded for it).
#[must_use]
pub const fn max_padding(
    layout: &StructLayout,
    subject: &str,
    max: usize,
    no_padding: bool,
) -> Message {
    let mut m = Message::new();
    let padding = layout.padding();
    if padding <= max {
        return m;
    }
    describe(&mut m, layout, subject);
    m.push(" has ");
    padding_summary(&mut m, layout);
    if no_padding {
        m.push(", but no_padding allows none. ");
    } else {
        m.push(", ")
            .push_usize(padding - max)
            .push(" over its max_padding of ");
        m.push_usize(max).push(". ");
    }
    let avoidable = layout.avoidable_padding();
    let remaining = padding - avoidable;
    if avoidable > 0 {
        if layout.is_repr_c() {
            m.push("Declare ");
        } else {
            m.push("Make it #[repr(C)] and declare ");
        }
        push_order(&mut m, layout);
        m.push(" to cut it to ").push_usize(remaining).push(". ");
    }
    if remaining > max {
        if avoidable > 0 {
            m.push("The other ");
        } else {
            m.push("All ");
        }
        m.push_count(remaining, "byte is", "bytes are");
        m.push(" tail padding up to the alignment of ")
            .push_usize(layout.align);
        m.push(": fill them with a field, or allow them with max_padding = ");
        m.push_usize(remaining).push(".");
    }
    m
}

/// `hot_first_line`, for the hot field `field`.
#[must_use]
pub const fn hot_first_line(
    layout: &StructLayout,
    subject: &str,
    line: usize,
    field: &str,
) -> Message {
    let mut m = Message::new();
    let Some(f) = layout.field(field) else {
        return missing_field(subject, field);
    };
    if f.size == 0 || f.end() <= line {
        return m;
    }
    m.push("hot field ").push_code(f.name).push(" of ");
    describe(&mut m, layout, subject);
    m.push(" occupies bytes ");
    push_range(&mut m, f);
    m.push(", past the first ")
        .push_usize(line)
        .push("-byte cache line. ");
    let hot_bytes = hot_bytes(layout);
    if hot_bytes > line {
        m.push("The hot fields take ")
            .push_usize(hot_bytes)
            .push(" bytes together, more than a line");
        m.push(": mark fewer fields #[hot], or drop hot_first_line.");
        return m;
    }
    if layout.is_repr_c() {
        m.push("Declare the hot fields first (");
    } else {
        m.push("rustc orders repr(Rust) fields itself: make it #[repr(C)] and declare the hot fields first (");
    }
    push_hot_fields(&mut m, layout);
    m.push("); or drop hot_first_line.");
    m
}

/// `no_straddle`, for the field `field`.
#[must_use]
pub const fn no_straddle(
    layout: &StructLayout,
    subject: &str,
    line: usize,
    field: &str,
) -> Message {
    let mut m = Message::new();
    let Some(f) = layout.field(field) else {
        return missing_field(subject, field);
    };
    if f.size == 0 || f.offset / line == (f.end() - 1) / line {
        return m;
    }
    let boundary = (f.offset / line + 1) * line;
    m.push("field ").push_code(f.name).push(" of ");
    describe(&mut m, layout, subject);
    m.push(" occupies bytes ");
    push_range(&mut m, f);
    m.push(", across the ")
        .push_usize(line)
        .push("-byte cache-line boundary at ");
    m.push_usize(boundary).push(". ");
    if f.size > line {
        m.push("It is larger than a line, so it always crosses one: box it, or drop no_straddle.");
    } else if layout.is_repr_c() {
        m.push(
            "Declare it elsewhere, or add explicit padding before it so that it starts at byte ",
        );
        m.push_usize(boundary).push("; or drop no_straddle.");
    } else {
        m.push("rustc places repr(Rust) fields itself: make it #[repr(C)] to choose where ");
        m.push_code(f.name).push(" lands; or drop no_straddle.");
    }
    m
}

/// `max_variant_size = max`, for the variant `variant`.
#[must_use]
pub const fn max_variant_size(
    layout: &StructLayout,
    subject: &str,
    max: usize,
    variant: &str,
) -> Message {
    let mut m = Message::new();
    let Some(v) = layout.variant(variant) else {
        return missing_field(subject, variant);
    };
    if v.payload <= max {
        return m;
    }
    m.push("variant ")
        .push("`")
        .push(subject)
        .push("::")
        .push(v.name)
        .push("` carries ");
    m.push_count(v.payload, "byte", "bytes")
        .push(", ")
        .push_usize(v.payload - max);
    m.push(" over the max_variant_size of ")
        .push_usize(max)
        .push("; every ")
        .push_code(subject);
    m.push(" value is ")
        .push_usize(layout.size)
        .push(" bytes because of it. ");
    m.push("Box the payload (a Box is ")
        .push_usize(core::mem::size_of::<usize>());
    m.push(" bytes) or raise max_variant_size.");
    m
}

/// What `#[kalam::aligned_model]` assumed about a field's alignment (`assumed_64` on 64-bit
/// targets, `assumed_32` on others) holds. `from_attr` says whether the user gave it with
/// `#[layout(align = N)]` or the macro knew it from the type.
#[must_use]
pub const fn assumed_align(
    layout: &StructLayout,
    subject: &str,
    field: &str,
    assumed_64: usize,
    assumed_32: usize,
    from_attr: bool,
) -> Message {
    let mut m = Message::new();
    let Some(f) = layout.field(field) else {
        return missing_field(subject, field);
    };
    let assumed = if core::mem::size_of::<usize>() == 8 {
        assumed_64
    } else {
        assumed_32
    };
    if f.align == assumed {
        return m;
    }
    if from_attr {
        m.push("field ")
            .push_code(f.name)
            .push(" of ")
            .push_code(subject)
            .push(" (");
        m.push(f.ty)
            .push(") aligns to ")
            .push_usize(f.align)
            .push(", not ")
            .push_usize(assumed);
        m.push(" as #[layout(align = ")
            .push_usize(assumed)
            .push(")] says: correct it to ");
        m.push("#[layout(align = ").push_usize(f.align).push(")].");
    } else {
        m.push("#[kalam::aligned_model] ordered the fields of ")
            .push_code(subject);
        m.push(" assuming that field ")
            .push_code(f.name)
            .push(" (")
            .push(f.ty);
        m.push(") aligns to ")
            .push_usize(assumed)
            .push(", but on this target it aligns to ");
        m.push_usize(f.align)
            .push(": give it #[layout(align = ")
            .push_usize(f.align);
        m.push(")].");
    }
    m
}

/// `` `Job` (repr(C)) ``.
const fn describe(m: &mut Message, layout: &StructLayout, subject: &str) {
    m.push_code(subject)
        .push(" (repr(")
        .push(layout.repr)
        .push("))");
}

/// `11 bytes of padding (7 after `flag`, 4 at the tail)`.
const fn padding_summary(m: &mut Message, layout: &StructLayout) {
    m.push_count(layout.padding(), "byte", "bytes")
        .push(" of padding");
    let mut listed = 0;
    let mut i = 0;
    while i < layout.fields.len() {
        let hole = layout.padding_before(i);
        if hole > 0 {
            m.push(if listed == 0 { " (" } else { ", " })
                .push_usize(hole);
            if i == 0 {
                m.push(" before ").push_code(layout.fields[0].name);
            } else {
                m.push(" after ").push_code(layout.fields[i - 1].name);
            }
            listed += 1;
        }
        i += 1;
    }
    let tail = layout.tail_padding();
    if tail > 0 {
        m.push(if listed == 0 { " (" } else { ", " })
            .push_usize(tail)
            .push(" at the tail");
        listed += 1;
    }
    if listed > 0 {
        m.push(")");
    }
}

/// `` `count`, `timestamp`, `id`, `flag` ``.
const fn push_order(m: &mut Message, layout: &StructLayout) {
    let order = layout.optimal_order();
    let mut i = 0;
    while let Some(f) = order.get(i) {
        if i > 0 {
            m.push(", ");
        }
        m.push_code(f.name);
        i += 1;
    }
}

const fn push_hot_fields(m: &mut Message, layout: &StructLayout) {
    let mut listed = 0;
    let mut i = 0;
    while i < layout.fields.len() {
        if layout.fields[i].hot {
            if listed > 0 {
                m.push(", ");
            }
            m.push_code(layout.fields[i].name);
            listed += 1;
        }
        i += 1;
    }
}

const fn hot_bytes(layout: &StructLayout) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < layout.fields.len() {
        if layout.fields[i].hot {
            total += layout.fields[i].size;
        }
        i += 1;
    }
    total
}

const fn push_range(m: &mut Message, f: &FieldLayout) {
    m.push_usize(f.offset).push("..").push_usize(f.end());
}

/// The hint after a size bound failed on a struct: reorder if that is enough, otherwise
/// shrink the largest field.
const fn shrink_struct_hint(m: &mut Message, layout: &StructLayout, bound: usize, key: &str) {
    let best = layout.optimal_size();
    if best <= bound && best < layout.size {
        m.push("Its fields fit in ").push_usize(best);
        if layout.is_repr_c() {
            m.push(": declare ");
        } else {
            m.push(" as #[repr(C)] declared ");
        }
        push_order(m, layout);
        m.push(".");
        return;
    }
    if best < layout.size {
        m.push("Even in the best order it needs ")
            .push_usize(best)
            .push(" bytes");
    } else if layout.is_repr_c() {
        m.push("No field order is smaller");
    } else {
        m.push("rustc already orders repr(Rust) fields, so no order is smaller");
    }
    let Some(f) = layout.largest_field() else {
        m.push(": raise ").push(key).push(".");
        return;
    };
    m.push(": shrink a field (the largest is ")
        .push_code(f.name)
        .push(": ")
        .push(f.ty);
    m.push(", ")
        .push_count(f.size, "byte", "bytes")
        .push(") or raise ")
        .push(key)
        .push(".");
}

const fn shrink_enum_hint(m: &mut Message, layout: &StructLayout, key: &str) {
    let Some(v) = layout.largest_variant() else {
        m.push("Raise ").push(key).push(".");
        return;
    };
    m.push("Its largest variant is ")
        .push_code(v.name)
        .push(" (");
    m.push_count(v.payload, "byte", "bytes")
        .push("): box its payload, or raise ")
        .push(key);
    m.push(".");
}

/// Unreachable through the derive, which only names fields it declared.
const fn missing_field(subject: &str, name: &str) -> Message {
    let mut m = Message::new();
    m.push_code(subject)
        .push(" has no field or variant ")
        .push_code(name);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#[repr(C)] struct Job { flag: bool, count: i64, timestamp: i64, id: u32 }`.
    const JOB: StructLayout = StructLayout::new(
        "Job",
        "C",
        32,
        8,
        &[
            FieldLayout::new("flag", "bool", 0, 1, 1, false),
            FieldLayout::new("count", "i64", 8, 8, 8, false),
            FieldLayout::new("timestamp", "i64", 16, 8, 8, false),
            FieldLayout::new("id", "u32", 24, 4, 4, true),
        ],
    );

    #[test]
    fn optimal_names_holes_and_order() {
        assert_eq!(
            optimal(&JOB, "Job").as_str(),
            "`Job` (repr(C)) is 32 bytes, but its fields fit in 24: 11 bytes of padding \
             (7 after `flag`, 4 at the tail), 8 of them avoidable. Declare: `count`, \
             `timestamp`, `id`, `flag`; or add #[layout(allow_waste)]."
        );
    }

    #[test]
    fn passing_checks_say_nothing() {
        assert!(max_size(&JOB, "Job", 32).is_empty());
        assert!(exact_size(&JOB, "Job", 32).is_empty());
        assert!(max_padding(&JOB, "Job", 11, false).is_empty());
        assert!(hot_first_line(&JOB, "Job", 64, "id").is_empty());
        assert!(no_straddle(&JOB, "Job", 64, "count").is_empty());
    }

    #[test]
    fn size_bounds_suggest_the_order_when_it_is_enough() {
        assert_eq!(
            max_size(&JOB, "Job", 24).as_str(),
            "`Job` (repr(C)) is 32 bytes, 8 over its max_size of 24. Its fields fit in 24: \
             declare `count`, `timestamp`, `id`, `flag`."
        );
        assert_eq!(
            max_size(&JOB, "Job", 16).as_str(),
            "`Job` (repr(C)) is 32 bytes, 16 over its max_size of 16. Even in the best order \
             it needs 24 bytes: shrink a field (the largest is `count`: i64, 8 bytes) or raise \
             max_size."
        );
        assert!(
            exact_size(&JOB, "Job", 40)
                .as_str()
                .contains("Add the missing 8 bytes")
        );
    }

    #[test]
    fn padding_bound_separates_avoidable_from_tail() {
        assert_eq!(
            max_padding(&JOB, "Job", 0, true).as_str(),
            "`Job` (repr(C)) has 11 bytes of padding (7 after `flag`, 4 at the tail), but \
             no_padding allows none. Declare `count`, `timestamp`, `id`, `flag` to cut it to 3. \
             The other 3 bytes are tail padding up to the alignment of 8: fill them with a \
             field, or allow them with max_padding = 3."
        );
    }

    #[test]
    fn assumed_alignments() {
        assert!(assumed_align(&JOB, "Job", "count", 8, 8, false).is_empty());
        let assumed = assumed_align(&JOB, "Job", "count", 4, 4, false);
        assert_eq!(
            assumed.as_str(),
            "#[kalam::aligned_model] ordered the fields of `Job` assuming that field `count` \
             (i64) aligns to 4, but on this target it aligns to 8: give it \
             #[layout(align = 8)]."
        );
        let given = assumed_align(&JOB, "Job", "id", 8, 8, true);
        assert!(
            given
                .as_str()
                .starts_with("field `id` of `Job` (u32) aligns to 4, not 8")
        );
    }

    #[test]
    fn cache_line_checks() {
        assert!(
            hot_first_line(&JOB, "Job", 16, "id")
                .as_str()
                .starts_with("hot field `id` of `Job` (repr(C)) occupies bytes 24..28, past the first 16-byte cache line.")
        );
        assert!(
            no_straddle(&JOB, "Job", 12, "count")
                .as_str()
                .starts_with("field `count` of `Job` (repr(C)) occupies bytes 8..16, across the 12-byte cache-line boundary at 12.")
        );
    }
}
