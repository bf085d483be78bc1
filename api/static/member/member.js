// 我的志愿: a member's phone pages. Sign in once with the community's one-time code; then tasks
// to sign up for, their own services with check-in and check-out at the site, needs they raise,
// points and certificates with the kiosk code, and their messages.
// Plain JavaScript on common/app.js, no build step, no network but this server.
"use strict";

fragment`fragment MyService on MemberService { serviceId taskId taskTitle communityName place
  startsAt endsAt status statusName checkedInAt checkedOutAt presenceVerified hours ratingName
  points }`;
fragment`fragment Done on CommandResult { __typename ... on Receipt { id position }
  ... on Problem { code message } }`;
const QUERIES = {
  viewer: gql`{ viewer { role scope names } }`,
  activate: gql`mutation($code: String!, $device: String!) {
    activateSignIn(code: $code, device: $device) {
      __typename ... on MemberSession { token memberName communityName } ... on Problem { code message } } }`,
  me: gql`query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) {
    name communityId balance earnedPoints earnedHours } }`,
  services: gql`query($m: UUID!) { member(id: $m) { serviceRecords(first: 50) { ...MyService } } }`,
  tasks: gql`query($c: UUID!, $m: UUID!) {
    openTasks(communityId: $c) { taskId title category categoryClassName startsAt endsAt place
      placesLeft communityName gridName siteCodeRequired }
    member(id: $m) { serviceRecords(first: 50) { ...MyService } } }`,
  claim: gql`mutation($t: UUID!, $m: UUID!, $k: String) {
    claimTask(taskId: $t, memberId: $m, key: $k) { ...Done } }`,
  withdraw: gql`mutation($s: UUID!, $k: String) { withdrawClaim(serviceId: $s, key: $k) { ...Done } }`,
  checkIn: gql`mutation($s: UUID!, $code: String, $where: SiteLocation, $k: String) {
    checkIn(serviceId: $s, siteCode: $code, location: $where, key: $k) { ...Done } }`,
  checkOut: gql`mutation($s: UUID!, $code: String, $where: SiteLocation, $k: String) {
    checkOut(serviceId: $s, siteCode: $code, location: $where, key: $k) { ...Done } }`,
  needs: gql`{ myNeeds(first: 20) { needId category description place raisedAt status statusName
    taskTitle closingNote satisfactionName satisfactionComment
    steps { at statusName byName note } } }`,
  raise: gql`mutation($c: UUID!, $category: String, $place: String, $text: String!, $k: String) {
    raiseNeed(communityId: $c, category: $category, place: $place, description: $text, key: $k) {
      ...Done } }`,
  rate: gql`mutation($n: UUID!, $s: Satisfaction!, $comment: String, $k: String) {
    rateNeed(needId: $n, satisfaction: $s, comment: $comment, key: $k) { ...Done } }`,
  points: gql`query($m: UUID!) {
    member(id: $m) { balance earnedPoints earnedHours
      history(first: 50) { position amount balance description valueAt } }
    certificates(memberId: $m) { number periodStart periodEnd services hours points issuedAt } }`,
  issue: gql`mutation($m: UUID!, $start: Date!, $end: Date!, $k: String) {
    issueCertificate(memberId: $m, start: $start, end: $end, key: $k) {
      __typename ... on IssuedCertificate { position } ... on Problem { code message } } }`,
  certificate: gql`query($n: String!) { certificateDocument(number: $n) {
    filename mediaType contentBase64 } }`,
  code: gql`mutation { myKioskCode {
    __typename ... on KioskCode { code expiresAt validSeconds qrSvg } ... on Problem { message } } }`,
  inbox: gql`{ inbox(first: 30) { id at title body } }`,
};
const RELEASED = new Set(["RELEASED", "WITHDRAWN"]); // the claim was given up or the task cancelled
const TABS = ["tasks", "services", "needs", "points", "inbox"];
const SECTIONS = ["size-choice", "signin", "settings", ...TABS.map((tab) => `tab-${tab}`)];
const REFRESH_BEFORE_MS = 5000; // a new kiosk code a little before the old one lapses
const LOCATION_KEY = "ledger.member.location"; // the member allowed sharing the phone's place
// Suggestions for a need's category (the community may dispatch it under any of the rule book's).
const NEED_CATEGORIES = [
  ["扶老帮困", "扶老帮困"], ["清洁卫生", "清洁卫生"], ["矛盾调解", "矛盾调解"],
  ["医疗义诊", "医疗义诊"], ["法律援助", "法律援助"], ["", "其他"],
];
const SATISFACTION = [
  ["SATISFIED", "满意"],
  ["BASICALLY_SATISFIED", "基本满意"],
  ["DISSATISFIED", "不满意"],
];

