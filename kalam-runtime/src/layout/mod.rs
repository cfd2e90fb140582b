//! The layout of a type as the compiler laid it out, and what can be learned from it.

mod report;
mod svg;

pub use report::Hole;

/// A type whose memory layout is known at compile time.
///
/// Implement it with `#[derive(AlignedModel)]`; the derive fills [`LAYOUT`](Self::LAYOUT)
/// from `size_of`, `align_of` and `offset_of!`, and runs the checks written in
/// `#[layout(..)]` while the crate compiles.
pub trait AlignedModel {
    /// The layout of `Self`.
    const LAYOUT: StructLayout;
}

/// Whether a [`StructLayout`] describes a struct or an enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelKind {
    /// A struct with named fields, a tuple struct or a unit struct.
    Struct,
    /// An enum: [`StructLayout::variants`] lists its variants.
    Enum,
}

/// The layout of one struct field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldLayout {
    /// The field's name; `"0"`, `"1"`, … for tuple structs.
    pub name: &'static str,
    /// The field's type as written in the source.
    pub ty: &'static str,
    /// Offset from the start of the struct, in bytes.
    pub offset: usize,
    /// `size_of` the field's type.
    pub size: usize,
    /// The alignment the field has in this struct: `align_of` its type, capped by
    /// `repr(packed(N))`.
    pub align: usize,
    /// Marked `#[hot]`: read on the hot path, wanted in the first cache line.
    pub hot: bool,
}

impl FieldLayout {
    /// Describes one field.
    #[must_use]
    pub const fn new(
        name: &'static str,
        ty: &'static str,
        offset: usize,
        size: usize,
        align: usize,
        hot: bool,
    ) -> Self {
        FieldLayout {
            name,
            ty,
            offset,
            size,
            align,
            hot,
        }
    }

    /// The first byte past the field.
    #[must_use]
    pub const fn end(&self) -> usize {
        self.offset + self.size
    }
}

/// The layout of one enum variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VariantLayout {
    /// The variant's name.
    pub name: &'static str,
    /// The size of the variant's fields laid out together (as the tuple of their types);
    /// 0 for a unit variant. The enum is at least this large, plus room for its tag.
    pub payload: usize,
}

impl VariantLayout {
    /// Describes one variant.
    #[must_use]
    pub const fn new(name: &'static str, payload: usize) -> Self {
        VariantLayout { name, payload }
    }
}

/// The memory layout of a struct (or enum), computed by the compiler and readable in
/// `const` code.
///
/// Fields are listed by offset, which for `repr(Rust)` structs is the order rustc chose,
/// not the order of declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StructLayout {
    /// The type's name, without generic arguments.
    pub name: &'static str,
    /// Struct or enum.
    pub kind: ModelKind,
    /// The `repr` options as written, normalised: `"Rust"`, `"C"`, `"C, align(64)"`,
    /// `"C, packed"`, `"u8"`, …
    pub repr: &'static str,
    /// `size_of` the type.
    pub size: usize,
    /// `align_of` the type.
    pub align: usize,
    /// The fields, sorted by offset (empty for enums).
    pub fields: &'static [FieldLayout],
    /// The variants in declaration order (empty for structs).
    pub variants: &'static [VariantLayout],
    /// For a struct whose fields `#[kalam::aligned_model]` reordered: the same fields laid
    /// out in the order they were declared in, for comparison.
    pub declared: Option<&'static StructLayout>,
}

impl StructLayout {
    /// Describes a struct. `fields` must be sorted by offset.
    #[must_use]
    pub const fn new(
        name: &'static str,
        repr: &'static str,
        size: usize,
        align: usize,
        fields: &'static [FieldLayout],
    ) -> Self {
        StructLayout {
            name,
            kind: ModelKind::Struct,
            repr,
            size,
            align,
            fields,
            variants: &[],
            declared: None,
        }
    }

    /// Describes an enum.
    #[must_use]
    pub const fn new_enum(
        name: &'static str,
        repr: &'static str,
        size: usize,
        align: usize,
        variants: &'static [VariantLayout],
    ) -> Self {
        StructLayout {
            name,
            kind: ModelKind::Enum,
            repr,
            size,
            align,
            fields: &[],
            variants,
            declared: None,
        }
    }

    /// Records the layout the fields had in their declared order, before
    /// `#[kalam::aligned_model]` reordered them.
    #[must_use]
    pub const fn with_declared(mut self, declared: &'static StructLayout) -> Self {
        self.declared = Some(declared);
        self
    }

    /// Whether `repr(C)` fixes the field order (so that reordering the declaration moves
    /// the fields). Under `repr(Rust)` the compiler already orders fields itself.
    #[must_use]
    pub const fn is_repr_c(&self) -> bool {
        let repr = self.repr.as_bytes();
        // "C" alone or first in the list, as the derive writes it.
        !repr.is_empty() && repr[0] == b'C' && (repr.len() == 1 || repr[1] == b',')
    }

    /// The sum of the field sizes: the bytes that carry data.
    #[must_use]
    pub const fn data_size(&self) -> usize {
        let mut total = 0;
        let mut i = 0;
        while i < self.fields.len() {
            total += self.fields[i].size;
            i += 1;
        }
        total
    }

    /// All padding bytes: the holes between fields and the tail padding.
    ///
    /// Enums report 0: their unused bytes depend on the variant.
    #[must_use]
    pub const fn padding(&self) -> usize {
        match self.kind {
            ModelKind::Enum => 0,
            _ => self.size.saturating_sub(self.data_size()),
        }
    }

