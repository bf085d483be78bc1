// 积分超市兑换终端: plain JavaScript, no build step, no network but this server.
"use strict";

const QUERIES = {
  viewer: "{ viewer { role scope names } }",
  lookup: `query($code: String!) { memberByCode(code: $code) {
    __typename ... on KioskMember { memberId maskedName balance } ... on Problem { code message } } }`,
  catalogue: `query($c: UUID!) { storeCatalogue(communityId: $c) { itemId name price stock } }`,
  redeem: `mutation($s: UUID!, $m: UUID!, $k: String!, $lines: [RedemptionLineInput!]!) {
    redeem(storeId: $s, memberId: $m, key: $k, lines: $lines) {
      __typename
      ... on RedemptionReceipt { id total balanceAfter at replayed member storeId kiosk
        lines { name quantity unitPrice amount } }
      ... on Problem { code message } } }`,
  recent: `query($m: UUID!) { recentRedemptions(memberId: $m, first: 5) {
    id total balanceAfter at member storeId kiosk cancelled
    lines { name quantity unitPrice amount } } }`,
};
const PENDING = "kiosk.pending"; // a confirmed basket whose answer has not been seen yet

const $ = (id) => document.getElementById(id);
const state = {
  token: localStorage.getItem("kiosk.token"),
  store: null,
  storeName: "",
  member: null,
  items: [],
  recent: [],
};

function show(section) {
  for (const id of ["signin", "lookup", "basket", "receipt"]) $(id).hidden = id !== section;
  $("signout").hidden = section === "signin";
}

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

function gql(query, variables = {}) {
  return postGraphQL(state.token, query, variables, () => {
    localStorage.removeItem("kiosk.token");
    state.token = null;
    show("signin");
  });
}

function randomKey() {
  // crypto.randomUUID needs a secure context; an intranet kiosk may be on plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "basket-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function start() {
  say("");
  if (!state.token) return show("signin");
  try {
    const { viewer } = await gql(QUERIES.viewer);
    if (viewer.role !== "KIOSK" || viewer.scope.length !== 1) {
      return say("该令牌不是积分超市终端的令牌,请更换令牌");
    }
    state.store = viewer.scope[0];
    state.storeName = viewer.names[0] || `超市 ${state.store.slice(0, 8)}`;
    $("store").textContent = `${state.storeName}积分超市`;
  } catch (error) {
    return say(error instanceof NetworkDown ? "网络中断,请检查网络后刷新页面" : error.message);
  }
  const pending = sessionStorage.getItem(PENDING);
  if (pending) {
    say("上次兑换尚未确认结果,正在安全重试(不会重复扣分)……", "info");
    return submit(JSON.parse(pending));
  }
  show("lookup");
  $("code").focus();
}

async function find() {
  const code = $("code").value.trim();
  if (!code) return say("请扫描或输入会员码");
  say("");
  try {
    const { memberByCode: found } = await gql(QUERIES.lookup, { code });
    if (found.__typename !== "KioskMember") return say(found.message);
    state.member = found;
    const [{ storeCatalogue }, { recentRedemptions }] = await Promise.all([
      gql(QUERIES.catalogue, { c: state.store }),
      gql(QUERIES.recent, { m: found.memberId }),
    ]);
    state.items = storeCatalogue;
    state.recent = recentRedemptions;
  } catch (error) {
    return say(error instanceof NetworkDown ? "网络中断,请检查网络后重试" : error.message);
  }
  $("member-name").textContent = state.member.maskedName;
  $("member-balance").textContent = state.member.balance;
  const rows = $("catalogue").querySelector("tbody");
  rows.replaceChildren(
    ...state.items.map((item) => {
      const row = document.createElement("tr");
      row.innerHTML = "<td></td><td></td><td></td><td><input type=number min=0 value=0></td>";
      row.cells[0].textContent = item.name;
      row.cells[1].textContent = item.price;
      row.cells[2].textContent = item.stock;
      const input = row.querySelector("input");
      input.max = item.stock;
      input.dataset.item = item.itemId;
      input.addEventListener("input", total);
      return row;
    })
  );
  total();
  recent();
  show("basket");
}

