// 积分超市兑换终端: plain JavaScript, no build step, no network but this server.
"use strict";

fragment`fragment KioskReceipt on Redemption { id total balanceAfter at member kioskName number
  lines { name quantity unitPrice amount } cancelled }`;
fragment`fragment ReceiptLines on RedemptionReceipt { id total balanceAfter at member kioskName number
  lines { name quantity unitPrice amount } replayed }`;
const QUERIES = {
  viewer: gql`{ viewer { role scope names } }`,
  lookup: gql`query($code: String!) { memberByCode(code: $code) {
    __typename ... on KioskMember { memberId maskedName balance } ... on Problem { code message } } }`,
  catalogue: gql`query($c: UUID!) { storeCatalogue(communityId: $c) { itemId name price stock } }`,
  redeem: gql`mutation($s: UUID!, $m: UUID!, $k: String!, $lines: [RedemptionLineInput!]!) {
    redeem(storeId: $s, memberId: $m, key: $k, lines: $lines) {
      __typename ...ReceiptLines ... on Problem { code message } } }`,
  recent: gql`query($m: UUID!) { recentRedemptions(memberId: $m, first: 5) { ...KioskReceipt } }`,
  day: gql`query($day: Date, $w: Int) { kioskDay(day: $day, waitFor: $w) {
    day kioskName redemptions cancelled points goods { name quantity points }
    receipts { ...KioskReceipt } } }`,
  undo: gql`mutation($r: UUID!, $reason: String!, $k: String) {
    cancelRedemption(redemptionId: $r, reason: $reason, key: $k) {
      __typename ... on Receipt { position } ... on Problem { code message } } }`,
};
const PENDING = "kiosk.pending"; // a confirmed basket whose answer has not been seen yet

const session = new Session("kiosk");
session.onSignedOut = () => show("signin");
const state = {
  store: null,
  storeName: "",
  member: null,
  items: [],
  recent: [],
  shown: null, // the receipt on screen
  undoing: null, // the redemption being cancelled, and the key of its request
};

function show(section) {
  for (const id of ["signin", "lookup", "basket", "receipt", "undo", "day"]) {
    $(id).hidden = id !== section;
  }
  $("signout").hidden = $("day-open").hidden = section === "signin";
}

function ask(query, variables = {}) {
  return session.request(query, variables);
}

async function start() {
  say("");
  if (!session.token) return show("signin");
  try {
    const { viewer } = await ask(QUERIES.viewer);
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
    const { memberByCode: found } = await ask(QUERIES.lookup, { code });
    if (found.__typename !== "KioskMember") return say(found.message);
    state.member = found;
    const [{ storeCatalogue }, { recentRedemptions }] = await Promise.all([
      ask(QUERIES.catalogue, { c: state.store }),
      ask(QUERIES.recent, { m: found.memberId }),
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
      input.addEventListener("input", () => cap(input));
      return row;
    })
  );
  $("basket-hint").hidden = true;
  total();
  recent();
  show("basket");
}

