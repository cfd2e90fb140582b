//! `optimal_size` is the true minimum over every declaration order, and `optimal_order`
//! reaches it: checked by brute force over all orders of small structs laid out by the
//! `repr(C)` rules.

use kalam::{FieldLayout, StructLayout};
use proptest::prelude::*;

/// One field: (size, align). Sizes are multiples of the alignment, as for every Rust type.
fn field() -> impl Strategy<Value = (usize, usize)> {
    (0u32..5, 0usize..4).prop_map(|(log_align, multiple)| {
        let align = 1usize << log_align;
        (align * multiple, align)
    })
}

/// Lays `fields` out in the given order by the `repr(C)` rules, optionally with
/// `repr(align(min_align))`.
fn repr_c(fields: &[(usize, usize)], order: &[usize], min_align: usize) -> StructLayout {
    let mut offset = 0usize;
    let mut align = min_align;
    let mut laid = Vec::new();
    for &i in order {
        let (size, field_align) = fields[i];
        offset = offset.next_multiple_of(field_align);
        let name: &'static str = Box::leak(format!("f{i}").into_boxed_str());
        laid.push(FieldLayout::new(
            name,
            "T",
            offset,
            size,
            field_align,
            false,
        ));
        offset += size;
        align = align.max(field_align);
    }
    let size = offset.next_multiple_of(align);
    StructLayout::new("S", "C", size, align, Box::leak(laid.into_boxed_slice()))
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            out.push(p);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn optimal_size_is_the_minimum_over_all_orders(
        fields in prop::collection::vec(field(), 0..=6),
        min_align_log in 0u32..5,
    ) {
        let min_align = 1usize << min_align_log;
        let declared: Vec<usize> = (0..fields.len()).collect();
        let layout = repr_c(&fields, &declared, min_align);

        let best = permutations(fields.len())
            .iter()
            .map(|order| repr_c(&fields, order, min_align).size)
            .min()
            .unwrap_or(0);
        prop_assert_eq!(layout.optimal_size(), best);

        // Declaring the fields in `optimal_order` reaches it.
        let order: Vec<usize> = layout
            .optimal_order()
            .map(|f| f.name[1..].parse().unwrap())
            .collect();
        prop_assert_eq!(order.len(), fields.len());
        prop_assert_eq!(repr_c(&fields, &order, min_align).size, best);

        // Padding is everything that is not data, and the holes account for all of it.
        let data: usize = fields.iter().map(|(size, _)| size).sum();
        prop_assert_eq!(layout.padding(), layout.size - data);
        prop_assert_eq!(layout.holes().map(|h| h.size).sum::<usize>(), layout.padding());
        prop_assert_eq!(layout.avoidable_padding(), layout.size - best);
    }
}
