//! Validated identifiers: namespaces, tables and users.
//!
//! Names arrive in SQL and end up in keys, logs and (for cold storage) paths, so they are
//! checked once, where they are made: never empty, never too long, never a path trick
//! (`..`, `/`, `\`) or a NUL. Namespace and table names are SQL identifiers and are
//! lowercased, as unquoted SQL identifiers are; user ids keep their case.

use std::fmt;
use std::str::FromStr;

use kalam::ColumnVia;

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The name is empty.
    #[error("a {kind} cannot be empty")]
    Empty {
        /// What was being named.
        kind: &'static str,
    },
    /// The name is longer than allowed.
    #[error("a {kind} is at most {max} bytes; `{value}` is {len}")]
    TooLong {
        /// What was being named.
        kind: &'static str,
        /// The limit.
        max: usize,
        /// The length given.
        len: usize,
        /// The name given.
        value: String,
    },
    /// The name contains something it may not.
    #[error("a {kind} may not contain {what}: {value:?}")]
    Forbidden {
        /// What was being named.
        kind: &'static str,
        /// What it contained.
        what: &'static str,
        /// The name given.
        value: String,
    },
}

/// Refuses the path tricks and control characters no name may hold.
fn check_common(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    let forbidden = |what| {
        Err(IdError::Forbidden {
            kind,
            what,
            value: value.to_owned(),
        })
    };
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > max {
        return Err(IdError::TooLong {
            kind,
            max,
            len: value.len(),
            value: value.to_owned(),
        });
    }
    if value.contains('\0') {
        return forbidden("a NUL byte");
    }
    if value.contains("..") {
        return forbidden("`..`");
    }
    if value.contains(['/', '\\']) {
        return forbidden("a path separator");
    }
    if value.chars().any(char::is_control) {
        return forbidden("a control character");
    }
    Ok(())
}

/// An SQL identifier: ASCII letters, digits and `_`, not starting with a digit; lowercased.
fn identifier(kind: &'static str, value: &str) -> Result<String, IdError> {
    check_common(kind, value, 64)?;
    let mut chars = value.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts_well {
        return Err(IdError::Forbidden {
            kind,
            what: "a first character other than a letter or `_`",
            value: value.to_owned(),
        });
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(IdError::Forbidden {
            kind,
            what: "characters other than ASCII letters, digits and `_`",
            value: value.to_owned(),
        });
    }
    Ok(value.to_ascii_lowercase())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $validate:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            ///
            /// # Errors
            ///
            /// If it is empty, too long, or holds a forbidden character.
            pub fn new(value: impl AsRef<str>) -> Result<Self, IdError> {
                let validate: fn(&str) -> Result<String, IdError> = $validate;
                validate(value.as_ref()).map($name)
            }

            /// The name as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        /// Stored as its text; a stored value that fails validation is refused on read.
        impl ColumnVia<String> for $name {
            fn to_repr(&self) -> String {
                self.0.clone()
            }
            fn from_repr(repr: String) -> Result<Self, String> {
                Self::new(repr).map_err(|err| err.to_string())
            }
        }
    };
}

id_type!(
    /// A namespace: an SQL identifier, lowercased.
    NamespaceId,
    |value| identifier("namespace", value)
);

id_type!(
    /// A table's name within its namespace: an SQL identifier, lowercased.
    TableName,
    |value| identifier("table name", value)
);

id_type!(
    /// A user's id: any text up to 128 bytes without path tricks or control characters;
    /// case is kept.
    UserId,
    |value| check_common("user id", value, 128).map(|()| value.to_owned())
);

/// A table's full name: its namespace and its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    /// The namespace.
    pub namespace: NamespaceId,
    /// The name within it.
    pub name: TableName,
}

impl TableId {
    /// Parses `namespace.table`.
    ///
    /// # Errors
    ///
    /// If there is no single `.`, or either part is not a valid name.
    pub fn parse(qualified: &str) -> Result<Self, IdError> {
        let Some((namespace, name)) = qualified.split_once('.') else {
            return Err(IdError::Forbidden {
                kind: "table id",
                what: "no `.` between namespace and table (write `namespace.table`)",
                value: qualified.to_owned(),
            });
        };
        Ok(TableId {
            namespace: NamespaceId::new(namespace)?,
            name: TableName::new(name)?,
        })
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercased_identifiers() {
        assert_eq!(NamespaceId::new("System").unwrap().as_str(), "system");
        assert_eq!(TableName::new("_Jobs_2").unwrap().as_str(), "_jobs_2");
        for bad in ["", "2fa", "a-b", "a.b", "a b", "ä", "..", "a/b"] {
            assert!(NamespaceId::new(bad).is_err(), "{bad:?}");
        }
        assert!(NamespaceId::new("a".repeat(65)).is_err());
    }

    #[test]
    fn user_ids_keep_case_and_refuse_path_tricks() {
        assert_eq!(
            UserId::new("Alice@Example.com").unwrap().as_str(),
            "Alice@Example.com"
        );
        for bad in ["", "../etc", "a/b", "a\\b", "a\0b", "tab\there"] {
            let err = UserId::new(bad).unwrap_err();
            assert!(!err.to_string().is_empty(), "{bad:?}");
        }
        assert_eq!(
            UserId::new("a/b").unwrap_err().to_string(),
            "a user id may not contain a path separator: \"a/b\""
        );
    }

    #[test]
    fn table_ids_parse_and_print() {
        let id = TableId::parse("App.Messages").unwrap();
        assert_eq!(id.to_string(), "app.messages");
        assert!(TableId::parse("messages").is_err());
        assert!(
            TableId::parse("a.b.c").is_err(),
            "the table part `b.c` is not an identifier"
        );
    }

    #[test]
    fn stored_names_are_checked_again_on_read() {
        assert_eq!(
            <NamespaceId as ColumnVia<String>>::from_repr("ok".into()),
            Ok(NamespaceId::new("ok").unwrap())
        );
        assert!(<UserId as ColumnVia<String>>::from_repr("../x".into()).is_err());
    }
}
