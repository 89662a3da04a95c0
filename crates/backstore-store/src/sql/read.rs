//! Reads outside write transactions, and the one row interface every record decoder reads through.
//!
//! PostgreSQL reads go through the sqlx pool. (A second pool of sqlx's native PostgreSQL driver
//! was measured: GET one session 25 % faster, activate-to-terminal half as fast with the extra
//! connections on two cores; not kept.) SQLite reads go through connections of their own,
//! opened with `rusqlite` on the same file, and run on the calling thread: a point read or a page of
//! 100 rows takes tens of microseconds there, where sqlx's SQLite driver hands each row from its
//! worker thread to the async task through a channel (a thread wake-up per row, most of a page
//! read's cost in the profile of `docs/performance.md`). A read that may scan (a `$filter`, an
//! `$orderby` on an unindexed column, a `$count`) is marked [`Cost::Scan`] and runs inside
//! `block_in_place`, so the runtime's other tasks move to another thread meanwhile.
//!
//! In WAL mode a read outside a transaction sees every transaction committed before it started,
//! so a native read sees each write a client has seen acknowledged, as the pool's reads do. A
//! native reader may instead read in a transaction it kept open since an earlier read, but only
//! while nothing was committed since it began (see [`super::readers`]), which shows the same.

use std::cell::{Cell, RefCell};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

use crate::{Bind, StoreError, StoreResult};

/// The columns of one result row, by name: what every `*_from_row` decoder reads, whichever
/// driver produced the row. Names are the code's own constants (`'static`), which lets a native
/// row find a column again by the name's address ([`Native::value`]); [`FIRST`] names the first
/// column, whatever it is called.
pub trait Columns {
    /// A text column borrowed from the row (`None` for NULL).
    fn str(&self, column: &'static str) -> StoreResult<Option<&str>>;
    /// An integer column (`None` for NULL).
    fn int(&self, column: &'static str) -> StoreResult<Option<i64>>;

    /// A text column (`None` for NULL).
    fn text(&self, column: &'static str) -> StoreResult<Option<String>> {
        Ok(self.str(column)?.map(str::to_owned))
    }

    /// A text column that is never NULL, borrowed from the row.
    fn req_str(&self, column: &'static str) -> StoreResult<&str> {
        not_null(self.str(column)?, column)
    }
}

/// The name that stands for a row's first column (what a one-value statement yields).
pub(super) const FIRST: &str = "\0first column";

/// Where `column` is among a row's column `names`.
pub(super) fn position(names: &[String], column: &str) -> StoreResult<usize> {
    if column == FIRST && !names.is_empty() {
        return Ok(0);
    }
    names.iter().position(|n| n == column).ok_or_else(|| StoreError::Corrupt(format!("no column '{column}'")))
}

/// A value a column decodes into.
pub trait Column: Sized {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self>;
}

fn not_null<T>(v: Option<T>, column: &str) -> StoreResult<T> {
    v.ok_or_else(|| StoreError::Corrupt(format!("column '{column}' is NULL")))
}

impl Column for String {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self> {
        not_null(row.text(column)?, column)
    }
}

impl Column for Option<String> {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self> {
        row.text(column)
    }
}

impl Column for i64 {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self> {
        not_null(row.int(column)?, column)
    }
}

impl Column for Option<i64> {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self> {
        row.int(column)
    }
}

impl Column for bool {
    fn read<R: Columns + ?Sized>(row: &R, column: &'static str) -> StoreResult<Self> {
        Ok(not_null(row.int(column)?, column)? != 0)
    }
}

/// Reading a column as the type it decodes into, on any row.
pub trait Col: Columns {
    /// The column named `column`, decoded as `T`.
    fn col<T: Column>(&self, column: &'static str) -> StoreResult<T> {
        T::read(self, column)
    }

    /// The row's first column, decoded as `T`.
    fn first<T: Column>(&self) -> StoreResult<T> {
        T::read(self, FIRST)
    }
}

impl<R: Columns + ?Sized> Col for R {}

impl Columns for AnyRow {
    fn str(&self, column: &'static str) -> StoreResult<Option<&str>> {
        match column {
            FIRST => Ok(sqlx::Row::try_get(self, 0)?),
            _ => Ok(sqlx::Row::try_get(self, column)?),
        }
    }

    fn int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        match column {
            FIRST => Ok(sqlx::Row::try_get(self, 0)?),
            _ => Ok(sqlx::Row::try_get(self, column)?),
        }
    }
}

/// A value bound to a `?` placeholder of a read.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    /// A NULL where text goes (PostgreSQL types each parameter).
    Null,
    /// A NULL where an integer goes.
    NullInt,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

impl<'a> From<&'a Bind> for Arg<'a> {
    fn from(b: &'a Bind) -> Self {
        match b {
            Bind::Text(s) => Arg::Text(s),
            Bind::Int(i) => Arg::Int(*i),
        }
    }
}

