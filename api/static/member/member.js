// 我的积分码: a member's phone shows a short-lived code as a QR code for the kiosk to scan.
// Plain JavaScript, no build step, no network but this server.
"use strict";

const QUERIES = {
  viewer: gql`{ viewer { role scope names } }`,
  balance: gql`query($m: UUID!) { member(id: $m) { balance } }`,
  code: gql`mutation { myKioskCode {
    __typename ... on KioskCode { code expiresAt validSeconds qrSvg } ... on Problem { message } } }`,
};
const REFRESH_BEFORE_MS = 5000; // a new code a little before the old one lapses

const session = new Session("member");
const state = { member: null, timer: null };

function show(section) {
  for (const id of ["signin", "code-card"]) $(id).hidden = id !== section;
  $("signout").hidden = section === "signin";
}

async function ask(query, variables = {}) {
  try {
    return await session.request(query, variables);
  } catch (error) {
    if (error instanceof NetworkDown) throw new Error("网络中断,请检查网络后点击“换一个码”");
    throw error;
  }
}

function signOut() {
  session.signOut();
  clearInterval(state.timer);
  show("signin");
}

async function start() {
  say("");
  if (!session.token) return show("signin");
  try {
    const { viewer } = await ask(QUERIES.viewer);
    if (viewer.role !== "MEMBER" || viewer.scope.length !== 1) {
      return say("该令牌不是成员本人的令牌,请更换令牌");
    }
    state.member = viewer.scope[0];
    $("name").textContent = viewer.names[0] || "";
  } catch (error) {
    return say(error.message);
  }
  show("code-card");
  return refresh();
}

async function refresh() {
  clearInterval(state.timer);
  try {
    const [{ myKioskCode: made }, { member }] = await Promise.all([
      ask(QUERIES.code),
      ask(QUERIES.balance, { m: state.member }),
    ]);
    if (made.__typename !== "KioskCode") return say(made.message);
    say("");
    $("qr").innerHTML = made.qrSvg; // drawn by this server from the code alone
    $("code").textContent = made.code;
    $("balance").textContent = member ? member.balance : "—";
    const expires = new Date(made.expiresAt).getTime();
    const tick = () => {
      const left = expires - Date.now();
      $("seconds").textContent = Math.max(0, Math.ceil(left / 1000));
      if (left <= REFRESH_BEFORE_MS) refresh();
    };
    tick();
    state.timer = setInterval(tick, 1000);
  } catch (error) {
    say(error.message);
  }
  return undefined;
}

$("save-token").addEventListener("click", () => {
  session.signIn($("token").value);
  start();
});
$("signout").addEventListener("click", signOut);
$("refresh").addEventListener("click", refresh);
session.onSignedOut = signOut;
start();
