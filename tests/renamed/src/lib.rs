//! A crate that depends on `kalam` under another name and says so with
//! `#[kalam(crate = "..")]`.

use kalam_renamed::AlignedModel;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_through_the_renamed_crate() {
        assert_eq!(Record::LAYOUT.size, 16);
        assert_eq!(Record::LAYOUT.padding(), 0);
        assert_eq!(<Slot<u8> as AlignedModel>::LAYOUT.size, 1);
    }
}