const session = new Session("member");
const state = {
  member: null, community: null, name: "", tab: "tasks", codeTimer: null,
  needCategory: { value: null },
};

function ask(query, variables = {}) {
  return session.request(query, variables);
}

// ---- Screens -------------------------------------------------------------------------------
function show(section) {
  stopScanner();
  showSection(SECTIONS, section);
  const signedIn = TABS.includes(section.replace("tab-", "")) || section === "settings";
  $("tabs").hidden = !signedIn;
  $("settings-open").hidden = !signedIn;
  $("who").textContent = signedIn ? state.name : "";
  window.scrollTo(0, 0);
}

async function start() {
  say("");
  if (!sizeChosen()) {
    document.documentElement.dataset.size = "large"; // asked in large text, until chosen
    return show("size-choice");
  }
  if (!session.token) return showSignIn();
  try {
    const { viewer } = await ask(QUERIES.viewer);
    if (viewer.role !== "MEMBER" || viewer.scope.length !== 1) {
      session.signOut();
      showSignIn();
      return say("本机保存的登录不是成员本人的,请用登录码重新登录");
    }
    state.member = viewer.scope[0];
    state.name = viewer.names[0] || "";
    const { member } = await ask(QUERIES.me, { m: state.member });
    state.community = member.communityId;
  } catch (error) {
    return say(error instanceof NetworkDown ? "网络中断,请检查网络后刷新页面" : error.message);
  }
  return openTab(TABS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "tasks");
}

