//! A crate that depends on `kalam` under another name and says so with
//! `#[kalam(crate = "..")]`.

use kalam_renamed::{AlignedModel, KalamTable};

/// A record whose layout is checked through the renamed dependency.
#[derive(AlignedModel, Debug)]
#[kalam(crate = "kalam_renamed")]
#[repr(C)]
#[layout(max_size = 16, no_padding)]
pub struct Record {
    /// Key.
    pub key: u64,
    /// Length.
    pub len: u32,
    /// Flags.
    pub flags: u32,
}

/// A generic type checked through the renamed dependency.
#[derive(AlignedModel, Debug)]
#[kalam(crate = ::kalam_renamed)]
#[layout(max_size = 16, check_with(T = u64))]
pub struct Slot<T> {
    /// Value.
    pub value: T,
}

/// A table whose generated code reaches the renamed dependency.
#[derive(KalamTable, Debug, PartialEq)]
#[kalam(crate = "kalam_renamed")]
#[table(name = "events", namespace = "renamed")]
pub struct Event {
    /// Owner.
    #[column(primary_key)]
    pub owner: String,
    /// Sequence.
    #[column(primary_key)]
    pub seq: u64,
    /// Body.
    pub body: Option<String>,
}

/// Gated through the renamed dependency; `None` while its gate is off.
#[kalam_renamed::opt_in_feature("renamed_gate", crate = "kalam_renamed")]
pub fn gated(x: u32) -> Option<u32> {
    Some(x * 2)
}

#[cfg(test)]
mod tests {
    use kalam_renamed::Table;

    use super::*;

    #[test]
    fn table_and_gate_through_the_renamed_crate() {
        let event = Event {
            owner: "ann".to_owned(),
            seq: 4,
            body: None,
        };
        assert_eq!(Event::decode(&event.to_row()).unwrap(), event);
        assert_eq!(Event::key_for("ann", &4), event.key());
        assert_eq!(gated(3), None);
        kalam_renamed::set_gate("renamed_gate", true);
        assert_eq!(gated(3), Some(6));
    }

    #[test]
    fn layout_through_the_renamed_crate() {
        assert_eq!(Record::LAYOUT.size, 16);
        assert_eq!(Record::LAYOUT.padding(), 0);
        assert_eq!(<Slot<u8> as AlignedModel>::LAYOUT.size, 1);
    }
}
