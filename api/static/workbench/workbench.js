// 社区工作台: a community worker's desk (needs, tasks, the site code, paper sheets, 一事一评,
// the board, members' sign-in codes). Plain JavaScript on the shared foundation (common/app.js),
// no build step, no network but this server.
"use strict";

fragment`fragment WbClaimant on Claimant { serviceId memberId memberName status statusName
  checkedInAt checkedOutAt presenceVerified hours rating points }`;
fragment`fragment WbTask on Task { taskId title category categoryClassName place gridName
  startsAt endsAt capacity claims placesLeft status siteCodeRequired claimants { ...WbClaimant } }`;
fragment`fragment WbNeed on Need { needId category description place gridName raisedByName raisedAt
  status statusName taskId taskTitle closingNote satisfaction satisfactionName satisfactionComment
  steps { at statusName byName note } }`;
fragment`fragment WbDone on CommandResult { __typename ... on Receipt { id position replayed }
  ... on Problem { code message } }`;

const Q = {
  viewer: gql`{ viewer { role scope names } taskCategories }`,
  tasks: gql`query($c: UUID!, $from: DateTime!, $to: DateTime!, $w: Int) {
    tasks(communityId: $c, startsFrom: $from, startsBefore: $to, first: 200, waitFor: $w) { ...WbTask } }`,
  awaiting: gql`query($c: UUID!, $w: Int) { communityBoard(communityId: $c, waitFor: $w) {
    awaitingRating { serviceId taskId taskTitle memberName checkedInAt checkedOutAt hours } } }`,
  needs: gql`query($c: UUID!, $s: NeedStatus, $w: Int) {
    needs(communityId: $c, status: $s, first: 100, waitFor: $w) { ...WbNeed } }`,
  members: gql`query($c: UUID!, $after: UUID) {
    members(communityId: $c, first: 200, after: $after) { id name } }`,
  board: gql`query($c: UUID!, $period: String!) {
    communityBoard(communityId: $c) {
      openTasks { ...WbTask } understaffed { taskId title startsAt endsAt capacity claims }
      hardUntaken { taskId title category startsAt endsAt }
      awaitingRating { serviceId } items { itemId name price stock }
      donations { donor itemName quantity }
      redemptions redeemedPoints byUnit { unitId name services hours points }
      satisfaction { rated satisfied basicallySatisfied dissatisfied rate } }
    formalismSignals(period: $period, communityId: $c) {
      signedInAndLeft { serviceId memberName unitName title checkedInAt checkedOutAt }
      signedInAndLeftTotal
      refusedTimes { position memberName action at reason } refusedTimesTotal
      rotation { unitName members oneOff services oneOffShare } rotationTotal
      hardUntakenTotal underFloor { memberName unitName hours annualFloorHours } underFloorTotal } }`,
  siteCode: gql`query($t: UUID!) { siteCode(taskId: $t) {
    __typename ... on SiteCode { taskId taskTitle code qrSvg validUntil periodSeconds }
    ... on Problem { code message } } }`,
  publish: gql`mutation($c: UUID!, $title: String!, $category: String!, $starts: DateTime!,
    $ends: DateTime!, $capacity: Int!, $place: String, $need: UUID, $k: String) {
    publishTask(communityId: $c, title: $title, category: $category, startsAt: $starts,
      endsAt: $ends, capacity: $capacity, place: $place, needId: $need, key: $k) { ...WbDone } }`,
  edit: gql`mutation($t: UUID!, $title: String, $category: String, $starts: DateTime,
    $ends: DateTime, $capacity: Int, $place: String, $k: String) {
    editTask(taskId: $t, title: $title, category: $category, startsAt: $starts, endsAt: $ends,
      capacity: $capacity, place: $place, key: $k) { ...WbDone } }`,
  cancel: gql`mutation($t: UUID!, $reason: String!, $k: String) {
    cancelTask(taskId: $t, reason: $reason, key: $k) { ...WbDone } }`,
  accept: gql`mutation($n: UUID!, $k: String) { acceptNeed(needId: $n, key: $k) { ...WbDone } }`,
  close: gql`mutation($n: UUID!, $note: String!, $k: String) {
    closeNeed(needId: $n, note: $note, key: $k) { ...WbDone } }`,
  rateNeed: gql`mutation($n: UUID!, $s: Satisfaction!, $comment: String, $k: String) {
    rateNeed(needId: $n, satisfaction: $s, comment: $comment, key: $k) { ...WbDone } }`,
  checkIn: gql`mutation($s: UUID!, $at: DateTime!, $k: String) {
    checkIn(serviceId: $s, at: $at, key: $k) { ...WbDone } }`,
  checkOut: gql`mutation($s: UUID!, $at: DateTime!, $k: String) {
    checkOut(serviceId: $s, at: $at, key: $k) { ...WbDone } }`,
  rate: gql`mutation($s: UUID!, $r: Rating!, $k: String) {
    rateService(serviceId: $s, rating: $r, key: $k) { ...WbDone } }`,
  issueSignIn: gql`mutation($m: UUID!, $k: String) { issueSignIn(memberId: $m, key: $k) {
    __typename ... on SignInCode { code memberName expiresAt qrSvg } ... on Problem { code message } } }`,
  devices: gql`query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) {
    name devices { tokenId device signedInAt revoked } } }`,
  revoke: gql`mutation($m: UUID!, $t: String!, $k: String) {
    revokeSignIn(memberId: $m, tokenId: $t, key: $k) { ...WbDone } }`,
};

