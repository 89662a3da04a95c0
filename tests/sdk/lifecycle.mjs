// The whole restore lifecycle through Microsoft's JavaScript client (@microsoft/microsoft-graph-client),
// with a small middleware that adds the bearer token (the client's auth-provider route does not send
// tokens to plain-http custom hosts).
//
//     node lifecycle.mjs BASE_URL (beta|v1.0) TOKEN SEED_JSON
//
// Prints one line per check and ends with `N passed, N failed`; exits 1 when any check failed.
import { readFileSync } from "node:fs";
import { Client, HTTPMessageHandler } from "@microsoft/microsoft-graph-client";

const [base, version, token, seedPath] = process.argv.slice(2);
const seed = JSON.parse(readFileSync(seedPath, "utf8"));
const results = [];
const check = (name, ok, detail) => {
  results.push(Boolean(ok));
  console.log(`${ok ? "ok  " : "FAIL"} js ${version} ${name}${ok ? "" : " -- " + JSON.stringify(detail)}`);
};

class BearerToken {
  setNext(next) {
    this.next = next;
  }
  async execute(context) {
    const headers = context.options.headers instanceof Headers ? context.options.headers : new Headers(context.options.headers || {});
    headers.set("Authorization", `Bearer ${token}`);
    context.options.headers = headers;
    return this.next.execute(context);
  }
}
const auth = new BearerToken();
auth.setNext(new HTTPMessageHandler());
// customHosts lets the client follow a full URL (an @odata.nextLink) on an https host; on plain
// http it does not recognise full URLs at all, so `follow` below passes it the path and query.
const client = Client.initWithMiddleware({
  middleware: auth,
  baseUrl: `${base}/`,
  defaultVersion: version,
  customHosts: new Set([new URL(base).host]),
});
const br = "/solutions/backupRestore";
const units = (kind) => seed.protectionUnits.filter((u) => u.kind === kind);

const listed = await client.api(`${br}/protectionUnits`).get();
check("protectionUnits lists every seeded unit", listed.value.length === seed.protectionUnits.length, listed.value.length);
check("units carry @odata.type", listed.value.every((u) => u["@odata.type"]?.startsWith("#microsoft.graph.")), listed.value);

const now = Date.now();
const drive = units("drive")[0];
const points = await client
  .api(`${br}/restorePoints`)
  .expand(`protectionUnit($filter=id eq '${drive.id}')`)
  .filter(`protectionDateTime lt ${new Date(now + 86400e3).toISOString().replace(/\.\d+Z$/, "Z")}`)
  .get();
// Every seeded point, and only the unit's points: the server's own retention pass adds one more when
// a 10-minute slot begins between the seed and this request.
check(
  "restorePoints lists the unit's points",
  drive.restorePointIds.every((id) => points.value.some((p) => p.id === id)) &&
    points.value.every((p) => p.protectionUnit?.id === drive.id),
  points,
);
const found = await client.api(`${br}/restorePoints/search`).post({
  protectionUnitIds: units("mailbox").map((u) => u.id),
  protectionTimePeriod: { startDateTime: new Date(now - 30 * 86400e3).toISOString(), endDateTime: new Date(now + 86400e3).toISOString() },
  restorePointPreference: "oldest",
});
check("restorePoints/search answers for each mailbox", found.searchResults.length === units("mailbox").length, found);

const created = [];
for (const [set, nav, kind] of [
  ["sharePointRestoreSessions", "siteRestoreArtifacts", "site"],
  ["exchangeRestoreSessions", "mailboxRestoreArtifacts", "mailbox"],
  ["oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts", "drive"],
]) {
  const body = {
    "@odata.type": `#microsoft.graph.${set.slice(0, -1)}`,
    [nav]: units(kind).slice(0, 1).map((u) => ({ restorePoint: { id: u.restorePointIds[1] }, destinationType: "new" })),
  };
  const s = await client.api(`${br}/${set}`).post(body);
  check(`create ${set}`, s.id && s.status === "draft", s);
  created.push({ set, nav, kind, id: s.id });
}
const poly = await client.api(`${br}/restoreSessions/${created[1].id}`).get();
check("polymorphic get has the exchange type", poly["@odata.type"] === "#microsoft.graph.exchangeRestoreSession", poly);

let page = await client.api(`${br}/restoreSessions`).top(1).get();
const seen = page.value.map((s) => s.id);
const follow = (link) => (link.startsWith("https://") ? link : link.slice(`${base}/${version}`.length));
const links = [];
while (page["@odata.nextLink"]) {
  links.push(page["@odata.nextLink"]);
  page = await client.api(follow(page["@odata.nextLink"])).get();
  seen.push(...page.value.map((s) => s.id));
}
check("$top=1 pages through every session", seen.length === 3 && created.every((c) => seen.includes(c.id)), seen);
check("nextLinks are absolute, on this server", links.length === 2 && links.every((l) => l.startsWith(`${base}/${version}/`)), links);

const drafts = await client.api(`${br}/restoreSessions`).filter("status eq 'draft'").orderby("createdDateTime desc").count(true).get();
check("$filter, $orderby and $count", drafts["@odata.count"] === 3 && drafts.value[0].id === created[2].id, drafts);

const site = created[0];
const arts = await client.api(`${br}/${site.set}/${site.id}/${site.nav}`).get();
const echo = await client.api(`${br}/${site.set}/${site.id}`).patch({
  [`${site.nav}@delta`]: [
    { restorePoint: { id: units("site")[1].restorePointIds[0] }, destinationType: "new" },
    { "@removed": { reason: "changed" }, id: arts.value[0].id },
  ],
});
check("delta PATCH echoes both items", echo[`${site.nav}@delta`]?.length === 2, echo);

await client.api(`${br}/${created[1].set}/${created[1].id}`).delete();
try {
  await client.api(`${br}/restoreSessions/${created[1].id}`).get();
  check("GET after DELETE throws", false, "no error");
} catch (e) {
  check("GET after DELETE throws a 404 GraphError", e.statusCode === 404 && e.code === "RestoreSessionNotFound", e);
}

await client.api(`${br}/restoreSessions/${site.id}/activate`).post({});
let status;
for (let i = 0; i < 200; i++) {
  status = (await client.api(`${br}/restoreSessions/${site.id}`).get()).status;
  if (["completed", "completedWithError", "unknownFutureValue"].includes(status)) break;
  await new Promise((r) => setTimeout(r, 50));
}
check("activated session completes", status === "completed", status);
const done = await client.api(`${br}/${site.set}/${site.id}/${site.nav}`).get();
check("every artifact succeeded", done.value.length === 1 && done.value.every((a) => a.status === "succeeded"), done.value);
check("datetimes parse", done.value.every((a) => !Number.isNaN(Date.parse(a.completionDateTime))), done.value);

const passed = results.filter(Boolean).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
