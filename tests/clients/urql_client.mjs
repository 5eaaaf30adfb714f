// Runs the three SPA flows of tests/api/test_clients.py with urql and prints one JSON result.
// Usage: node urql_client.mjs <graphql-url> <workspace>
import { Client, fetchExchange, gql } from '@urql/core';

const [url, workspace] = process.argv.slice(2);
const client = new Client({ url, exchanges: [fetchExchange], requestPolicy: 'network-only' });

const CREATE = gql`
  mutation Create($input: CreateTagInput!) {
    createTag(input: $input) { tag { id name slug } userErrors { code field message } }
  }`;
const PAGE = gql`
  query Page($ws: ID!, $after: String) {
    tags(workspaceId: $ws, first: 3, after: $after) {
      totalCount nodes { name } pageInfo { hasNextPage endCursor }
    }
  }`;

const out = {};
const created = await client.mutation(CREATE, { input: { workspaceId: workspace, name: 'From urql' } }).toPromise();
out.created = created.data.createTag;
const duplicate = await client.mutation(CREATE, { input: { workspaceId: workspace, name: 'FROM URQL' } }).toPromise();
out.duplicate = duplicate.data.createTag;
const names = [];
let after = null;
for (;;) {
  const page = await client.query(PAGE, { ws: workspace, after }).toPromise();
  if (page.error) throw page.error;
  names.push(...page.data.tags.nodes.map((n) => n.name));
  out.totalCount = page.data.tags.totalCount;
  if (!page.data.tags.pageInfo.hasNextPage) break;
  after = page.data.tags.pageInfo.endCursor;
}
out.walked = names;
console.log(JSON.stringify(out));