function recent() {
  $("recent").hidden = !state.recent.length;
  $("recent-list").querySelector("tbody").replaceChildren(
    ...state.recent.map((r) => {
      const row = document.createElement("tr");
      row.innerHTML = "<td></td><td></td><td></td><td><button class=link>补打小票</button></td>";
      row.cells[0].textContent = cstDateTime(r.at);
      row.cells[1].textContent = r.lines.map((l) => `${l.name}×${l.quantity}`).join("、");
      row.cells[2].textContent = r.cancelled ? `${r.total}(已撤销)` : r.total;
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

// Points in tenths (whole numbers): a decimal with one place, added without rounding errors.
const tenths = (points) => Math.round(Number(points) * 10);
const shownPoints = (t) => (t / 10).toFixed(1);

function spent(lines) {
  const prices = Object.fromEntries(state.items.map((item) => [item.itemId, tenths(item.price)]));
  return lines.reduce((acc, line) => acc + prices[line.itemId] * line.quantity, 0);
}

function cap(input) {
  // The basket never holds more than the balance or the stock: a quantity past
  // either is brought down as it is typed, and the clerk is told why.
  const item = state.items.find((i) => i.itemId === input.dataset.item);
  const wanted = Math.max(0, parseInt(input.value || "0", 10) || 0);
  const others = spent(chosen().filter((line) => line.itemId !== item.itemId));
  const left = tenths(state.member.balance) - others;
  const price = tenths(item.price);
  const affordable = price > 0 ? Math.floor(left / price) : Infinity;
  const most = Math.max(0, Math.min(item.stock, affordable));
  let hint = "";
  if (wanted > most) {
    input.value = String(most);
    hint =
      affordable < item.stock
        ? `积分不足:可用积分 ${state.member.balance},“${item.name}”最多可选 ${most} 件`
        : `“${item.name}”库存只有 ${item.stock} 件`;
  }
  $("basket-hint").textContent = hint;
  $("basket-hint").hidden = !hint;
  total();
}

function total() {
  const sum = spent(chosen());
  $("total").textContent = shownPoints(sum);
  $("left").textContent = shownPoints(tenths(state.member.balance) - sum);
}

function confirm() {
  const lines = chosen();
  if (!lines.length) return say("请至少选择一件物品");
  // The key is made once per basket: a double tap, a timeout or a reload resends the
  // same request, which the ledger answers with the first receipt.
  const request = { s: state.store, m: state.member.memberId, k: newKey("basket"), lines };
  sessionStorage.setItem(PENDING, JSON.stringify(request));
  return submit(request);
}

async function submit(request) {
  $("confirm").disabled = true;
  try {
    const { redeem } = await ask(QUERIES.redeem, request);
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
  $("r-at").textContent = cstDateTime(r.at);
  $("r-kiosk").textContent = r.kioskName || "";
  $("r-number").textContent = r.number;
  $("r-replayed").hidden = !r.replayed;
  $("r-reprint").hidden = !reprint;
  // A kiosk may undo its own redemption of the day only (the ledger says so for others).
  $("undo-this").hidden = Boolean(r.cancelled) || dayOf(r.at) !== today();
  state.shown = r;
  show("receipt");
}

function goods(r) {
  return r.lines.map((l) => `${l.name}×${l.quantity}`).join("、");
}

function dayOf(at) {
  return new Date(at).toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }); // YYYY-MM-DD
}

function today() {
  return cstToday();
}

function undo(r) {
  // One key per cancellation asked for: a double tap cancels once.
  const back = $("receipt").hidden ? "day" : "receipt";
  state.undoing = { redemption: r, key: newKey("undo"), back };
  $("u-number").textContent = r.number;
  $("u-lines").textContent = goods(r);
  $("u-total").textContent = r.total;
  $("u-reason").value = "";
  say("");
  show("undo");
  $("u-reason").focus();
}

async function confirmUndo() {
  const reason = $("u-reason").value.trim();
  if (!reason) return say("请填写撤销原因");
  const { redemption, key } = state.undoing;
  $("u-confirm").disabled = true;
  try {
    const { cancelRedemption: done } = await ask(QUERIES.undo, {
      r: redemption.id,
      reason,
      k: key,
    });
    if (done.__typename !== "Receipt") return say(done.message);
    await day(today(), done.position);
    say(`已撤销单号 ${redemption.number}:积分已退回会员,物品已退回库存`, "info");
  } catch (error) {
    say(error instanceof NetworkDown ? "网络中断,请检查网络后再次点击“确认撤销”(不会重复撤销)" : error.message);
  } finally {
    $("u-confirm").disabled = false;
  }
  return undefined;
}

async function day(date = today(), waitFor = null) {
  let summary;
  try {
    ({ kioskDay: summary } = await ask(QUERIES.day, { day: date, w: waitFor }));
  } catch (error) {
    return say(error instanceof NetworkDown ? "网络中断,请检查网络后重试" : error.message);
  }
  say("");
  $("d-store").textContent = `${state.storeName}积分超市`;
  $("d-kiosk").textContent = summary.kioskName || "";
  $("d-date").textContent = summary.day;
  $("d-day").value = summary.day;
  $("d-count").textContent = summary.redemptions;
  $("d-cancelled").textContent = summary.cancelled;
  $("d-points").textContent = summary.points;
  $("d-printed").textContent = cstDateTime(new Date());
  $("d-goods").querySelector("tbody").replaceChildren(
    ...summary.goods.map((g) => {
      const row = document.createElement("tr");
      row.innerHTML = "<td></td><td></td><td></td>";
      row.cells[0].textContent = g.name;
      row.cells[1].textContent = g.quantity;
      row.cells[2].textContent = g.points;
      return row;
    })
  );
  const open = summary.day === today(); // a kiosk cancels the day's redemptions only
  $("d-receipts").querySelector("tbody").replaceChildren(
    ...summary.receipts.map((r) => {
      const row = document.createElement("tr");
      row.dataset.number = r.number;
      row.innerHTML = "<td></td><td></td><td></td><td></td><td></td>";
      row.cells[0].textContent = cstTime(r.at);
      row.cells[1].textContent = r.number;
      row.cells[2].textContent = goods(r);
      row.cells[3].textContent = r.cancelled ? `${r.total}(已撤销)` : r.total;
      if (open && !r.cancelled) {
        const button = document.createElement("button");
        button.className = "link";
        button.textContent = "撤销";
        button.addEventListener("click", () => undo(r));
        row.cells[4].append(button);
      }
      return row;
    })
  );
  findReceipt();
  show("day");
  return undefined;
}

function findReceipt() {
  const wanted = $("d-find").value.trim();
  for (const row of $("d-receipts").querySelectorAll("tbody tr")) {
    row.hidden = Boolean(wanted) && !row.dataset.number.includes(wanted);
  }
}

$("save-token").addEventListener("click", () => {
  session.signIn($("token").value);
  start();
});
$("signout").addEventListener("click", () => {
  session.signOut();
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
$("day-open").addEventListener("click", () => day());
$("d-day").addEventListener("change", () => day($("d-day").value || today()));
$("d-find").addEventListener("input", findReceipt);
$("d-back").addEventListener("click", () => { say(""); show("lookup"); $("code").focus(); });
$("undo-this").addEventListener("click", () => undo(state.shown));
$("u-confirm").addEventListener("click", confirmUndo);
$("u-back").addEventListener("click", () => show(state.undoing.back));
$("next").addEventListener("click", () => { $("code").value = ""; state.member = null; show("lookup"); $("code").focus(); });
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => {
    document.body.className = `${button.dataset.print} sheet-${button.dataset.sheet || "receipt"}`;
    window.print();
  });
}
start();
