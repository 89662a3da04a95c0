//! What the SQLite migrations do to rows that were there before them.

use std::path::PathBuf;

/// The SQLite migration files, in order, split at the first of version `at`.
fn migrations_split_at(at: &str) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.into_iter().partition(|f| f.file_name().unwrap().to_str().unwrap() < at)
}

fn run(c: &rusqlite::Connection, files: &[PathBuf]) {
    for f in files {
        c.execute_batch(&std::fs::read_to_string(f).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn join_keys_are_filled_in_for_the_rows_already_there() {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    let (before, after) = migrations_split_at("0026");
    assert!(after.first().is_some_and(|f| f.ends_with("0026_join_keys.sql")), "{after:?}");
    run(&c, &before);
    // Two tenants whose unit, point, session and artifact have the same ids; the second tenant's
    // rows come first, so a row's key is not its tenant's order.
    c.execute_batch(
        "INSERT INTO protection_units (tenant_id, id, workload, status, created_at) \
             VALUES ('t2', 'u', 'site', 'protected', 0), ('t1', 'u', 'site', 'protected', 0);
         INSERT INTO restore_points (tenant_id, id, protection_unit_id, protection_at, expiration_at, tags) \
             VALUES ('t1', 'p', 'u', 0, 1, 'none'), ('t2', 'p', 'u', 0, 1, 'none');
         INSERT INTO restore_sessions (tenant_id, id, workload, restore_job_type, created_at, created_by, \
             last_modified_at, last_modified_by, status) \
             VALUES ('t2', 's', 'site', 'standard', 0, '{}', 0, '{}', 'draft'), \
             ('t1', 's', 'site', 'standard', 0, '{}', 0, '{}', 'draft');
         INSERT INTO restore_artifacts (tenant_id, id, session_id, restore_point_id, destination_type, status, created_at) \
             VALUES ('t2', 'a', 's', 'p', 'new', 'added', 0), ('t1', 'a', 's', 'p', 'new', 'added', 0);",
    )
    .unwrap();
    run(&c, &after);
    let joined: Vec<(String, String, String)> = c
        .prepare(
            "SELECT a.tenant_id, rp.tenant_id, pu.tenant_id FROM restore_artifacts a \
             JOIN restore_points rp ON rp.seq = a.point_seq JOIN protection_units pu ON pu.seq = rp.unit_seq \
             ORDER BY a.tenant_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let each = |t: &str| (t.to_owned(), t.to_owned(), t.to_owned());
    assert_eq!(joined, [each("t1"), each("t2")]);
}