function when(at) {
  return new Date(at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" });
}

function recent() {
  $("recent").hidden = !state.recent.length;
  $("recent-list").querySelector("tbody").replaceChildren(
    ...state.recent.map((r) => {
      const row = document.createElement("tr");
      row.innerHTML = "<td></td><td></td><td></td><td><button class=link>补打小票</button></td>";
      row.cells[0].textContent = when(r.at);
      row.cells[1].textContent = r.lines.map((l) => `${l.name}×${l.quantity}`).join("、");
      row.cells[2].textContent = r.cancelled ? `${r.total}(已取消)` : r.total;
      row.querySelector("button").addEventListener("click", () => receipt(r, { reprint: true }));
      return row;
    })
  );
}

function chosen() {
  return [...$("catalogue").querySelectorAll("input")]
    .map((input) => ({ itemId: input.dataset.item, quantity: parseInt(input.value || "0", 10) }))
    .filter((line) => line.quantity > 0);
}

function total() {
  const prices = Object.fromEntries(state.items.map((item) => [item.itemId, Number(item.price)]));
  const sum = chosen().reduce((acc, line) => acc + prices[line.itemId] * line.quantity, 0);
  $("total").textContent = sum.toFixed(1);
}

function confirm() {
  const lines = chosen();
  if (!lines.length) return say("请至少选择一件物品");
  // The key is made once per basket: a double tap, a timeout or a reload resends the
  // same request, which the ledger answers with the first receipt.
  const request = { s: state.store, m: state.member.memberId, k: randomKey(), lines };
  sessionStorage.setItem(PENDING, JSON.stringify(request));
  return submit(request);
}

async function submit(request) {
  $("confirm").disabled = true;
  try {
    const { redeem } = await gql(QUERIES.redeem, request);
    if (redeem.__typename !== "RedemptionReceipt") {
      sessionStorage.removeItem(PENDING); // a definite refusal: nothing moved
      show("basket");
      return say(redeem.message);
    }
    sessionStorage.removeItem(PENDING);
    receipt(redeem);
  } catch (error) {
    show("basket");
    say(
      error instanceof NetworkDown
        ? "网络中断,兑换结果未知。请检查网络后再次点击“确认兑换”:重试是安全的,不会重复扣分"
        : error.message
    );
  } finally {
    $("confirm").disabled = false;
  }
  return undefined;
}

function receipt(r, { reprint = false } = {}) {
  say("");
  $("r-store").textContent = `${state.storeName}积分超市`;
  $("r-member").textContent = r.member || "";
  $("r-lines").querySelector("tbody").replaceChildren(
    ...r.lines.map((line) => {
      const row = document.createElement("tr");
      row.innerHTML = "<td></td><td></td><td></td>";
      row.cells[0].textContent = line.name;
      row.cells[1].textContent = `×${line.quantity}`;
      row.cells[2].textContent = line.amount;
      return row;
    })
  );
  $("r-total").textContent = r.total;
  $("r-balance").textContent = r.balanceAfter;
  $("r-at").textContent = when(r.at);
  $("r-kiosk").textContent = r.kiosk || "";
  $("r-id").textContent = r.id;
  $("r-replayed").hidden = !r.replayed;
  $("r-reprint").hidden = !reprint;
  show("receipt");
}

$("save-token").addEventListener("click", () => {
  state.token = $("token").value.trim();
  localStorage.setItem("kiosk.token", state.token);
  start();
});
$("signout").addEventListener("click", () => {
  localStorage.removeItem("kiosk.token");
  state.token = null;
  show("signin");
});
$("find").addEventListener("click", find);
$("code").addEventListener("keydown", (event) => event.key === "Enter" && find());
$("confirm").addEventListener("click", () => {
  // A pending request (a double tap) is resent with its key, never made anew.
  const pending = sessionStorage.getItem(PENDING);
  return pending ? submit(JSON.parse(pending)) : confirm();
});
$("cancel").addEventListener("click", () => { $("code").value = ""; show("lookup"); });
$("next").addEventListener("click", () => { $("code").value = ""; state.member = null; show("lookup"); $("code").focus(); });
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => {
    document.body.className = button.dataset.print;
    window.print();
  });
}
start();