/// The store's own bind values as [`Arg`]s.
pub(crate) fn args_of(binds: &[Bind]) -> Vec<Arg<'_>> {
    binds.iter().map(Arg::from).collect()
}

/// A value that binds to a placeholder: what `exec!` and `args!` take.
pub trait ToArg {
    fn arg(&self) -> Arg<'_>;
    /// The NULL of this type (an `Option`'s `None`).
    fn null() -> Arg<'static> {
        Arg::Null
    }
}

impl ToArg for str {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl ToArg for String {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl ToArg for i64 {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(*self)
    }

    fn null() -> Arg<'static> {
        Arg::NullInt
    }
}

impl ToArg for bool {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(i64::from(*self))
    }

    fn null() -> Arg<'static> {
        Arg::NullInt
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn arg(&self) -> Arg<'_> {
        self.as_ref().map_or(T::null(), ToArg::arg)
    }
}

impl ToArg for Arg<'_> {
    fn arg(&self) -> Arg<'_> {
        *self
    }
}

impl ToArg for Bind {
    fn arg(&self) -> Arg<'_> {
        Arg::from(self)
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn arg(&self) -> Arg<'_> {
        (**self).arg()
    }

    fn null() -> Arg<'static> {
        T::null()
    }
}

/// A sqlx query of `sql` (already numbered) with `args` bound in order.
pub(super) fn bind_args<'q>(sql: &'q str, args: &[Arg<'_>]) -> Query<'q, Any, AnyArguments<'q>> {
    args.iter().fold(sqlx::query(sql), |q, a| match *a {
        Arg::Text(s) => q.bind(s.to_owned()),
        Arg::Int(i) => q.bind(i),
        Arg::Null => q.bind(None::<String>),
        Arg::NullInt => q.bind(None::<i64>),
    })
}

/// What a read may cost the thread that runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// A read by key or along an index, bounded by its `LIMIT`: run where it is asked for.
    Seek,
    /// A read that may visit every row of a tenant's collection.
    Scan,
}

impl Cost {
    /// A collection read costs a scan when it filters, sorts by something other than creation
    /// order, or counts.
    pub fn of_list(spec: &crate::ListSpec) -> Cost {
        if spec.filter.is_some() || !spec.order.is_empty() || spec.count {
            Cost::Scan
        } else {
            Cost::Seek
        }
    }
}

/// Binds `args` to a native statement's placeholders, by position.
pub(super) fn bind_native(stmt: &mut rusqlite::Statement<'_>, args: &[Arg<'_>]) -> StoreResult<()> {
    for (i, a) in args.iter().enumerate() {
        match *a {
            Arg::Text(s) => stmt.raw_bind_parameter(i + 1, s)?,
            Arg::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Arg::Null | Arg::NullInt => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?,
        }
    }
    Ok(())
}

/// How many times a cached statement may have been compiled again before a debug build calls it a
/// statement SQLite recompiles on every run.
const RECOMPILES: i32 = 3;

