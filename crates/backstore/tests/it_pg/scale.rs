//! Several `backstore serve` processes on one PostgreSQL database.