const SCREENS = ["needs", "tasks", "site", "sheet", "rating", "board", "codes"];
const RATINGS = [["EXCELLENT", "很好"], ["GOOD", "好"], ["FAIR", "一般"]];
const SATISFACTIONS = [["SATISFIED", "满意"], ["BASICALLY_SATISFIED", "基本满意"], ["DISSATISFIED", "不满意"]];
const NEED_TAGS = { RAISED: "warn", ACCEPTED: "info", DISPATCHED: "info", CLOSED: "ok", REVISITED: "ok" };
const DAY_MS = 86400000;
const PAST_DAYS = 14; // the sheets and the rating queue reach this far back
const AHEAD_DAYS = 60;
const SITE_LEAD_MS = 2 * 3600000; // the site code screen offers tasks starting within two hours
const SITE_RETRY_MS = 5000; // the site code screen asks again this long after a failure

const session = new Session("workbench");
const state = {
  community: null,
  communityName: "",
  categories: [],
  tasks: [],
  awaiting: [], // checked-out services awaiting rating, of any age
  needs: [],
  needFilter: "",
  members: [],
  screen: "needs",
  editing: null, // the task being edited, or null when publishing
  forNeed: null, // the need a new task is dispatched for
  site: { task: null, expires: 0, ticker: null, fetcher: null },
};

const ask = (query, variables = {}) => session.request(query, variables);

/** Send one user action's write with its key; the receipt, or an Error with the Chinese message. */
async function write(action, query, variables) {
  const data = await action.run((k) => ask(query, { ...variables, k }));
  return expect(Object.values(data)[0], "Receipt");
}

const MEMBERS_PAGE = 200;

/** Every member living in the community, page by page, by name (for sign-in codes). */
async function loadMembers() {
  const all = [];
  for (;;) {
    const after = all.length ? all[all.length - 1].id : null;
    const { members } = await ask(Q.members, { c: state.community, after });
    all.push(...members);
    if (members.length < MEMBERS_PAGE) break;
  }
  state.members = all.sort((a, b) => a.name.localeCompare(b.name, "zh-CN"));
}
const isoOffset = (ms) => new Date(Date.now() + ms).toISOString();

// ---- Signing in, loading, navigation ---------------------------------------------------------
function signedOut() {
  stopSite();
  $("nav").hidden = true;
  for (const id of SCREENS) $(id).hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("community").textContent = "";
}

async function start() {
  say("");
  if (!session.token) return signedOut();
  try {
    const { viewer, taskCategories } = await ask(Q.viewer);
    if (viewer.role !== "COMMUNITY" || viewer.scope.length !== 1) {
      signedOut();
      return say("该令牌不是社区的令牌,请更换令牌");
    }
    state.community = viewer.scope[0];
    state.communityName = viewer.names[0] || "";
    state.categories = taskCategories;
  } catch (error) {
    signedOut();
    return say(error.message);
  }
  $("community").textContent = state.communityName;
  $("today").textContent = cstDate(new Date());
  $("categories").replaceChildren(...state.categories.map((c) => el("option", { value: c })));
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("signout").hidden = false;
  $("roster-day").value = cstToday();
  await reload();
  return go(location.hash.slice(1) || "needs");
}

/** Read the community's tasks, needs and members again; `position` waits for a write first. */
async function reload(position = null) {
  const c = state.community;
  const [{ tasks }, { needs }, { communityBoard }] = await Promise.all([
    ask(Q.tasks, {
      c, from: isoOffset(-PAST_DAYS * DAY_MS), to: isoOffset(AHEAD_DAYS * DAY_MS), w: position,
    }),
    ask(Q.needs, { c, s: state.needFilter || null, w: position }),
    ask(Q.awaiting, { c, w: position }),
  ]);
  state.tasks = tasks;
  state.needs = needs;
  state.awaiting = communityBoard.awaitingRating;
  const waiting = state.awaiting.length;
  $("count-rating").textContent = waiting ? `(${waiting})` : "";
  const raised = needs.filter((n) => n.status === "RAISED").length;
  $("count-needs").textContent = raised ? `(${raised} 待受理)` : "";
}

async function go(screen) {
  if (!SCREENS.includes(screen)) screen = "needs";
  state.screen = screen;
  if (location.hash !== `#${screen}`) history.replaceState(null, "", `#${screen}`);
  for (const button of document.querySelectorAll("nav [data-screen]")) {
    button.setAttribute("aria-current", button.dataset.screen === screen ? "page" : "false");
  }
  showSection(SCREENS, screen);
  await render();
}

async function render() {
  const draw = {
    needs: drawNeeds, tasks: drawTasks, site: drawSite, sheet: drawSheet,
    rating: drawRating, board: drawBoard, codes: drawCodes,
  }[state.screen];
  await draw();
}

/** After a write: read again (waiting for the write) and redraw; `done` is said on success. */
async function after(receipt, done) {
  await reload(receipt.position);
  await render();
  say(receipt.replayed ? `${done}(重复提交,未再执行)` : done, "ok");
}