async function openTab(tab) {
  state.tab = tab;
  if (location.hash.slice(1) !== tab) history.replaceState(null, "", `#${tab}`);
  stopCode();
  show(`tab-${tab}`);
  say("");
  $("need-form").hidden = true;
  $("need-new").hidden = false;
  $("presence").hidden = $("code-card").hidden = true; // each tab opens on its lists
  $("service-lists").hidden = $("points-summary").hidden = $("points-lists").hidden = false;
  for (const button of $("tabs").querySelectorAll("button")) {
    if (button.dataset.tab === tab) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  try {
    await refreshTab();
  } catch (error) {
    say(error.message);
  }
}

/** Read the open tab's lists again; the section is marked busy (aria-busy) meanwhile. */
async function refreshTab() {
  const section = $(`tab-${state.tab}`);
  section.setAttribute("aria-busy", "true");
  try {
    await LOADERS[state.tab]();
  } finally {
    section.removeAttribute("aria-busy");
  }
}

/** After a write: wait until the pages' reads include it, show the tab again, then say what
 *  was done (the write stands even when the lists could not be read again). */
async function done(position, words) {
  try {
    await ask(QUERIES.me, { m: state.member, w: position });
    await refreshTab();
    say(words, "ok");
  } catch (error) {
    say(`${words}。列表未能刷新:${error.message}`, "info");
  }
}

/** Send a write once per user action (`name` keeps its key); the ledger's refusal is said in
 *  Chinese, success in `words`. */
function write(button, name, document, variables, words) {
  return busy(button, async () => {
    say("");
    const answer = await new Action(name).run(async (key) => {
      const data = await ask(document, { ...variables, k: key });
      return expect(Object.values(data)[0], "Receipt");
    });
    await done(answer.position, words);
  });
}

// ---- First visit: the text size, then sign in ----------------------------------------------
function chooseSize(size) {
  setSize(size);
  showSizeNow();
  start();
}

function showSizeNow() {
  const large = document.documentElement.dataset.size === "large";
  $("size-now").textContent = `现在是${large ? "长辈版(大字)" : "标准版"}。`;
  for (const [id, on, words] of [["settings-large", large, "长辈版(大字)"],
    ["settings-standard", !large, "标准版"]]) {
    $(id).setAttribute("aria-pressed", String(on));
    $(id).textContent = `${on ? "✓ " : ""}${words}`;
  }
}

function showSignIn() {
  show("signin");
  $("activation-scan").hidden = !scannerAvailable();
}

async function activate() {
  const code = codeIn($("activation").value).toUpperCase();
  if (!code) return say("请输入登录码");
  say("");
  const { activateSignIn: made } = await ask(QUERIES.activate, {
    code,
    device: `手机 ${cstToday()}`,
  });
  const signedIn = expect(made, "MemberSession");
  session.signIn(signedIn.token);
  $("activation").value = "";
  await start();
  return say(`欢迎您,${signedIn.memberName}(${signedIn.communityName})`, "info");
}

function signOut() {
  session.signOut();
  stopCode();
  state.member = null;
  showSignIn();
}

// ---- Scanning a code with the camera, where the browser can --------------------------------
// Typing always works; the camera is offered only where BarcodeDetector and a camera exist.
const scanner = { stream: null, timer: null };

function scannerAvailable() {
  return "BarcodeDetector" in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** The code in what was typed or scanned (the QR codes hold the code itself), without spaces. */
function codeIn(text) {
  return text.replace(/\s+/g, "");
}

async function scanInto(field, then) {
  say("");
  try {
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    scanner.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
    });
    const video = $("scanner-video");
    video.srcObject = scanner.stream;
    await video.play();
    $("scanner").hidden = false;
    scanner.timer = setInterval(async () => {
      const [found] = await detector.detect(video).catch(() => []);
      if (!found) return;
      stopScanner();
      field.value = codeIn(found.rawValue);
      then();
    }, 300);
  } catch (error) {
    stopScanner();
    say("无法打开摄像头,请直接输入码");
  }
}

function stopScanner() {
  clearInterval(scanner.timer);
  if (scanner.stream) for (const track of scanner.stream.getTracks()) track.stop();
  scanner.stream = null;
  $("scanner").hidden = true;
}

// ---- 任务: open tasks to sign up for -------------------------------------------------------
/** A service that still holds its place on the task (not withdrawn, not released). */
function holdsPlace(service) {
  return !RELEASED.has(service.status);
}

function splitServices(services) {
  const upcoming = services.filter((s) => s.status === "CLAIMED" || s.status === "CHECKED_IN");
  return { upcoming, past: services.filter((s) => !upcoming.includes(s)) };
}

async function loadTasks() {
  const { openTasks, member } = await ask(QUERIES.tasks, { c: state.community, m: state.member });
  const mine = new Map(member.serviceRecords.filter(holdsPlace).map((s) => [s.taskId, s]));
  const list = $("task-list");
  $("tasks-where").textContent = openTasks.length
    ? `${openTasks[0].communityName}正在招募的志愿服务`
    : "";
  list.replaceChildren(
    ...openTasks.map((task) => taskCard(task, mine.get(task.taskId))),
  );
  if (!openTasks.length) list.append(el("p", { className: "empty" }, "现在没有可报名的任务"));
}

