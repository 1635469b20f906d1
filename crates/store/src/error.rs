/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stored value is not one of the names its column may hold (a row written by a newer release,
    /// or by hand).
    #[error("{column} holds {value:?}, which this release does not know")]
    UnknownValue {
        /// The table and column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
    /// Neither `DATABASE_URL` nor a database URL file was given.
    #[error(
        "no database configured: set DATABASE_URL (e.g. postgres://user@host:5432/reposage) or pass --database-url-file"
    )]
    MissingUrl,
    /// The database URL file could not be read.
    #[error("cannot read the database URL from {path}")]
    ReadUrlFile {
        /// The file named.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL")]
    InvalidUrl {
        /// Why parsing failed.
        #[source]
        source: sqlx::Error,
    },
    /// No connection to the database could be established.
    #[error("cannot connect to the database")]
    Connect {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed")]
    Migrate {
        /// The migrator's error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    /// A row referenced by id does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// The kind of row, e.g. `run`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A write the row's state forbids (a closed conversation, an answer still being written).
    #[error("{what} {id} {reason}")]
    Conflict {
        /// The kind of row, e.g. `conversation`.
        what: &'static str,
        /// Its id.
        id: String,
        /// Why the write is refused, e.g. `is closed`.
        reason: String,
    },
    /// A stored JSON column did not match its Rust type.
    #[error("stored {what} is not valid")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
