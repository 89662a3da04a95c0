-- The live tree of the tenants' files: one drive per site (its document library) and per user
-- (OneDrive), and its items. A file's content is its list of chunks in the content store (JSON,
-- `[["<chunk id>", <length>], ...]`). A folder's `tree_id` is the id of its manifest in the content
-- store while nothing below it changed since the manifest was written, NULL once something did; every
-- change under a folder also bumps its `change_seq`, so a snapshot sets `tree_id` only on folders
-- that did not change while it wrote their manifests.
CREATE TABLE drives (
    tenant_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    drive_type TEXT NOT NULL,
    name TEXT NOT NULL,
    root_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, drive_id)
);

CREATE UNIQUE INDEX drives_by_resource ON drives (tenant_id, resource_id);

CREATE TABLE drive_items (
    tenant_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    -- NULL for the root.
    parent_id TEXT,
    name TEXT NOT NULL,
    -- The name lowercased: names are unique in a folder regardless of case, as in SharePoint.
    name_key TEXT NOT NULL,
    is_folder BIGINT NOT NULL,
    -- A file's bytes; a folder's, of everything below it.
    size BIGINT NOT NULL,
    chunks TEXT,
    mime_type TEXT,
    sha256 TEXT,
    quick_xor TEXT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL,
    -- Bumped by every change of the item (eTag) and of a file's content (cTag).
    version BIGINT NOT NULL,
    content_version BIGINT NOT NULL,
    deleted_at BIGINT,
    tree_id TEXT,
    change_seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, drive_id, item_id)
);

CREATE UNIQUE INDEX drive_items_by_name ON drive_items (tenant_id, drive_id, parent_id, name_key)
    WHERE deleted_at IS NULL;