function taskCard(task, service) {
  const started = new Date(task.startsAt) <= new Date();
  const actions = el("div", { className: "actions" });
  if (service && service.status === "CLAIMED" && !started) {
    actions.append(withdrawButton(service));
  } else if (!service && task.placesLeft > 0 && !started) {
    const claim = el("button", { className: "primary" }, "报名");
    claim.addEventListener(
      "click",
      write(claim, `claim-${task.taskId}`, QUERIES.claim, { t: task.taskId, m: state.member },
        `已报名“${task.title}”。请按时到场签到。`),
    );
    actions.append(claim);
  }
  return el("article", { className: "card task", "data-task": task.taskId },
    el("h3", {}, task.title),
    el("p", {},
      el("span", { className: "tag info" }, `${task.category} · ${task.categoryClassName}`), " ",
      service ? el("span", { className: "tag ok" }, "✓ 我已报名") : null),
    line("时间", cstSpan(task.startsAt, task.endsAt)),
    line("地点", task.place || (task.gridName ? `${task.communityName}${task.gridName}` : task.communityName)),
    line("名额", task.placesLeft > 0 ? `还剩 ${task.placesLeft} 个` : "已满"),
    task.siteCodeRequired ? el("p", { className: "muted" }, "到场后需输入现场签到码签到") : null,
    actions);
}

function withdrawButton(service) {
  const button = el("button", {}, "取消报名");
  button.addEventListener(
    "click",
    write(button, `withdraw-${service.serviceId}`, QUERIES.withdraw, { s: service.serviceId },
      `已取消报名“${service.taskTitle}”`),
  );
  return button;
}

function line(label, value) {
  return el("p", { className: "line" }, el("span", { className: "label" }, `${label}:`), value);
}

// ---- 我的服务: upcoming and past, check-in and check-out --------------------------------------
const STATUS_KIND = {
  CLAIMED: "info", CHECKED_IN: "warn", CHECKED_OUT: "info", RATED: "ok", REVERSED: "error",
  LAPSED: "error",
};

async function loadServices() {
  const { member } = await ask(QUERIES.services, { m: state.member });
  const { upcoming, past } = splitServices(member.serviceRecords);
  fill($("upcoming-list"), upcoming.reverse().map(serviceCard), "没有待参加的服务。去“任务”里报名吧。");
  fill($("past-list"), past.map(serviceCard), "还没有以往的记录");
}

function fill(list, cards, empty) {
  list.replaceChildren(...cards);
  if (!cards.length) list.append(el("p", { className: "empty" }, empty));
}

function serviceCard(service) {
  const actions = el("div", { className: "actions" });
  if (service.status === "CLAIMED") {
    const checkIn = el("button", { className: "primary" }, "签到");
    checkIn.addEventListener("click", () => openPresence(service, "in"));
    actions.append(checkIn);
    if (new Date(service.startsAt) > new Date()) actions.append(withdrawButton(service));
  } else if (service.status === "CHECKED_IN") {
    const checkOut = el("button", { className: "primary" }, "签退");
    checkOut.addEventListener("click", () => openPresence(service, "out"));
    actions.append(checkOut);
  }
  const verified = service.presenceVerified ? "(已核验到场)" : "";
  return el("article", { className: "card service", "data-service": service.serviceId },
    el("h3", {}, service.taskTitle),
    el("p", {}, el("span", { className: `tag ${STATUS_KIND[service.status] || "info"}` },
      service.statusName)),
    line("时间", cstSpan(service.startsAt, service.endsAt)),
    service.place ? line("地点", service.place) : null,
    service.checkedInAt ? line("签到", `${cstDateTime(service.checkedInAt)}${verified}`) : null,
    service.checkedOutAt ? line("签退", cstDateTime(service.checkedOutAt)) : null,
    service.hours !== null ? line("时长", `${service.hours} 小时`) : null,
    service.ratingName ? line("评价", service.ratingName) : null,
    service.points !== null ? line("积分", `${service.points} 分`) : null,
    actions.childElementCount ? actions : null);
}

function openPresence(service, direction) {
  say("");
  const verb = direction === "in" ? "签到" : "签退";
  state.presence = { service, direction };
  $("presence-title").textContent = `${verb}:${service.taskTitle}`;
  $("presence-task").textContent = [cstSpan(service.startsAt, service.endsAt), service.place]
    .filter(Boolean).join(" · ");
  $("presence-confirm").textContent = `确认${verb}`;
  $("site-code").value = "";
  const locatable = !!service.place && window.isSecureContext && "geolocation" in navigator;
  $("share-location-line").hidden = !locatable;
  $("share-location").checked = locatable && localStorage.getItem(LOCATION_KEY) === "yes";
  $("site-code-scan").hidden = !scannerAvailable();
  $("service-lists").hidden = true;
  $("presence").hidden = false;
  window.scrollTo(0, 0);
}