    /// Padding bytes between the end of the previous field (or the start of the struct) and
    /// field `index` (in offset order).
    ///
    /// # Panics
    ///
    /// If `index` is out of bounds.
    #[must_use]
    pub const fn padding_before(&self, index: usize) -> usize {
        let start = if index == 0 {
            0
        } else {
            self.end_of_first(index)
        };
        self.fields[index].offset.saturating_sub(start)
    }

    /// Padding bytes after the last field, up to the size of the struct.
    #[must_use]
    pub const fn tail_padding(&self) -> usize {
        match self.kind {
            ModelKind::Enum => 0,
            _ => self
                .size
                .saturating_sub(self.end_of_first(self.fields.len())),
        }
    }

    /// The smallest size reachable by declaring the same fields in another order, under
    /// `repr(C)` rules: the data rounded up to the type's alignment. Field sizes are
    /// multiples of their alignments, so ordering by decreasing alignment reaches it.
    #[must_use]
    pub const fn optimal_size(&self) -> usize {
        match self.kind {
            ModelKind::Enum => self.size,
            _ => {
                let data = self.data_size();
                let align = if self.align == 0 { 1 } else { self.align };
                let rounded = data.div_ceil(align) * align;
                // Never claim more than the compiler achieved.
                if rounded < self.size {
                    rounded
                } else {
                    self.size
                }
            }
        }
    }

    /// Padding that a better field order would remove: `size - optimal_size`.
    #[must_use]
    pub const fn avoidable_padding(&self) -> usize {
        self.size - self.optimal_size()
    }

    /// The fields in an order that reaches [`optimal_size`](Self::optimal_size): largest
    /// alignment first, zero-sized fields last, ties kept in offset order.
    #[must_use]
    pub const fn optimal_order(&self) -> FieldOrder<'_> {
        FieldOrder {
            layout: self,
            next: 0,
        }
    }

    /// The field named `name`, if any.
    #[must_use]
    pub const fn field(&self, name: &str) -> Option<&FieldLayout> {
        match self.field_index(name) {
            Some(i) => Some(&self.fields[i]),
            None => None,
        }
    }

    /// The position of the field named `name` in [`fields`](Self::fields).
    #[must_use]
    pub const fn field_index(&self, name: &str) -> Option<usize> {
        let mut i = 0;
        while i < self.fields.len() {
            if crate::message::str_eq(self.fields[i].name, name) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// The largest field (the first of equals), if any: the one to shrink or box when a
    /// size bound fails.
    #[must_use]
    pub const fn largest_field(&self) -> Option<&FieldLayout> {
        let mut largest: Option<&FieldLayout> = None;
        let mut i = 0;
        while i < self.fields.len() {
            let field = &self.fields[i];
            largest = match largest {
                Some(best) if best.size >= field.size => Some(best),
                _ => Some(field),
            };
            i += 1;
        }
        largest
    }

    /// The variant with the largest payload (the first of equals), if any.
    #[must_use]
    pub const fn largest_variant(&self) -> Option<&VariantLayout> {
        let mut largest: Option<&VariantLayout> = None;
        let mut i = 0;
        while i < self.variants.len() {
            let variant = &self.variants[i];
            largest = match largest {
                Some(best) if best.payload >= variant.payload => Some(best),
                _ => Some(variant),
            };
            i += 1;
        }
        largest
    }

    /// The variant named `name`, if any.
    #[must_use]
    pub const fn variant(&self, name: &str) -> Option<&VariantLayout> {
        let mut i = 0;
        while i < self.variants.len() {
            if crate::message::str_eq(self.variants[i].name, name) {
                return Some(&self.variants[i]);
            }
            i += 1;
        }
        None
    }

    /// The end of the furthest-reaching of the first `count` fields.
    const fn end_of_first(&self, count: usize) -> usize {
        let mut end = 0;
        let mut i = 0;
        while i < count {
            let field_end = self.fields[i].end();
            if field_end > end {
                end = field_end;
            }
            i += 1;
        }
        end
    }

    /// Where field `index` stands in the optimal order.
    const fn optimal_rank(&self, index: usize) -> usize {
        let mut rank = 0;
        let mut other = 0;
        while other < self.fields.len() {
            if other != index && self.goes_before(other, index) {
                rank += 1;
            }
            other += 1;
        }
        rank
    }

    /// Whether field `a` precedes field `b` in the optimal order.
    const fn goes_before(&self, a: usize, b: usize) -> bool {
        let (fa, fb) = (&self.fields[a], &self.fields[b]);
        let (zst_a, zst_b) = (fa.size == 0, fb.size == 0);
        if zst_a != zst_b {
            return zst_b;
        }
        if fa.align != fb.align {
            return fa.align > fb.align;
        }
        a < b
    }
}

/// The fields of a [`StructLayout`] in their optimal order; see
/// [`StructLayout::optimal_order`]. Usable in `const` code through [`get`](Self::get).
#[derive(Clone, Copy, Debug)]
pub struct FieldOrder<'a> {
    layout: &'a StructLayout,
    next: usize,
}

impl<'a> FieldOrder<'a> {
    /// The number of fields.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.layout.fields.len()
    }

    /// Whether there are no fields.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.layout.fields.is_empty()
    }

    /// The field at `position` in the optimal order.
    #[must_use]
    pub const fn get(&self, position: usize) -> Option<&'a FieldLayout> {
        let mut i = 0;
        while i < self.layout.fields.len() {
            if self.layout.optimal_rank(i) == position {
                return Some(&self.layout.fields[i]);
            }
            i += 1;
        }
        None
    }
}

impl<'a> Iterator for FieldOrder<'a> {
    type Item = &'a FieldLayout;

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.get(self.next)?;
        self.next += 1;
        Some(field)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.len() - self.next.min(self.len());
        (left, Some(left))
    }
}

impl ExactSizeIterator for FieldOrder<'_> {}
