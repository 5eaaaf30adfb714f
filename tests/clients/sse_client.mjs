// Subscribes with graphql-sse's own client ("distinct connections" mode), makes a tag
// go through CREATED/UPDATED/DELETED, runs a query over SSE, and prints one JSON result.
// Usage: node sse_client.mjs <graphql-url> <workspace>
import { createClient } from 'graphql-sse';

const [url, workspace] = process.argv.slice(2);
const client = createClient({ url, singleConnection: false, retryAttempts: 0 });

async function post(query, variables) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const CREATE = `mutation($ws: ID!, $name: String!) {
  createTag(input: { workspaceId: $ws, name: $name }) { tag { id } } }`;
const RENAME = `mutation($id: ID!, $name: String!) { updateTag(input: { id: $id, name: $name }) { tag { id } } }`;
const DELETE = `mutation($id: ID!) { deleteTag(input: { id: $id }) { deletedTagIds } }`;

const events = client.iterate({
  query: `subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId tag { name } } }`,
  variables: { ws: workspace },
});

// Until the server's subscription is live, a probe tag's event may be missed: probe until one arrives.
let live = false;
let pendingNext = null;
for (let attempt = 0; attempt < 60 && !live; attempt++) {
  await post(CREATE, { ws: workspace, name: `probe ${attempt}` });
  pendingNext = pendingNext ?? events.next();
  const got = await Promise.race([
    pendingNext,
    new Promise((resolve) => setTimeout(() => resolve('timeout'), 1000)),
  ]);
  if (got !== 'timeout') {
    if (got.done) throw new Error('the subscription completed early');
    live = true;
    pendingNext = null;
  }
}
if (!live) throw new Error('the subscription never delivered an event');

const created = await post(CREATE, { ws: workspace, name: 'From graphql-sse' });
const tagId = created.createTag.tag.id;
await post(RENAME, { id: tagId, name: 'Renamed by graphql-sse' });
await post(DELETE, { id: tagId });

const mine = [];
while (mine.length === 0 || mine[mine.length - 1].kind !== 'DELETED') {
  const { value, done } = await events.next();
  if (done) throw new Error('the subscription completed early');
  if (value.errors) throw new Error(JSON.stringify(value.errors));
  const event = value.data.tagEvents;
  if (event.tagId === tagId) mine.push(event);
}
// Disposes the subscription: the client closes its connection.
await events.return();

await post(CREATE, { ws: workspace, name: 'Kept' });
const query = [];
for await (const result of client.iterate({
  query: `query($ws: ID!) { tags(workspaceId: $ws, filter: { search: "kept" }) { nodes { name } } }`,
  variables: { ws: workspace },
})) {
  query.push(result.data);
}
client.dispose();

console.log(JSON.stringify({
  kinds: mine.map((e) => e.kind),
  names: mine.map((e) => (e.tag ? e.tag.name : null)),
  query,
}));