/** The phone's place, when the member allowed it; null when it cannot be had. */
function here() {
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      ({ coords }) => resolve({
        latitude: coords.latitude,
        longitude: coords.longitude,
        accuracyMeters: coords.accuracy,
      }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 },
    );
  });
}

async function confirmPresence() {
  say("");
  const { service, direction } = state.presence;
  const code = codeIn($("site-code").value);
  const sharing = !$("share-location-line").hidden && $("share-location").checked;
  localStorage.setItem(LOCATION_KEY, sharing ? "yes" : "no");
  const where = sharing ? await here() : null;
  if (sharing && !where) say("未能取得位置,将只用签到码", "info");
  const verb = direction === "in" ? "签到" : "签退";
  const answer = await new Action(`${direction}-${service.serviceId}`).run(async (key) => {
    const data = await ask(direction === "in" ? QUERIES.checkIn : QUERIES.checkOut, {
      s: service.serviceId, code: code || null, where, k: key,
    });
    return expect(Object.values(data)[0], "Receipt");
  });
  $("presence").hidden = true;
  $("service-lists").hidden = false;
  await done(answer.position, `${verb}成功:${service.taskTitle},时间以服务器为准`);
}

// ---- 点单: raise a need, follow it, say whether it was done well ------------------------------
const NEED_KIND = { RAISED: "info", ACCEPTED: "info", DISPATCHED: "warn", CLOSED: "ok", REVISITED: "ok" };

async function loadNeeds() {
  const { myNeeds } = await ask(QUERIES.needs);
  fill($("need-list"), myNeeds.map(needCard), "还没有点过单");
}

async function raiseNeed() {
  const text = $("need-description").value.trim();
  if (state.needCategory.value === null) return say("请先选择类别(拿不准就选“其他”)");
  if (!text) return say("请写下需要什么帮助");
  say("");
  const answer = await new Action("raise-need").run(async (key) => {
    const { raiseNeed: made } = await ask(QUERIES.raise, {
      c: state.community,
      category: state.needCategory.value || null,
      place: $("need-place").value.trim() || null,
      text,
      k: key,
    });
    return expect(made, "Receipt");
  });
  resetNeedForm();
  return done(answer.position, "已提交,社区受理后会在“消息”里告诉您");
}

function resetNeedForm() {
  $("need-form").hidden = true;
  $("need-new").hidden = false;
  state.needCategory.value = null;
  $("need-category").replaceChildren(...choiceButtons(NEED_CATEGORIES, state.needCategory));
  $("need-description").value = "";
  $("need-place").value = "";
}

function needCard(need) {
  const steps = el("ol", { className: "steps" },
    need.steps.map((step) => el("li", {},
      el("strong", {}, step.statusName), ` ${cstDateTime(step.at)} · ${step.byName}`,
      step.note ? el("span", { className: "note" }, `:${step.note}`) : null)));
  return el("article", { className: "card need", "data-need": need.needId },
    el("h3", {}, need.category || "其他"),
    el("p", {}, el("span", { className: `tag ${NEED_KIND[need.status] || "info"}` }, need.statusName)),
    el("p", {}, need.description),
    need.place ? line("地点", need.place) : null,
    line("提交", cstDateTime(need.raisedAt)),
    need.taskTitle ? line("派单", need.taskTitle) : null,
    need.closingNote ? line("办结", need.closingNote) : null,
    el("h4", {}, "办理经过"), steps,
    need.satisfactionName
      ? line("我的评价", [need.satisfactionName, need.satisfactionComment].filter(Boolean).join(":"))
      : null,
    need.status === "CLOSED" && !need.satisfactionName ? ratingForm(need) : null);
}