/// Refuses, in debug builds (the tests), a cached statement that SQLite compiled again more than a
/// few times: one whose plan read a bound value (a parameter compared with a partial index's
/// `WHERE`, or used by STAT4 estimates) is recompiled every time it is bound, which cost a fifth of
/// a page of 100 artifacts before such values were written into the statements
/// (`docs/performance.md`). Write such a value into the SQL when it is one of the code's constants.
pub(super) fn no_recompiles(stmt: &rusqlite::Statement<'_>, sql: &str) {
    let recompiled = stmt.get_status(rusqlite::StatementStatus::RePrepare);
    debug_assert!(recompiled <= RECOMPILES, "SQLite recompiled this statement {recompiled} times: {sql}");
}

/// Every row `sql` yields for `args` on a native connection, each decoded by `decode`, into a
/// vector with room for `expect` rows from the start (a page of 100 large records otherwise copies
/// them again each time the vector grows).
pub(super) fn native_rows<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg<'_>],
    expect: usize,
    mut decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind_native(&mut stmt, args)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let asked = RefCell::new(Vec::new());
    let mut rows = stmt.raw_query();
    let mut out = Vec::with_capacity(expect);
    while let Some(row) = rows.next()? {
        out.push(decode(&Native { row, names: &names, asked: &asked, nth: Cell::new(0) })?);
    }
    drop(rows);
    no_recompiles(&stmt, sql);
    Ok(out)
}

/// Runs `f` here; a scan on a multi-threaded runtime first hands this worker's other tasks on.
pub(super) fn on_this_thread<T>(cost: Cost, f: impl FnOnce() -> T) -> T {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if cost == Cost::Scan && multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// A row of a native SQLite read, its columns found by name.
struct Native<'a, 's> {
    row: &'a rusqlite::Row<'s>,
    names: &'a [String],
    /// What each lookup of the previous row found, in the order they were made: the name's
    /// address and length, and the column's index. A decoder asks for the same columns in the
    /// same order on every row, so after the first row each lookup is one comparison of addresses
    /// (names are `'static`: one address never holds two names).
    asked: &'a RefCell<Vec<(usize, usize, usize)>>,
    /// How many lookups this row has made.
    nth: Cell<usize>,
}

impl Native<'_, '_> {
    fn value(&self, column: &'static str) -> StoreResult<rusqlite::types::ValueRef<'_>> {
        let nth = self.nth.get();
        self.nth.set(nth + 1);
        let key = (column.as_ptr() as usize, column.len());
        let mut asked = self.asked.borrow_mut();
        let i = match asked.get(nth) {
            Some(&(ptr, len, i)) if (ptr, len) == key => i,
            known => {
                let i = position(self.names, column)?;
                match known {
                    Some(_) => asked[nth] = (key.0, key.1, i),
                    None => asked.push((key.0, key.1, i)),
                }
                i
            }
        };
        Ok(self.row.get_ref(i)?)
    }
}

impl Columns for Native<'_, '_> {
    fn str(&self, column: &'static str) -> StoreResult<Option<&str>> {
        native_str(self.value(column)?, column)
    }

    fn int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        native_int(self.value(column)?, column)
    }
}

/// A native value as text (`None` for NULL), or a corrupt row.
pub(super) fn native_str<'v>(v: rusqlite::types::ValueRef<'v>, column: &str) -> StoreResult<Option<&'v str>> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(b) => {
            Ok(Some(std::str::from_utf8(b).map_err(|e| StoreError::Corrupt(format!("column '{column}': {e}")))?))
        }
        other => Err(StoreError::Corrupt(format!("column '{column}' is {:?}, not text", other.data_type()))),
    }
}

/// A native value as an integer (`None` for NULL), or a corrupt row.
pub(super) fn native_int(v: rusqlite::types::ValueRef<'_>, column: &str) -> StoreResult<Option<i64>> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(i) => Ok(Some(i)),
        other => Err(StoreError::Corrupt(format!("column '{column}' is {:?}, not an integer", other.data_type()))),
    }
}
