//! The order `#[kalam::aligned_model]` chooses has no avoidable padding, for random
//! `repr(C)` structs of types whose size and alignment are known (64-bit targets): the
//! emitted field order is laid out by the `repr(C)` rules and compared with the optimum.

use proptest::prelude::*;

use crate::expand::aligned_model::attribute;

/// Type, size and alignment on x86-64.
const TYPES: &[(&str, usize, usize)] = &[
    ("u8", 1, 1),
    ("bool", 1, 1),
    ("u16", 2, 2),
    ("i32", 4, 4),
    ("char", 4, 4),
    ("f32", 4, 4),
    ("u64", 8, 8),
    ("f64", 8, 8),
    ("u128", 16, 16),
    ("usize", 8, 8),
    ("&'static str", 16, 8),
    ("&'static u8", 8, 8),
    ("Box<u16>", 8, 8),
    ("Vec<u8>", 24, 8),
    ("String", 24, 8),
    ("Option<u32>", 8, 4),
    ("Option<Box<u8>>", 8, 8),
    ("[u8; 3]", 3, 1),
    ("[u16; 5]", 10, 2),
    ("[u32; 3]", 12, 4),
    ("[u64; 0]", 0, 8),
    ("()", 0, 1),
    ("PhantomData<u64>", 0, 1),
    ("(u8, u64)", 16, 8),
    ("(u8, u16)", 4, 2),
];

/// The field names of struct `S` in the expansion, in their new order.
fn emitted_order(output: proc_macro2::TokenStream) -> Vec<String> {
    let file: syn::File = syn::parse2(output).expect("expansion parses");
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == "S" => Some(
                s.fields
                    .iter()
                    .map(|f| f.ident.as_ref().unwrap().to_string())
                    .collect(),
            ),
            _ => None,
        })
        .expect("the struct is emitted")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn reordered_structs_have_no_avoidable_padding(
        picks in prop::collection::vec(0..TYPES.len(), 1..12)
    ) {
        let fields: String =
            picks.iter().enumerate().map(|(i, &t)| format!("f{i}: {},", TYPES[t].0)).collect();
        let source = format!("#[repr(C)] struct S {{ {fields} }}");
        let output = attribute(proc_macro2::TokenStream::new(), source.parse().unwrap());
        let order = emitted_order(output);
        prop_assert_eq!(order.len(), picks.len(), "every field is emitted once");

        let (mut offset, mut align, mut data) = (0usize, 1usize, 0usize);
        for name in &order {
            let index: usize = name[1..].parse().unwrap();
            let (_, size, field_align) = TYPES[picks[index]];
            offset = offset.next_multiple_of(field_align) + size;
            align = align.max(field_align);
            data += size;
        }
        let size = offset.next_multiple_of(align);
        prop_assert_eq!(size, data.next_multiple_of(align), "order {:?} of {}", order, source);
    }
}
