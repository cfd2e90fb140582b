//! A fixed-capacity text buffer that can be filled in `const` code.
//!
//! Layout checks run while the compiler evaluates constants, where neither `format!` nor
//! allocation exists. They write their diagnostic into a [`Message`] and hand it to
//! `panic!("{}", message.as_str())`, which stable Rust accepts in `const` items.

/// Capacity of a [`Message`] in bytes; longer text ends in `…`.
pub(crate) const MESSAGE_CAPACITY: usize = 1536;

const ELLIPSIS: &str = "…";

/// Text built at compile time. Empty means "nothing to report".
#[derive(Clone, Copy, Debug)]
pub struct Message {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
    truncated: bool,
}

impl Message {
    /// An empty message.
    #[must_use]
    pub const fn new() -> Self {
        Message {
            buf: [0; MESSAGE_CAPACITY],
            len: 0,
            truncated: false,
        }
    }

    /// Whether nothing has been written.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text written so far.
    #[must_use]
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            // Unreachable: only whole UTF-8 sequences are ever copied in.
            Err(_) => "<kalam: message was not UTF-8>",
        }
    }

    /// Appends `text`, cutting it at a character boundary when the buffer is full.
    pub const fn push(&mut self, text: &str) -> &mut Self {
        if self.truncated {
            return self;
        }
        let bytes = text.as_bytes();
        let room = MESSAGE_CAPACITY - ELLIPSIS.len() - self.len;
        let mut take = if bytes.len() <= room {
            bytes.len()
        } else {
            room
        };
        // Back off to the start of a UTF-8 sequence so the text stays valid.
        while take < bytes.len() && take > 0 && (bytes[take] & 0xC0) == 0x80 {
            take -= 1;
        }
        self.copy(bytes, take);
        if take < bytes.len() {
            self.copy(ELLIPSIS.as_bytes(), ELLIPSIS.len());
            self.truncated = true;
        }
        self
    }

    /// Appends `value` in decimal.
    pub const fn push_usize(&mut self, value: usize) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let (_, used) = digits.split_at(at);
        match core::str::from_utf8(used) {
            Ok(text) => self.push(text),
            Err(_) => self,
        }
    }

    /// Appends `` `name` ``.
    pub const fn push_code(&mut self, name: &str) -> &mut Self {
        self.push("`").push(name).push("`")
    }

    /// Appends `count` followed by `unit` or `units` as the count requires.
    pub const fn push_count(&mut self, count: usize, unit: &str, units: &str) -> &mut Self {
        self.push_usize(count)
            .push(" ")
            .push(if count == 1 { unit } else { units })
    }

    const fn copy(&mut self, bytes: &[u8], take: usize) {
        let mut i = 0;
        while i < take {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }
}

impl Default for Message {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Display for Message {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares two strings in `const` code.
#[must_use]
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text() {
        let mut m = Message::new();
        m.push("size ")
            .push_usize(0)
            .push(" ")
            .push_usize(18_446_744_073_709_551_615);
        assert_eq!(m.as_str(), "size 0 18446744073709551615");
        let mut m = Message::new();
        m.push_count(1, "byte", "bytes")
            .push(", ")
            .push_count(2, "byte", "bytes");
        assert_eq!(m.as_str(), "1 byte, 2 bytes");
    }

    #[test]
    fn overflow_is_cut_at_a_char_boundary() {
        let mut m = Message::new();
        for _ in 0..MESSAGE_CAPACITY {
            m.push("é");
        }
        let text = m.as_str().to_owned();
        assert!(text.ends_with(ELLIPSIS));
        assert!(text.len() <= MESSAGE_CAPACITY);
        assert!(text.trim_end_matches(ELLIPSIS).chars().all(|c| c == 'é'));
        m.push("more");
        assert_eq!(m.as_str(), text, "a full message takes no more text");
    }

    #[test]
    fn const_evaluation() {
        const M: Message = {
            let mut m = Message::new();
            m.push_code("flag").push(" at ").push_usize(7);
            m
        };
        assert_eq!(M.as_str(), "`flag` at 7");
        assert!(str_eq("abc", "abc") && !str_eq("abc", "abd") && !str_eq("ab", "abc"));
    }
}
