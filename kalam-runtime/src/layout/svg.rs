//! An SVG memory map of a layout: one row per cache line, fields as boxes, padding hatched.

use core::fmt::Write as _;

use super::{ModelKind, StructLayout};

const BYTE_W: usize = 14;
const ROW_H: usize = 34;
const ROW_GAP: usize = 10;
const LEFT: usize = 64;
const TOP: usize = 40;
const LEGEND_H: usize = 28;

/// Fill colours for fields, cycled; hot fields get their own.
const PALETTE: [&str; 6] = [
    "#8ecae6", "#b5e48c", "#ffd166", "#cdb4db", "#f4a261", "#a8dadc",
];
const HOT: &str = "#ef476f";

impl StructLayout {
    /// Renders the layout as a self-contained SVG image with 64-byte cache lines.
    ///
    /// A struct is drawn byte by byte, one row per line, fields as boxes and padding
    /// hatched. An enum is drawn one bar per variant, each the enum's size: the variant's
    /// payload (its fields laid out together) as a box, and the rest, which holds the tag
    /// and the room the larger variants need, hatched. Where the compiler places a payload
    /// within the enum is its choice and not part of the layout, so each is drawn from the
    /// start of its bar.
    ///
    /// ```
    /// use kalam_runtime::{FieldLayout, StructLayout};
    ///
    /// static FIELDS: [FieldLayout; 1] = [FieldLayout::new("id", "u32", 0, 4, 4, true)];
    /// let svg = StructLayout::new("Id", "C", 4, 4, &FIELDS).to_svg();
    /// assert!(svg.starts_with("<svg") && svg.contains(">id<"));
    /// ```
    #[must_use]
    pub fn to_svg(&self) -> String {
        self.to_svg_with_line(64)
    }

    /// Renders the layout as an SVG image with `line`-byte rows (`line` of 0 counts as 1).
    #[must_use]
    pub fn to_svg_with_line(&self, line: usize) -> String {
        if self.kind == ModelKind::Enum {
            return self.enum_svg();
        }
        let line = line.max(1);
        let rows = self.size.div_ceil(line).max(1);
        let width = LEFT + line * BYTE_W + 20;
        let height = TOP + rows * (ROW_H + ROW_GAP) + LEGEND_H;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">
<defs><pattern id="pad" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f1f1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>
<text x="{LEFT}" y="16" font-size="14" font-weight="bold">{} — {} bytes, align {}, repr({})</text>
"##,
            escape(self.name),
            self.size,
            self.align,
            escape(self.repr)
        );

        // Byte offsets within a line, every 8 bytes, above the first row.
        for tick in (0..=line).step_by(8) {
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#888" font-size="9">{tick}</text>"##,
                LEFT + tick * BYTE_W,
                TOP - 4
            );
        }
        for row in 0..rows {
            let y = TOP + row * (ROW_H + ROW_GAP);
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="end" fill="#555">{}</text>"##,
                LEFT - 6,
                y + ROW_H / 2 + 4,
                row * line
            );
            // The row's frame; padding shows through wherever no field is drawn on top.
            let row_bytes = (self.size - (row * line).min(self.size)).min(line);
            let _ = writeln!(
                svg,
                r##"<rect x="{LEFT}" y="{y}" width="{}" height="{ROW_H}" fill="url(#pad)" stroke="#333"/>"##,
                row_bytes * BYTE_W
            );
        }

        if self.kind == ModelKind::Struct {
            for (i, field) in self.fields.iter().enumerate() {
                let fill = if field.hot {
                    HOT
                } else {
                    PALETTE[i % PALETTE.len()]
                };
                let label = format!("{}: {}", field.name, field.ty);
                // A field that crosses a line is drawn as one box per line it touches.
                let mut start = field.offset;
                let end = field.end();
                while start < end {
                    let row = start / line;
                    let stop = end.min((row + 1) * line);
                    let x = LEFT + (start - row * line) * BYTE_W;
                    let y = TOP + row * (ROW_H + ROW_GAP);
                    let w = (stop - start) * BYTE_W;
                    let _ = writeln!(
                        svg,
                        r##"<g><title>{} — offset {}, {} bytes, align {}</title><rect x="{x}" y="{y}" width="{w}" height="{ROW_H}" fill="{fill}" stroke="#333"/>"##,
                        escape(&label),
                        field.offset,
                        field.size,
                        field.align
                    );
                    let fits = w / 7;
                    if fits >= 2 {
                        let text = clip(field.name, fits.saturating_sub(1));
                        let _ = writeln!(
                            svg,
                            r##"<text x="{}" y="{}">{}</text>"##,
                            x + 4,
                            y + ROW_H / 2 + 4,
                            escape(&text)
                        );
                    }
                    svg.push_str("</g>\n");
                    start = stop;
                }
            }
        }

        let legend_y = TOP + rows * (ROW_H + ROW_GAP) + 12;
        let _ = write!(
            svg,
            r##"<rect x="{LEFT}" y="{}" width="14" height="14" fill="url(#pad)" stroke="#333"/><text x="{}" y="{legend_y}">padding: {} bytes</text>
<rect x="{}" y="{}" width="14" height="14" fill="{HOT}" stroke="#333"/><text x="{}" y="{legend_y}">hot</text>
</svg>
"##,
            legend_y - 11,
            LEFT + 20,
            self.padding(),
            LEFT + 160,
            legend_y - 11,
            LEFT + 180,
        );
        svg
    }
}