/** Buttons of which one is chosen by a tap (aria-pressed, and a ✓ in its words, not colour
 *  alone); `chosen.value` is the chosen option's value (null before a tap). */
function choiceButtons(options, chosen) {
  const buttons = options.map(([value, words]) => {
    const button = el("button", { className: "choice", "aria-pressed": "false" }, words);
    button.addEventListener("click", () => {
      chosen.value = value;
      buttons.forEach((other, i) => {
        other.setAttribute("aria-pressed", String(other === button));
        other.textContent = `${other === button ? "✓ " : ""}${options[i][1]}`;
      });
    });
    return button;
  });
  return buttons;
}

function ratingForm(need) {
  const chosen = { value: null };
  const comment = el("textarea", { maxlength: "500", id: `comment-${need.needId}`,
    placeholder: "想说的话(可不填)" });
  const choices = choiceButtons(SATISFACTION, chosen);
  const send = el("button", { className: "primary" }, "提交评价");
  send.addEventListener("click", busy(send, async () => {
    if (!chosen.value) return say("请先选择满意、基本满意或不满意");
    say("");
    const answer = await new Action(`rate-${need.needId}`).run(async (key) => {
      const { rateNeed: rated } = await ask(QUERIES.rate, {
        n: need.needId, s: chosen.value, comment: comment.value.trim() || null, k: key,
      });
      return expect(rated, "Receipt");
    });
    return done(answer.position, "谢谢您的评价");
  }));
  return el("div", { className: "rate" },
    el("h4", {}, "这件事办得您满意吗?"),
    el("div", { className: "choices" }, choices),
    el("label", { for: `comment-${need.needId}` }, "意见或建议"), comment,
    send);
}

// ---- 积分: balance, history in words, certificates, the kiosk code -----------------------------
async function loadPoints() {
  const { member, certificates } = await ask(QUERIES.points, { m: state.member });
  $("balance").textContent = member.balance;
  $("earned").textContent = member.earnedPoints;
  $("hours").textContent = member.earnedHours;
  fill($("history-list"), member.history.map(historyLine), "还没有积分变动");
  fill($("certificate-list"), certificates.map(certificateCard), "还没有开具过志愿服务证明");
}

function historyLine(entry) {
  const amount = Number(entry.amount);
  return el("article", { className: "card entry" },
    el("p", { className: "entry-head" },
      el("span", {}, entry.description),
      el("strong", {}, amount > 0 ? `+${entry.amount}` : `−${entry.amount.replace("-", "")}`)),
    el("p", { className: "muted" }, `${cstDateTime(entry.valueAt)} · 余额 ${entry.balance}`));
}

/** A certificate of this year's services so far (January 1st to today, Beijing time). */
async function issueCertificate() {
  const today = cstToday();
  say("");
  const made = await new Action("certificate").run(async (key) => {
    const { issueCertificate: issued } = await ask(QUERIES.issue, {
      m: state.member, start: `${today.slice(0, 4)}-01-01`, end: today, k: key,
    });
    return expect(issued, "IssuedCertificate");
  });
  return done(made.position, "已开具志愿服务证明,可在下方下载");
}

function certificateCard(certificate) {
  const download = el("button", {}, "下载证明");
  download.addEventListener("click", busy(download, async () => {
    const { certificateDocument: file } = await ask(QUERIES.certificate, { n: certificate.number });
    const bytes = Uint8Array.from(atob(file.contentBase64), (c) => c.charCodeAt(0));
    const link = el("a", {
      href: URL.createObjectURL(new Blob([bytes], { type: file.mediaType })),
      download: file.filename,
    });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  }));
  return el("article", { className: "card certificate" },
    el("h3", {}, "编号 ", el("span", { "data-code": true }, certificate.number)),
    line("期间", `${cstDate(certificate.periodStart)} 至 ${cstDate(certificate.periodEnd)}`),
    line("服务", `${certificate.services} 次 · ${certificate.hours} 小时 · ${certificate.points} 积分`),
    line("开具", cstDateTime(certificate.issuedAt)),
    el("div", { className: "actions" }, download));
}

