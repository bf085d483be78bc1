// What the pages share: one GraphQL request to this server with a bearer token.
"use strict";

class NetworkDown extends Error {}

/** POST a query; the answer's data, or an Error with the server's Chinese message.
 *  A request that never reached the server throws NetworkDown; a 401 calls onUnauthorised. */
async function postGraphQL(token, query, variables, onUnauthorised) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new NetworkDown(String(error));
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new Error(`服务器返回了无法识别的答复(HTTP ${response.status}),请稍后重试`);
  }
  if (response.status === 401) onUnauthorised();
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}
