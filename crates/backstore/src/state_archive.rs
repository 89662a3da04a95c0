//! `backstore state export NAME FILE` and `state import FILE NAME`: one tar archive that holds a
//! saved state whole — its database's rows, the content packs its chunk index names, and the
//! content keys of the tenants that have content (without them the packs cannot be read) — and
//! loads on either database backend.
//!
//! Layout: `backstore-state.json` (the manifest), `keys/<tenant>.json`, `tables/<table>.json`
//! (`{"name", "columns", "rows"}`), `packs/<tenant>/<pack id>`, in that order, so an import
//! checks the keys before it writes anything else.

use std::io::Read as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use backstore_content::{Objects, PackId};
use backstore_domain::Timestamp;
use backstore_store::sql::archive::TableRows;
use backstore_store::sql::states::States;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const MANIFEST: &str = "backstore-state.json";
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    format: u32,
    name: String,
    saved_at: Timestamp,
    schema_version: i64,
    /// The backend the state was saved on (it loads on either).
    backend: String,
    tables: usize,
    rows: usize,
    packs: usize,
    tenants: Vec<String>,
}

/// The tenants' packs a state's chunk index names.
fn packs_of(tables: &[TableRows]) -> anyhow::Result<Vec<(String, PackId)>> {
    let Some(t) = tables.iter().find(|t| t.name == "content_packs") else { return Ok(Vec::new()) };
    let at = |c: &str| t.columns.iter().position(|x| x == c).context("content_packs lacks a column");
    let (tenant, pack) = (at("tenant_id")?, at("pack_id")?);
    t.rows
        .iter()
        .map(|r| {
            let tenant = r[tenant].as_str().context("a pack's tenant")?.to_owned();
            let pack = r[pack].as_str().and_then(|p| p.parse().ok()).context("a pack id")?;
            Ok((tenant, pack))
        })
        .collect()
}

fn append(tar: &mut tar::Builder<std::fs::File>, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes).with_context(|| format!("cannot write {path} into the archive"))
}

/// Writes state `name` into `file` (under a temporary name until it is whole).
pub async fn export(states: &States, objects: &Objects, keys: &Path, name: &str, file: &Path) -> anyhow::Result<Value> {
    let (state, tables) = states.dump(name).await?;
    let packs = packs_of(&tables)?;
    let mut tenants: Vec<String> = packs.iter().map(|(t, _)| t.clone()).collect();
    tenants.sort();
    tenants.dedup();
    let rows = tables.iter().map(|t| t.rows.len()).sum();
    let manifest = Manifest {
        format: FORMAT,
        name: state.name.clone(),
        saved_at: state.saved_at,
        schema_version: state.schema_version,
        backend: state.backend.to_owned(),
        tables: tables.len(),
        rows,
        packs: packs.len(),
        tenants: tenants.clone(),
    };
    let writing = file.with_extension("writing");
    let out = std::fs::File::create(&writing).with_context(|| format!("cannot create {}", writing.display()))?;
    let mut tar = tar::Builder::new(out);
    append(&mut tar, MANIFEST, &serde_json::to_vec_pretty(&manifest)?)?;
    for tenant in &tenants {
        let path = keys.join(format!("{tenant}.json"));
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read tenant {tenant}'s content keys"))?;
        append(&mut tar, &format!("keys/{tenant}.json"), &bytes)?;
    }
    for t in &tables {
        append(&mut tar, &format!("tables/{}.json", t.name), &serde_json::to_vec(t)?)?;
    }
    let mut bytes = 0u64;
    for (tenant, pack) in &packs {
        let data = objects.read_pack(tenant, pack).await.with_context(|| format!("cannot read pack {pack}"))?;
        bytes += data.len() as u64;
        append(&mut tar, &format!("packs/{tenant}/{pack}"), &data)?;
    }
    tar.into_inner()?.sync_all()?;
    std::fs::rename(&writing, file).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(json!({
        "name": state.name, "file": file.display().to_string(), "tables": tables.len(), "rows": rows,
        "packs": packs.len(), "packBytes": bytes, "tenants": tenants,
    }))
}

/// Makes state `name` from the archive `file`: its tenants' keys (refused if the data dir has
/// other keys for one of them), its packs, then the state's database.
pub async fn import(states: &States, objects: &Objects, keys: &Path, file: &Path, name: &str) -> anyhow::Result<Value> {
    let input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut archive = tar::Archive::new(input);
    let mut manifest: Option<Manifest> = None;
    let mut tables = Vec::new();
    let mut packs = 0usize;
    for entry in archive.entries().context("not a state archive")? {
        let mut entry = entry.context("a damaged state archive")?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        if path == MANIFEST {
            let m: Manifest = serde_json::from_slice(&bytes).context("the archive's manifest")?;
            if m.format != FORMAT {
                bail!("the archive is of format {}; this backstore reads format {FORMAT}", m.format);
            }
            manifest = Some(m);
            continue;
        }
        if manifest.is_none() {
            bail!("{} is not a state archive (it does not start with {MANIFEST})", file.display());
        }
        if let Some(tenant) = path.strip_prefix("keys/").and_then(|p| p.strip_suffix(".json")) {
            let target = keys.join(format!("{tenant}.json"));
            if tenant.contains('/') || tenant.starts_with('.') {
                bail!("a key file '{path}' outside the archive's keys");
            }
            match std::fs::read(&target) {
                Ok(mine) if mine == bytes => {}
                Ok(_) => bail!(
                    "tenant {tenant} already has other content keys in {} (import into a data dir without them)",
                    keys.display()
                ),
                Err(_) => write_key(&target, &bytes)?,
            }
        } else if path.starts_with("tables/") {
            tables.push(serde_json::from_slice::<TableRows>(&bytes).with_context(|| format!("the archive's {path}"))?);
        } else if let Some((tenant, pack)) = path.strip_prefix("packs/").and_then(|p| p.split_once('/')) {
            let pack: PackId = pack.parse().map_err(|_| anyhow::anyhow!("'{pack}' is not a pack id"))?;
            objects.put_pack(tenant, &pack, vec![bytes.into()]).await?;
            packs += 1;
        } else {
            bail!("'{path}' is not part of a state archive");
        }
    }
    let m = manifest.with_context(|| format!("{} holds no manifest", file.display()))?;
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    if (tables.len(), rows, packs) != (m.tables, m.rows, m.packs) {
        bail!(
            "the archive is incomplete: {} tables, {rows} rows, {packs} packs of {}, {}, {}",
            tables.len(),
            m.tables,
            m.rows,
            m.packs
        );
    }
    let state = states.restore(name, m.saved_at, m.schema_version, tables).await?;
    let mut out = serde_json::to_value(state)?;
    out["rows"] = json!(rows);
    out["packs"] = json!(packs);
    out["from"] = json!(m.backend);
    Ok(out)
}

fn write_key(target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(target).with_context(|| format!("cannot write {}", target.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
