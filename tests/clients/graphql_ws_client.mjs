// Subscribes to tagEvents with graphql-ws (graphql-transport-ws over the `ws` socket),
// makes tags over HTTP and prints one JSON result once it has seen their events.
// Usage: node graphql_ws_client.mjs <graphql-url> <workspace> <bearer-token>
//
// The server registers a subscription asynchronously, so tags are made until
// one event arrives; after that every commit is delivered, so the tag made
// next ("After live") must be the event that follows it.
import { createClient } from 'graphql-ws/client';
import WebSocket from 'ws';

const [url, workspace, token] = process.argv.slice(2);
const auth = { Authorization: `Bearer ${token}` };
const SUBSCRIBE = 'subscription($ws: ID!) { tagEvents(workspaceId: $ws) { kind tagId workspaceId tag { name } } }';
const CREATE = 'mutation($ws: ID!, $name: String!) { createTag(input: {workspaceId: $ws, name: $name}) { tag { id } userErrors { code } } }';
const GIVE_UP_MS = 60_000;

async function createTag(name) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ query: CREATE, variables: { ws: workspace, name } }),
  });
  const body = await response.json();
  if (body.errors || body.data.createTag.userErrors.length) throw new Error(JSON.stringify(body));
  return body.data.createTag.tag.id;
}

const client = createClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: auth,
  retryAttempts: 0,
});
const events = client.iterate({ query: SUBSCRIBE, variables: { ws: workspace } });
const next = () => events.next().then((r) => {
  if (r.done) throw new Error('the subscription ended');
  if (r.value.errors) throw new Error(JSON.stringify(r.value.errors));
  return r.value.data.tagEvents;
});

const giveUp = setTimeout(() => { console.error('no event in time'); process.exit(2); }, GIVE_UP_MS);
const probes = [];
let pending = next();
let first = null;
while (first === null) {
  probes.push(await createTag(`Probe ${probes.length}`));
  first = await Promise.race([pending, new Promise((r) => setTimeout(() => r(null), 500))]);
}
// Probes made after the one that arrived first are still on their way.
let seen = first;
while (seen.tagId !== probes[probes.length - 1]) seen = await next();
const afterId = await createTag('After live');
const after = await next();
clearTimeout(giveUp);
await events.return();
await client.dispose();
console.log(JSON.stringify({ probes, first, afterId, after }));
