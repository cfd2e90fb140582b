//! The pahole-like table that `Display` prints for a layout.

use core::fmt::{self, Display, Formatter, Write as _};

use super::{FieldLayout, ModelKind, StructLayout};

/// A run of padding bytes in a struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hole {
    /// Offset of the first padding byte.
    pub offset: usize,
    /// Number of padding bytes.
    pub size: usize,
    /// The field the padding follows; `None` for padding at the very start.
    pub after: Option<&'static FieldLayout>,
    /// Whether this is the padding at the end of the struct.
    pub tail: bool,
}

impl StructLayout {
    /// How many runs of padding there are, the tail's included. A `const fn`, for your own
    /// `const` assertions (with [`hole`](Self::hole)).
    ///
    /// ```
    /// # use kalam_runtime::{FieldLayout, StructLayout};
    /// const FIELDS: &[FieldLayout] = &[
    ///     FieldLayout::new("flag", "bool", 0, 1, 1, false),
    ///     FieldLayout::new("count", "i64", 8, 8, 8, false),
    /// ];
    /// const JOB: StructLayout = StructLayout::new("Job", "repr(C)", 16, 8, FIELDS);
    /// const _: () = assert!(JOB.hole_count() == 1);
    /// const _: () = assert!(matches!(JOB.hole(0), Some(h) if h.offset == 1 && h.size == 7));
    /// ```
    #[must_use]
    pub const fn hole_count(&self) -> usize {
        let mut count = 0;
        let mut i = 0;
        while i < self.fields.len() {
            if self.padding_before(i) > 0 {
                count += 1;
            }
            i += 1;
        }
        if self.tail_padding() > 0 {
            count += 1;
        }
        count
    }

    /// The `n`th run of padding, in offset order, the tail last; `None` past the last one.
    #[must_use]
    pub const fn hole(&self, n: usize) -> Option<Hole> {
        let fields = self.fields;
        let mut seen = 0;
        let mut i = 0;
        while i < fields.len() {
            let size = self.padding_before(i);
            if size > 0 {
                if seen == n {
                    return Some(Hole {
                        offset: fields[i].offset - size,
                        size,
                        after: if i == 0 { None } else { Some(&fields[i - 1]) },
                        tail: false,
                    });
                }
                seen += 1;
            }
            i += 1;
        }
        let tail = self.tail_padding();
        if tail > 0 && seen == n {
            return Some(Hole {
                offset: self.size - tail,
                size: tail,
                after: fields.last(),
                tail: true,
            });
        }
        None
    }

    /// Every run of padding, in offset order, the tail last: [`hole`](Self::hole) for each
    /// of the [`hole_count`](Self::hole_count).
    pub fn holes(&self) -> impl Iterator<Item = Hole> + '_ {
        (0..self.hole_count()).filter_map(|n| self.hole(n))
    }
}

/// Cache-line size the table marks boundaries at.
const LINE: usize = 64;

impl Display for StructLayout {
    /// Prints the layout as a table: one row per field and per hole, cache-line boundaries
    /// marked, totals and the best field order at the bottom.
    ///
    /// ```
    /// use kalam_runtime::{FieldLayout, StructLayout};
    ///
    /// static FIELDS: [FieldLayout; 2] = [
    ///     FieldLayout::new("flag", "bool", 0, 1, 1, false),
    ///     FieldLayout::new("count", "i64", 8, 8, 8, true),
    /// ];
    /// let layout = StructLayout::new("Counter", "C", 16, 8, &FIELDS);
    /// let table = layout.to_string();
    /// assert!(table.contains("(padding)"));
    /// assert!(table.contains("best order: 16 bytes"));
    /// ```
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.kind {
            ModelKind::Enum => self.fmt_enum(f),
            _ => self.fmt_struct(f),
        }
    }
}

impl StructLayout {
    fn fmt_struct(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name_w = self
            .fields
            .iter()
            .map(|fl| fl.name.len())
            .chain([14])
            .max()
            .unwrap_or(14);
        let ty_w = self
            .fields
            .iter()
            .map(|fl| fl.ty.len())
            .chain([4])
            .max()
            .unwrap_or(4);
        writeln!(
            f,
            "{} (repr({}), {} bytes, align {})",
            self.name, self.repr, self.size, self.align
        )?;
        writeln!(f, "offset  size  align  {:name_w$}  type", "field")?;

        let mut rows: Vec<(usize, String)> = Vec::new();
        for field in self.fields {
            let hot = if field.hot { "  hot" } else { "" };
            let row = format!(
                "{:>6}  {:>4}  {:>5}  {:name_w$}  {:ty_w$}{hot}",
                field.offset, field.size, field.align, field.name, field.ty
            );
            rows.push((field.offset, row));
        }
        for hole in self.holes() {
            let label = if hole.tail {
                "(tail padding)"
            } else {
                "(padding)"
            };
            rows.push((
                hole.offset,
                format!("{:>6}  {:>4}         {label}", hole.offset, hole.size),
            ));
        }
        // Stable: a hole sorts before the field that follows it only by its lower offset.
        rows.sort_by_key(|(offset, _)| *offset);

        let mut line = 1;
        for (offset, row) in rows {
            while line * LINE <= offset {
                writeln!(f, "{:>6}  --- cache line {line} ---", line * LINE)?;
                line += 1;
            }
            writeln!(f, "{}", row.trim_end())?;
        }

        let padding = self.padding();
        let percent = (padding * 100).checked_div(self.size).unwrap_or(0);
        write!(f, "padding: {padding} of {} bytes ({percent}%)", self.size)?;
        let best = self.optimal_size();
        if best < self.size {
            let mut order = String::new();
            for (i, field) in self.optimal_order().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(order, "{sep}{}", field.name);
            }
            write!(
                f,
                "; best order: {best} bytes ({order}), saves {}",
                self.size - best
            )?;
        } else {
            write!(f, "; best order: {best} bytes (this one)")?;
        }
        if let Some(declared) = self.declared {
            let order: Vec<&str> = declared.fields.iter().map(|fl| fl.name).collect();
            write!(
                f,
                "\nreordered by #[kalam::aligned_model]: declared as {} ({} bytes, {} of padding), now {} bytes",
                order.join(", "),
                declared.size,
                declared.padding(),
                self.size
            )?;
        }
        Ok(())
    }

    fn fmt_enum(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name_w = self
            .variants
            .iter()
            .map(|v| v.name.len())
            .chain([7])
            .max()
            .unwrap_or(7);
        writeln!(
            f,
            "enum {} (repr({}), {} bytes, align {})",
            self.name, self.repr, self.size, self.align
        )?;
        write!(f, "{:name_w$}  payload", "variant")?;
        let largest = self.largest_variant().map_or(0, |v| v.payload);
        for variant in self.variants {
            let mark = if variant.payload == largest && largest > 0 {
                "  largest"
            } else {
                ""
            };
            write!(
                f,
                "\n{:name_w$}  {:>7}{mark}",
                variant.name, variant.payload
            )?;
        }
        Ok(())
    }
}