// ---- 群众点单 ------------------------------------------------------------------------------------
function drawNeeds() {
  for (const button of document.querySelectorAll("[data-need-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.needFilter === state.needFilter));
  }
  const list = $("need-list");
  if (!state.needs.length) return list.replaceChildren(el("p", { className: "empty" }, "暂无群众点单"));
  return list.replaceChildren(...state.needs.map(needCard));
}

function needCard(need) {
  const card = el("article", { className: "card need", "data-need": need.needId },
    el("div", { className: "title-row" },
      el("h3", {}, need.category || "群众点单"),
      el("span", { className: `tag ${NEED_TAGS[need.status] || "info"}` }, need.statusName)),
    el("p", { className: "need-text" }, need.description),
    el("p", { className: "muted" },
      `点单人:${need.raisedByName} · ${cstDateTime(need.raisedAt)}`,
      need.place ? ` · 地点:${need.place}` : "",
      need.gridName ? ` · ${need.gridName}` : ""),
    need.taskTitle ? el("p", {}, `派单任务:${need.taskTitle}`) : null,
    need.closingNote ? el("p", {}, `办结说明:${need.closingNote}`) : null,
    need.satisfactionName ? el("p", {}, `居民评价:${need.satisfactionName}`,
      need.satisfactionComment ? `(${need.satisfactionComment})` : "") : null,
    el("ol", { className: "steps" }, need.steps.map((s) => el("li", {},
      el("strong", {}, s.statusName), ` ${cstDateTime(s.at)} · ${s.byName}`,
      s.note ? ` · ${s.note}` : ""))));
  const actions = el("div", { className: "actions" });
  if (need.status === "RAISED") actions.append(acceptButton(need));
  if (need.status === "RAISED" || need.status === "ACCEPTED") {
    actions.append(el("button", { onclick: () => openTaskForm(null, need) }, "派单(发布任务)"));
  }
  if (need.status === "ACCEPTED" || need.status === "DISPATCHED") actions.append(...closeControls(need));
  if (need.status === "CLOSED") actions.append(...satisfactionControls(need));
  card.append(actions);
  return card;
}

function acceptButton(need) {
  const button = el("button", { className: "primary" }, "受理");
  const action = new Action(`accept-${need.needId}`);
  button.addEventListener("click", busy(button, async () => {
    const receipt = await write(action, Q.accept, { n: need.needId });
    await after(receipt, "已受理");
  }));
  return button;
}

function closeControls(need) {
  const note = el("input", { autocomplete: "off", maxlength: "500", placeholder: "办结说明(必填),如:已上门维修完毕",
    "aria-label": "办结说明", className: "inline-input" });
  const button = el("button", {}, "办结");
  const action = new Action(`close-${need.needId}`);
  button.addEventListener("click", busy(button, async () => {
    if (!note.value.trim()) throw new Error("请填写办结说明");
    const receipt = await write(action, Q.close, { n: need.needId, note: note.value.trim() });
    await after(receipt, "已办结");
  }));
  return [note, button];
}

function satisfactionControls(need) {
  const choice = el("select", { "aria-label": "居民满意度" },
    SATISFACTIONS.map(([value, label]) => el("option", { value }, label)));
  const comment = el("input", { autocomplete: "off", maxlength: "500", className: "inline-input",
    placeholder: "居民的意见(可选)", "aria-label": "居民的意见" });
  const button = el("button", {}, "记录回访(电话或当面)");
  const action = new Action(`revisit-${need.needId}`);
  button.addEventListener("click", busy(button, async () => {
    const receipt = await write(action, Q.rateNeed, {
      n: need.needId, s: choice.value, comment: comment.value.trim() || null,
    });
    await after(receipt, "已记录居民评价");
  }));
  return [choice, comment, button];
}

// ---- 任务 --------------------------------------------------------------------------------------
const started = (task) => new Date(task.startsAt).getTime() <= Date.now();
const ended = (task) => new Date(task.endsAt).getTime() <= Date.now();
const editable = (task) => task.status === "OPEN" && task.claims === 0 && !started(task);
const taskStatus = (task) => {
  if (task.status === "CANCELLED") return ["已取消", "error"];
  if (ended(task)) return ["已结束", "ok"];
  if (started(task)) return ["进行中", "info"];
  if (task.status === "CLOSED") return ["停止认领", "warn"];
  return [task.placesLeft > 0 ? "招募中" : "已满员", "info"];
};
const claimantsOf = (task) => task.claimants.filter((c) => !["RELEASED", "WITHDRAWN"].includes(c.status));

// Dates and times are typed as a Chinese worker writes them (2026-12-08, 09:30, 24-hour clock,
// Beijing time), whatever the browser's own language or zone.
/** [day "2026-12-08", time "09:30"] of an instant, in Beijing time. */
function cstParts(value) {
  const iso = new Date(new Date(value).getTime() + 8 * 3600000).toISOString();
  return [iso.slice(0, 10), iso.slice(11, 16)];
}
const cstDayOf = (value) => cstParts(value)[0];

/** The day typed, checked: "2026-12-08" (also 2026/12/8 or 2026年12月8日). */
function typedDay(text, what) {
  const found = /^(\d{4})\D(\d{1,2})\D(\d{1,2})\D?$/.exec(text.trim());
  if (!found) throw new Error(`${what}须写成“年-月-日”,如 2026-12-08`);
  const [, y, m, d] = found;
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
}
/** The time of day typed, checked: "09:30" (also 9:30, 0930 or 9:30 with a Chinese colon). */
function typedTime(text, what) {
  const found = /^([01]?\d|2[0-3])[:：.]?([0-5]\d)$/.exec(text.trim());
  if (!found) throw new Error(`${what}须写成“时:分”(24 小时制),如 09:30`);
  return `${found[1].padStart(2, "0")}:${found[2]}`;
}
/** That day's time in Beijing as an ISO string with +08:00, a day later when `afterIso` is
 *  later (a time after midnight on a task that crosses it). */
function cstInstant(day, time, afterIso = null) {
  let iso = `${day}T${time}:00+08:00`;
  if (afterIso && new Date(iso) < new Date(afterIso)) {
    iso = new Date(new Date(iso).getTime() + DAY_MS).toISOString();
  }
  return iso;
}

function openTaskForm(task, need = null) {
  say("");
  state.editing = task;
  state.forNeed = need;
  const form = $("task-form");
  $("task-form-title").textContent = task ? `修改任务:${task.title}` : "发布任务";
  $("t-save").textContent = task ? "保存修改" : "发布";
  $("task-form-need").hidden = !need;
  $("task-form-need").textContent = need ? `为群众点单派单:${need.raisedByName} · ${need.description}` : "";
  const hour = 3600000;
  const startDefault = Math.ceil((Date.now() + hour) / hour) * hour;
  $("t-title").value = task ? task.title : need ? need.description.slice(0, 40) : "";
  $("t-category").value = task ? task.category
    : need && state.categories.includes(need.category) ? need.category : "";
  const [day, starts] = cstParts(task ? task.startsAt : startDefault);
  $("t-day").value = day;
  $("t-starts").value = starts;
  $("t-ends").value = cstParts(task ? task.endsAt : startDefault + 2 * hour)[1];
  $("t-capacity").value = task ? task.capacity : need ? 2 : 5;
  $("t-place").value = task ? task.place || "" : need ? need.place || "" : "";
  form.hidden = false;
  if (state.screen !== "tasks") go("tasks");
  $("t-title").focus();
}

async function saveTask() {
  const day = typedDay($("t-day").value, "日期");
  const starts = cstInstant(day, typedTime($("t-starts").value, "开始时间"));
  const fields = {
    title: $("t-title").value.trim(),
    category: $("t-category").value.trim(),
    starts,
    ends: cstInstant(day, typedTime($("t-ends").value, "结束时间"), starts), // past midnight: the next day
    capacity: Number($("t-capacity").value),
    place: $("t-place").value.trim() || null,
  };
  if (!fields.title || !fields.category) throw new Error("请填写任务名称和服务类别");
  const task = state.editing;
  const receipt = task
    ? await write(new Action(`edit-${task.taskId}`), Q.edit, { t: task.taskId, ...fields })
    : await write(new Action(`publish-${state.forNeed ? state.forNeed.needId : "task"}`), Q.publish, {
      c: state.community, need: state.forNeed ? state.forNeed.needId : null, ...fields,
    });
  const need = state.forNeed;
  $("task-form").hidden = true;
  state.editing = state.forNeed = null;
  await after(receipt, task ? "任务已修改" : need ? `已派单:${fields.title}` : `已发布:${fields.title}`);
}

function drawTasks() {
  drawRoster();
  const upcoming = state.tasks.filter((t) => !ended(t) || t.status !== "CANCELLED");
  const rows = upcoming.slice().reverse().map(taskRow);
  $("task-list").replaceChildren(rows.length
    ? el("table", { className: "tasks" },
      el("thead", {}, el("tr", {}, ["任务", "时间", "名额", "认领的成员", "状态", ""]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))
    : el("p", { className: "empty" }, "近期没有任务"));
}

function taskRow(task) {
  const [word, kind] = taskStatus(task);
  const people = claimantsOf(task);
  const cell = el("td", { className: "row-actions" });
  if (editable(task)) cell.append(el("button", { onclick: () => openTaskForm(task) }, "修改"));
  if (task.status !== "CANCELLED" && !ended(task)) cell.append(cancelControl(task));
  return el("tr", { "data-task": task.taskId },
    el("td", {}, el("strong", {}, task.title), el("br"),
      el("span", { className: "muted" }, `${task.category}(${task.categoryClassName})`,
        task.place ? ` · ${task.place}` : "")),
    el("td", {}, el("span", { className: "when" }, cstDate(task.startsAt)), el("br"),
      el("span", { className: "when" }, `${cstTime(task.startsAt)}–${cstTime(task.endsAt)}`)),
    el("td", { className: "when" }, `${task.claims}/${task.capacity}`, el("br"),
      el("span", { className: "muted" }, `余 ${task.placesLeft} 个`)),
    el("td", {}, people.length ? people.map((c) => c.memberName).join("、") : "暂无"),
    el("td", {}, el("span", { className: `tag ${kind}` }, word)),
    cell);
}

function cancelControl(task) {
  const box = el("div", { className: "cancel-box" });
  const open = el("button", {}, "取消任务");
  open.addEventListener("click", () => {
    const reason = el("input", { autocomplete: "off", maxlength: "200", placeholder: "取消原因(必填)",
      "aria-label": "取消原因", className: "inline-input" });
    const confirm = el("button", { className: "primary" }, "确认取消");
    const action = new Action(`cancel-${task.taskId}`);
    confirm.addEventListener("click", busy(confirm, async () => {
      if (!reason.value.trim()) throw new Error("请填写取消原因");
      const receipt = await write(action, Q.cancel, { t: task.taskId, reason: reason.value.trim() });
      await after(receipt, `已取消:${task.title}(已认领的成员会收到通知)`);
    }));
    box.replaceChildren(reason, confirm, el("button", { className: "link", onclick: drawTasks }, "不取消"));
    reason.focus();
  });
  box.append(open);
  return box;
}

function drawRoster() {
  let day = cstToday();
  try {
    day = typedDay($("roster-day").value, "日期");
  } catch (error) {
    return say(error.message);
  }
  const tasks = state.tasks.filter((t) => t.status !== "CANCELLED" && cstDayOf(t.startsAt) === day);
  $("roster").replaceChildren(tasks.length
    ? el("table", { className: "roster" },
      el("caption", {}, `${state.communityName} · ${cstDate(`${day}T12:00:00+08:00`)} 服务名单`),
      el("thead", {}, el("tr", {}, ["时间", "任务", "地点", "成员", "状态"].map((h) => el("th", {}, h)))),
      el("tbody", {}, tasks.flatMap((task) => {
        const people = claimantsOf(task);
        if (!people.length) {
          return [el("tr", {}, el("td", {}, `${cstTime(task.startsAt)}–${cstTime(task.endsAt)}`), el("td", {}, task.title),
            el("td", {}, task.place || "—"), el("td", { className: "muted" }, "尚无人认领"), el("td", {}, ""))];
        }
        return people.map((c, i) => el("tr", {},
          el("td", {}, i ? "" : `${cstTime(task.startsAt)}–${cstTime(task.endsAt)}`), el("td", {}, i ? "" : task.title),
          el("td", {}, i ? "" : task.place || "—"), el("td", {}, c.memberName), el("td", {}, c.statusName)));
      })))
    : el("p", { className: "empty" }, "这一天没有任务"));
  return undefined;
}

// ---- 现场签到码 -----------------------------------------------------------------------------------
function drawSite() {
  const now = Date.now();
  const tasks = state.tasks.filter((t) => t.status !== "CANCELLED" && !ended(t)
    && new Date(t.startsAt).getTime() - SITE_LEAD_MS <= now);
  $("site-list").replaceChildren(tasks.length
    ? el("div", { className: "site-tasks" }, tasks.map((task) => el("article", { className: "card" },
      el("h3", {}, task.title),
      el("p", {}, cstSpan(task.startsAt, task.endsAt), task.place ? ` · ${task.place}` : ""),
      el("p", { className: "muted" }, `认领 ${claimantsOf(task).length} 人`,
        task.siteCodeRequired ? " · 本社区要求凭现场签到码自助签到" : ""),
      el("button", { className: "primary", "data-site": task.taskId, onclick: () => openSite(task) },
        "打开签到码(全屏)"))))
    : el("p", { className: "empty" }, "现在没有进行中或两小时内开始的任务"));
}

async function openSite(task) {
  state.site.task = task;
  $("fs-task").textContent = task.title;
  $("fs-error").hidden = true;
  $("fullscreen").hidden = false;
  $("desk").hidden = true;
  try {
    await $("fullscreen").requestFullscreen();
  } catch (error) {
    // a browser that refuses full screen still shows the code filling the window
  }
  siteTick();
  state.site.ticker = setInterval(siteTick, 1000);
  await siteFetch();
}

/** The countdown and the task's time, every second. */
function siteTick() {
  const { task } = state.site;
  if (!task) return;
  const left = state.site.expires - Date.now();
  $("fs-seconds").textContent = Math.max(0, Math.ceil(left / 1000));
  const minutesTo = (iso) => Math.ceil((new Date(iso).getTime() - Date.now()) / 60000);
  let when = `${minutesTo(task.startsAt)} 分钟后开始`;
  if (ended(task)) when = "已结束";
  else if (started(task)) when = `距结束还有 ${minutesTo(task.endsAt)} 分钟`;
  $("fs-time").textContent = `${cstSpan(task.startsAt, task.endsAt)} · ${when}`;
}

/** The code of this minute, fetched again the moment the next one takes over (a code just
 *  replaced stays valid a few minutes more); after a network failure, again a little later. */
async function siteFetch() {
  clearTimeout(state.site.fetcher);
  const { task } = state.site;
  let next = SITE_RETRY_MS;
  try {
    const { siteCode } = await ask(Q.siteCode, { t: task.taskId });
    if (state.site.task !== task) return; // the screen was closed meanwhile
    if (siteCode.__typename !== "SiteCode") {
      stopSite();
      say(siteCode.message);
      return;
    }
    $("fs-qr").innerHTML = siteCode.qrSvg; // drawn by this server from the code alone
    $("fs-code").textContent = siteCode.code;
    $("fs-error").hidden = true;
    state.site.expires = new Date(siteCode.validUntil).getTime();
    next = Math.max(1000, state.site.expires - Date.now() + 200);
    siteTick();
  } catch (error) {
    if (state.site.task !== task) return;
    $("fs-error").textContent = `${error.message}(稍后自动重试;已显示的码几分钟内仍可使用)`;
    $("fs-error").hidden = false;
  }
  state.site.fetcher = setTimeout(siteFetch, next);
}

function stopSite() {
  clearInterval(state.site.ticker);
  clearTimeout(state.site.fetcher);
  state.site.task = null;
  $("fullscreen").hidden = true;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  $("desk").hidden = false;
}

// ---- 签到表录入 -----------------------------------------------------------------------------------
function drawSheet() {
  const tasks = state.tasks.filter((t) => t.status !== "CANCELLED" && started(t) && claimantsOf(t).length);
  const select = $("sheet-task");
  const chosen = select.value;
  select.replaceChildren(...tasks.slice().reverse().map((t) => el("option", { value: t.taskId },
    `${t.title} · ${cstSpan(t.startsAt, t.endsAt)}`)));
  if (tasks.some((t) => t.taskId === chosen)) select.value = chosen;
  const task = tasks.find((t) => t.taskId === select.value);
  if (!task) return $("sheet-rows").replaceChildren(el("p", { className: "empty" }, "没有已开始且有人认领的任务"));
  return $("sheet-rows").replaceChildren(el("table", { className: "sheet" },
    el("thead", {}, el("tr", {}, ["成员", "状态", "签到时间", "签退时间"].map((h) => el("th", {}, h)))),
    el("tbody", {}, claimantsOf(task).map((c) => el("tr", { "data-service": c.serviceId },
      el("td", {}, el("strong", {}, c.memberName)),
      el("td", {}, c.statusName, c.presenceVerified ? el("span", { className: "muted" }, "(现场码核验)") : ""),
      el("td", {}, timeEntry(c, "in", task)),
      el("td", {}, timeEntry(c, "out", task)))))));
}

/** A time from a paper sheet, on the task's day or the next, whichever is nearer the task (a
 *  task past midnight). */
function sheetInstant(task, time) {
  const start = new Date(task.startsAt).getTime();
  const end = new Date(task.endsAt).getTime();
  const distance = (ms) => (ms < start ? start - ms : Math.max(0, ms - end));
  const sameDay = new Date(cstInstant(cstDayOf(task.startsAt), time)).getTime();
  const at = distance(sameDay + DAY_MS) < distance(sameDay) ? sameDay + DAY_MS : sameDay;
  return new Date(at).toISOString();
}

function timeEntry(claimant, which, task) {
  const done = which === "in" ? claimant.checkedInAt : claimant.checkedOutAt;
  if (done) return el("span", {}, cstDateTime(done));
  const open = which === "in" ? claimant.status === "CLAIMED" : claimant.status === "CHECKED_IN";
  if (!open) return el("span", { className: "muted" }, which === "out" ? "须先签到" : "—");
  const what = `${claimant.memberName}的${which === "in" ? "签到" : "签退"}时间`;
  const input = el("input", { autocomplete: "off", inputmode: "numeric", placeholder: "时:分",
    value: cstParts(which === "in" ? task.startsAt : task.endsAt)[1], "aria-label": what });
  const button = el("button", {}, which === "in" ? "录入签到" : "录入签退");
  const action = new Action(`sheet-${which}-${claimant.serviceId}`);
  button.addEventListener("click", busy(button, async () => {
    const at = sheetInstant(task, typedTime(input.value, what));
    const receipt = await write(action, which === "in" ? Q.checkIn : Q.checkOut, { s: claimant.serviceId, at });
    await after(receipt, `已录入${claimant.memberName}的${which === "in" ? "签到" : "签退"}时间`);
  }));
  return el("span", { className: "entry" }, input, button);
}

// ---- 一事一评 -------------------------------------------------------------------------------------
function hoursOf(c) {
  if (c.hours !== null && c.hours !== undefined) return `${c.hours} 小时`;
  const ms = new Date(c.checkedOutAt) - new Date(c.checkedInAt);
  return `约 ${(ms / 3600000).toFixed(1)} 小时`;
}

/** The queue by task, the latest first: services awaiting rating (of any age), and those of
 *  tasks ended lately that were never checked in or out, which cannot be rated. */
function drawRating() {
  const groups = new Map();
  const group = (taskId, title) => {
    if (!groups.has(taskId)) {
      const task = state.tasks.find((t) => t.taskId === taskId);
      groups.set(taskId, { taskId, title, task, waiting: [], missing: [] });
    }
    return groups.get(taskId);
  };
  for (const service of state.awaiting) group(service.taskId, service.taskTitle).waiting.push(service);
  for (const task of state.tasks.filter(ended)) {
    const missing = task.claimants.filter((c) => ["CLAIMED", "CHECKED_IN", "LAPSED"].includes(c.status));
    if (missing.length) group(task.taskId, task.title).missing.push(...missing);
  }
  const latestFirst = [...groups.values()].sort((a, b) => (b.task ? new Date(b.task.startsAt) : 0)
    - (a.task ? new Date(a.task.startsAt) : 0));
  if (!latestFirst.length) return $("rating-list").replaceChildren(el("p", { className: "empty" }, "没有待评价的服务"));
  return $("rating-list").replaceChildren(...latestFirst.map(ratingCard));
}

function ratingCard({ taskId, title, task, waiting, missing }) {
  const rows = [
    ...waiting.map((c) => el("tr", { "data-service": c.serviceId },
      el("td", {}, el("strong", {}, c.memberName)),
      el("td", {}, cstTime(c.checkedInAt)),
      el("td", {}, cstTime(c.checkedOutAt)),
      el("td", {}, hoursOf(c)),
      el("td", { className: "rate-buttons" }, RATINGS.map(([value, label]) => rateButton(c, value, label))))),
    ...missing.map((c) => el("tr", { className: "missing" },
      el("td", {}, el("strong", {}, c.memberName)),
      el("td", {}, cstTime(c.checkedInAt)),
      el("td", {}, "—"),
      el("td", {}, "—"),
      el("td", {},
        el("span", { className: "tag warn" }, c.checkedInAt ? "未签退" : "未签到"),
        " 不能评价;如有纸质签到表,请到“签到表录入”补录"))),
  ];
  return el("article", { className: "card", "data-rating-task": taskId },
    el("div", { className: "title-row" },
      el("h3", {}, title),
      task ? el("span", { className: "muted" }, cstSpan(task.startsAt, task.endsAt)) : null),
    waiting.length > 1 ? bulkRate(title, waiting) : null,
    el("table", {},
      el("thead", {}, el("tr", {}, ["成员", "签到", "签退", "时长", "评价"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)));
}

function rateButton(claimant, value, label) {
  const button = el("button", { "data-rate": value }, label);
  const action = new Action(`rate-${claimant.serviceId}`);
  button.addEventListener("click", busy(button, async () => {
    const receipt = await write(action, Q.rate, { s: claimant.serviceId, r: value });
    await after(receipt, `已评价${claimant.memberName}:${label}`);
  }));
  return button;
}

function bulkRate(title, waiting) {
  return el("div", { className: "actions bulk" }, el("span", {}, `本任务 ${waiting.length} 人全部评为:`),
    RATINGS.map(([value, label]) => {
      const button = el("button", { "data-bulk": value }, label);
      button.addEventListener("click", busy(button, async () => {
        let last = null;
        for (const c of waiting) {
          last = await write(new Action(`rate-${c.serviceId}`), Q.rate, { s: c.serviceId, r: value });
        }
        await after(last, `已将${title}的 ${waiting.length} 人评为${label}`);
      }));
      return button;
    }));
}

// ---- 社区看板 -------------------------------------------------------------------------------------
async function drawBoard() {
  const period = cstToday().slice(0, 4);
  const { communityBoard: b, formalismSignals: s } = await ask(Q.board, { c: state.community, period });
  const rate = b.satisfaction.rate === null ? "—" : `${(Number(b.satisfaction.rate) * 100).toFixed(1)}%`;
  const table = (heads, rows, empty) => (rows.length
    ? el("table", {}, el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))), el("tbody", {}, rows))
    : el("p", { className: "empty" }, empty));
  const tr = (...cells) => el("tr", {}, cells.map((c) => el("td", {}, c)));
  $("board-body").replaceChildren(
    el("div", { className: "figures" },
      figure("居民满意率", rate, `已评 ${b.satisfaction.rated} 件:满意 ${b.satisfaction.satisfied},基本满意 ${b.satisfaction.basicallySatisfied},不满意 ${b.satisfaction.dissatisfied}`),
      figure("招募中的任务", b.openTasks.length, `未满员且已开始 ${b.understaffed.length} 个`),
      figure("待评价的服务", b.awaitingRating.length, "见“一事一评”"),
      figure("积分超市兑换", b.redemptions, `共兑出 ${b.redeemedPoints} 积分`)),
    el("div", { className: "grid-2" },
      el("section", { className: "card" }, el("h3", {}, "招募中的任务"),
        table(["任务", "时间", "认领"], b.openTasks.map((t) => tr(t.title, cstSpan(t.startsAt, t.endsAt),
          `${claimantsOf(t).map((c) => c.memberName).join("、") || "暂无"}(${t.claims}/${t.capacity})`)), "暂无")),
      el("section", { className: "card" }, el("h3", {}, "积分超市库存"),
        table(["物品", "所需积分", "库存"], b.items.map((i) => tr(i.name, i.price,
          i.stock > 0 ? i.stock : el("span", { className: "tag error" }, "缺货"))), "暂无物品"),
        el("h4", {}, "捐赠方"),
        table(["捐赠方", "物品", "累计捐赠"], b.donations.map((d) => tr(d.donor, d.itemName,
          `${d.quantity} 件`)), "暂无捐赠记录")),
      el("section", { className: "card" }, el("h3", {}, "结对单位在本社区的服务"),
        table(["单位", "服务次数", "时长(小时)", "积分"], b.byUnit.map((u) => tr(u.name || "未命名单位",
          u.services, u.hours, u.points)), "暂无")),
      el("section", { className: "card" }, el("h3", {}, "无人认领的难事"),
        table(["任务", "类别", "时间"], b.hardUntaken.map((t) => tr(t.title, t.category,
          cstSpan(t.startsAt, t.endsAt))), "暂无"))),
    el("section", { className: "card" }, el("h3", {}, `形式主义预警(${period} 年)`),
      el("h4", {}, `签到即走(${s.signedInAndLeftTotal})`),
      table(["成员", "任务", "签到", "签退"], s.signedInAndLeft.map((x) => tr(withUnit(x), x.title,
        cstDateTime(x.checkedInAt), cstDateTime(x.checkedOutAt))), "无"),
      el("h4", {}, `被拒绝的签到签退时间(${s.refusedTimesTotal})`),
      table(["成员", "时间", "原因"], s.refusedTimes.map((x) => tr(x.memberName,
        cstDateTime(x.at), x.reason)), "无"),
      el("h4", {}, `轮流应付(${s.rotationTotal})`),
      table(["单位", "服务成员", "只服务一次", "占比"], s.rotation.map((x) => tr(x.unitName,
        x.members, x.oneOff, `${(Number(x.oneOffShare) * 100).toFixed(0)}%`)), "无"),
      el("p", {}, `本年开始、无人认领的难事:${s.hardUntakenTotal} 件`),
      el("h4", {}, `未达年度服务下限的党员(${s.underFloorTotal})`),
      table(["成员", "已服务(小时)", "年度下限(小时)"], s.underFloor.map((x) => tr(withUnit(x),
        x.hours, x.annualFloorHours)), "无")));
}

const withUnit = (x) => (x.unitName ? `${x.memberName}(${x.unitName})` : x.memberName);

function figure(label, value, note) {
  return el("div", { className: "card figure" }, el("p", { className: "muted" }, label),
    el("p", { className: "figure-value" }, String(value)), el("p", { className: "muted" }, note));
}

// ---- 成员登录码 -----------------------------------------------------------------------------------
async function drawCodes() {
  await loadMembers();
  filterMembers();
}

function filterMembers() {
  const wanted = $("code-find").value.trim();
  const shown = state.members.filter((m) => !wanted || m.name.includes(wanted));
  $("code-members").replaceChildren(shown.length
    ? el("table", {}, el("thead", {}, el("tr", {}, ["姓名", "一次性登录码", "已登录的设备"].map((h) => el("th", {}, h)))),
      el("tbody", {}, shown.map((m) => {
        const devices = el("td", {}, el("button", { className: "link", onclick: () => drawDevices(m, devices) },
          "查看设备"));
        return el("tr", { "data-member": m.id }, el("td", {}, el("strong", {}, m.name)),
          el("td", {}, issueButton(m)), devices);
      })))
    : el("p", { className: "empty" }, "没有找到成员"));
}

function issueButton(member) {
  const button = el("button", { className: "primary", "data-issue": member.id }, "签发登录码");
  const action = new Action(`signin-${member.id}`);
  button.addEventListener("click", busy(button, async () => {
    const data = await action.run((k) => ask(Q.issueSignIn, { m: member.id, k }));
    const made = expect(data.issueSignIn, "SignInCode");
    $("slip-name").textContent = `${made.memberName}(${state.communityName})`;
    $("slip-qr").innerHTML = made.qrSvg; // drawn by this server from the code alone
    $("slip-code").textContent = made.code;
    $("slip-expires").textContent = cstDateTime(made.expiresAt);
    $("slip").hidden = false;
    $("slip").scrollIntoView({ block: "nearest" });
    say(`已为${made.memberName}签发登录码`, "ok");
  }));
  return button;
}

async function drawDevices(member, cell, position = null) {
  const { member: found } = await ask(Q.devices, { m: member.id, w: position });
  const devices = found ? found.devices : [];
  cell.replaceChildren(devices.length
    ? el("ul", { className: "devices" }, devices.map((d) => el("li", {},
      `${d.device} · ${cstDateTime(d.signedInAt)} 登录 `,
      d.revoked ? el("span", { className: "tag warn" }, "已撤销") : revokeButton(member, d, cell))))
    : el("span", { className: "muted" }, "尚未在任何设备登录"));
}

function revokeButton(member, device, cell) {
  const button = el("button", {}, "撤销");
  const action = new Action(`revoke-${device.tokenId}`);
  button.addEventListener("click", busy(button, async () => {
    const receipt = await write(action, Q.revoke, { m: member.id, t: device.tokenId });
    await drawDevices(member, cell, receipt.position);
    say(`已撤销${member.name}在“${device.device}”上的登录`, "ok");
  }));
  return button;
}

// ---- Wiring --------------------------------------------------------------------------------------
const guarded = (work) => (event) => Promise.resolve(work(event)).catch((error) => say(error.message));

$("save-token").addEventListener("click", guarded(() => {
  session.signIn($("token").value);
  $("token").value = "";
  return start();
}));
$("signout").addEventListener("click", () => {
  session.signOut();
  signedOut();
});
session.onSignedOut = signedOut;
for (const button of document.querySelectorAll("nav [data-screen]")) {
  button.addEventListener("click", guarded(async () => {
    say("");
    await reload(); // what happened meanwhile: phones checked in, residents raised needs
    return go(button.dataset.screen);
  }));
}
for (const button of document.querySelectorAll("[data-need-filter]")) {
  button.addEventListener("click", guarded(async () => {
    state.needFilter = button.dataset.needFilter;
    await reload();
    drawNeeds();
  }));
}
$("new-task").addEventListener("click", () => openTaskForm(null));
$("t-close").addEventListener("click", () => {
  $("task-form").hidden = true;
  state.editing = state.forNeed = null;
});
$("task-form").addEventListener("submit", busy($("t-save"), saveTask));
$("roster-day").addEventListener("change", drawRoster);
$("roster-print").addEventListener("click", () => {
  document.body.dataset.print = "roster";
  window.print();
});
$("slip-print").addEventListener("click", () => {
  document.body.dataset.print = "slip";
  window.print();
});
$("slip-close").addEventListener("click", () => { $("slip").hidden = true; });
$("code-find").addEventListener("input", filterMembers);
$("sheet-task").addEventListener("change", drawSheet);
$("fs-close").addEventListener("click", stopSite);
document.addEventListener("fullscreenchange", () => {
  if (!document.fullscreenElement && state.site.task) stopSite();
});
window.addEventListener("hashchange", guarded(() => go(location.hash.slice(1))));
start();