function openCode() {
  $("points-summary").hidden = $("points-lists").hidden = true;
  $("code-card").hidden = false;
  $("name").textContent = state.name;
  return refreshCode();
}

function stopCode() {
  clearInterval(state.codeTimer);
  state.codeTimer = null;
}

async function refreshCode() {
  stopCode();
  try {
    const [{ myKioskCode: made }, { member }] = await Promise.all([
      ask(QUERIES.code),
      ask(QUERIES.me, { m: state.member }),
    ]);
    if (made.__typename !== "KioskCode") return say(made.message);
    say("");
    $("qr").innerHTML = made.qrSvg; // drawn by this server from the code alone
    $("code").textContent = made.code;
    $("code-balance").textContent = member.balance;
    const expires = new Date(made.expiresAt).getTime();
    const tick = () => {
      const left = expires - Date.now();
      $("seconds").textContent = Math.max(0, Math.ceil(left / 1000));
      if (left <= REFRESH_BEFORE_MS) refreshCode();
    };
    tick();
    state.codeTimer = setInterval(tick, 1000);
  } catch (error) {
    say(error instanceof NetworkDown ? "网络中断,请检查网络后点击“换一个码”" : error.message);
  }
  return undefined;
}

// ---- 消息 ----------------------------------------------------------------------------------
async function loadInbox() {
  const { inbox } = await ask(QUERIES.inbox);
  fill($("inbox-list"), inbox.map((message) => el("article", { className: "card message-item" },
    el("h3", {}, message.title),
    el("p", { className: "muted" }, cstDateTime(message.at)),
    el("p", {}, message.body))), "还没有消息");
}

const LOADERS = {
  tasks: loadTasks,
  services: loadServices,
  needs: loadNeeds,
  points: loadPoints,
  inbox: loadInbox,
};

// ---- Wiring --------------------------------------------------------------------------------
for (const id of ["size-large", "size-standard"]) {
  $(id).addEventListener("click", () => chooseSize($(id).dataset.size));
}
for (const id of ["settings-large", "settings-standard"]) {
  $(id).addEventListener("click", () => {
    setSize($(id).dataset.size);
    showSizeNow();
  });
}
$("activate").addEventListener("click", busy($("activate"), activate));
$("activation").addEventListener("keydown", (event) => {
  if (event.key === "Enter") $("activate").click();
});
$("activation-scan").addEventListener("click", () =>
  scanInto($("activation"), () => $("activate").click()));
$("scanner-stop").addEventListener("click", stopScanner);
for (const button of $("tabs").querySelectorAll("button")) {
  button.addEventListener("click", () => openTab(button.dataset.tab));
}
$("presence-confirm").addEventListener("click", busy($("presence-confirm"), confirmPresence));
$("presence-back").addEventListener("click", () => openTab("services"));
$("site-code-scan").addEventListener("click", () =>
  scanInto($("site-code"), () => $("presence-confirm").click()));
resetNeedForm();
$("need-new").addEventListener("click", () => {
  say("");
  $("need-new").hidden = true;
  $("need-form").hidden = false;
});
$("need-cancel").addEventListener("click", resetNeedForm);
$("need-raise").addEventListener("click", busy($("need-raise"), raiseNeed));
$("code-open").addEventListener("click", openCode);
$("certificate-issue").addEventListener("click", busy($("certificate-issue"), issueCertificate));
$("code-close").addEventListener("click", () => openTab("points"));
$("refresh").addEventListener("click", refreshCode);
$("settings-open").addEventListener("click", () => {
  stopCode();
  $("settings-who").textContent = state.name;
  showSizeNow();
  show("settings");
  for (const button of $("tabs").querySelectorAll("button")) button.removeAttribute("aria-current");
});
$("settings-close").addEventListener("click", () => openTab(state.tab));
$("signout").addEventListener("click", signOut);
session.onSignedOut = signOut;
start();