impl StructLayout {
    /// The variants of an enum as bars of the enum's size, see [`to_svg`](Self::to_svg).
    fn enum_svg(&self) -> String {
        const NAMES: usize = 140;
        const BAR: usize = 560;
        let left = NAMES + 10;
        let rows = self.variants.len().max(1);
        let width = left + BAR + 20;
        let height = TOP + rows * (ROW_H + ROW_GAP) + LEGEND_H;
        let size = self.size.max(1);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="11">
<defs><pattern id="pad" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f1f1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>
<text x="{left}" y="16" font-size="14" font-weight="bold">{} — enum, {} bytes, align {}, repr({})</text>
"##,
            escape(self.name),
            self.size,
            self.align,
            escape(self.repr)
        );
        for (i, variant) in self.variants.iter().enumerate() {
            let y = TOP + i * (ROW_H + ROW_GAP);
            let w = variant.payload.min(size) * BAR / size;
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" text-anchor="end">{}</text>
<rect x="{left}" y="{y}" width="{BAR}" height="{ROW_H}" fill="url(#pad)" stroke="#333"/>"##,
                NAMES,
                y + ROW_H / 2 + 4,
                escape(&clip(variant.name, NAMES / 7)),
            );
            if w > 0 {
                let _ = writeln!(
                    svg,
                    r##"<g><title>{} — payload {} of {} bytes</title><rect x="{left}" y="{y}" width="{w}" height="{ROW_H}" fill="{}" stroke="#333"/></g>"##,
                    escape(variant.name),
                    variant.payload,
                    self.size,
                    PALETTE[i % PALETTE.len()],
                );
            }
            let _ = writeln!(
                svg,
                r##"<text x="{}" y="{}" fill="#333">{} B</text>"##,
                left + w + 4,
                y + ROW_H / 2 + 4,
                variant.payload
            );
        }
        let legend_y = TOP + rows * (ROW_H + ROW_GAP) + 12;
        let _ = write!(
            svg,
            r##"<rect x="{left}" y="{}" width="14" height="14" fill="url(#pad)" stroke="#333"/><text x="{}" y="{legend_y}">the tag, and room for larger variants</text>
</svg>
"##,
            legend_y - 11,
            left + 20,
        );
        svg
    }
}

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldLayout;

    static FIELDS: [FieldLayout; 3] = [
        FieldLayout::new("flag", "bool", 0, 1, 1, false),
        FieldLayout::new("payload", "[u8; 60]", 8, 60, 1, false),
        FieldLayout::new("ptr", "Vec<u8>", 72, 24, 8, true),
    ];

    #[test]
    fn one_row_per_line_and_split_fields() {
        let layout = StructLayout::new("Wide", "C", 96, 8, &FIELDS);
        let svg = layout.to_svg();
        // Two 64-byte rows: the offsets 0 and 64 label them.
        assert!(svg.contains(">0</text>") && svg.contains(">64</text>"));
        // `payload` spans bytes 8..68, so it is drawn in both rows.
        assert_eq!(svg.matches("<title>payload: [u8; 60]").count(), 2);
        assert!(svg.contains("Vec&lt;u8&gt;"), "types are escaped");
        assert!(svg.contains(HOT), "hot field coloured");
        assert!(svg.contains("padding: 11 bytes"));
    }

    #[test]
    fn an_enum_is_a_bar_per_variant() {
        use crate::VariantLayout;
        static VARIANTS: [VariantLayout; 2] = [
            VariantLayout::new("Ping", 0),
            VariantLayout::new("Blob", 256),
        ];
        let layout = StructLayout::new_enum("Message", "Rust", 257, 1, &VARIANTS);
        let svg = layout.to_svg();
        assert!(
            svg.contains(">Ping</text>") && svg.contains(">Blob</text>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>Blob — payload 256 of 257 bytes</title>"),
            "{svg}"
        );
        // A unit variant has no payload box, only its bar.
        assert!(!svg.contains("<title>Ping"), "{svg}");
        assert!(
            svg.contains(">0 B</text>") && svg.contains(">256 B</text>"),
            "{svg}"
        );
        assert!(svg.contains("enum, 257 bytes"));
    }

    #[test]
    fn clip_keeps_short_names() {
        assert_eq!(clip("id", 5), "id");
        assert_eq!(clip("timestamp", 5), "time…");
    }
}
