-- Lookups by e-mail and site URL ignore case the same way on every backend: `lower(column) =
-- lower(?)`, served by indexes on the same expressions.
DROP INDEX directory_by_email;
DROP INDEX directory_by_url;
CREATE INDEX directory_by_email ON directory_resources (tenant_id, workload, lower(email));
CREATE INDEX directory_by_url ON directory_resources (tenant_id, workload, lower(rtrim(site_web_url, '/')));
