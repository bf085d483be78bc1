// What every page shares (积分超市, 我的志愿, 社区工作台): the GraphQL documents a page may send,
// one client for this server with a bound on every request, the token kept on this device, one
// idempotency key per user action, Chinese messages, China Standard Time, the large-text mode.
// Plain JavaScript, no build step, nothing loaded from another host.
"use strict";

// ---- GraphQL documents -------------------------------------------------------------------
// Every document a page sends is a template literal tagged gql (a shared selection: tagged
// fragment), one literal without interpolation: tests/unit/test_page_documents.py finds each in
// the pages' files and validates it against schema.graphql, and request() refuses a document
// that was not written this way.
const FRAGMENTS = new Map();
const DOCUMENTS = new Set();

function literal(strings) {
  if (strings.length !== 1) throw new Error("GraphQL 文档不得拼接(${…})");
  return strings[0];
}

function fragment(strings) {
  const text = literal(strings);
  FRAGMENTS.set(/fragment\s+(\w+)/.exec(text)[1], text);
  return text;
}

function gql(strings) {
  const text = literal(strings);
  DOCUMENTS.add(text);
  return text;
}

/** The document with the fragments it spreads (and theirs), each once. */
function withFragments(text) {
  const used = new Set();
  const visit = (body) => {
    for (const [, name] of body.matchAll(/\.\.\.\s*([A-Za-z_]\w*)/g)) {
      if (name === "on" || used.has(name) || !FRAGMENTS.has(name)) continue;
      used.add(name);
      visit(FRAGMENTS.get(name));
    }
  };
  visit(text);
  return [text, ...Array.from(used, (name) => FRAGMENTS.get(name))].join("\n");
}

// ---- The client -----------------------------------------------------------------------
const REQUEST_TIMEOUT_MS = 20000;

/** The request never reached the server, or its answer never came back: the same action may be
 *  sent again safely (a write carries its key). */
class NetworkDown extends Error {
  constructor() {
    super("网络连接中断或服务器未及时答复。操作可能尚未完成:请检查网络后重试,重试不会重复记录。");
  }
}
/** The token was refused: the page asks for a sign-in again. */
class SignedOut extends Error {
  constructor() {
    super("登录已失效或已被撤销,请重新登录");
  }
}

class Session {
  /** page: the token's name on this device, e.g. "kiosk", "member", "workbench". */
  constructor(page) {
    this.storageKey = `ledger.${page}.token`;
    this.token = localStorage.getItem(this.storageKey);
    this.onSignedOut = () => {};
  }
  signIn(token) {
    this.token = token.trim();
    localStorage.setItem(this.storageKey, this.token);
  }
  signOut() {
    this.token = null;
    localStorage.removeItem(this.storageKey);
  }
  /** POST one of the page's documents; the answer's data, or an Error with a Chinese message. */
  async request(document, variables = {}) {
    if (!DOCUMENTS.has(document)) throw new Error("页面内部错误:未登记的查询");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = { "Content-Type": "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    let body;
    try {
      response = await fetch("/graphql", {
        method: "POST",
        headers,
        body: JSON.stringify({ query: withFragments(document), variables }),
        signal: controller.signal,
      });
      body = await response.json().catch(() => null);
    } catch (error) {
      throw new NetworkDown();
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 401) {
      this.signOut();
      this.onSignedOut();
      throw new SignedOut();
    }
    if (!body) throw new Error(`服务器返回了无法识别的答复(HTTP ${response.status}),请稍后重试`);
    if (body.errors && body.errors.length) {
      const [first] = body.errors;
      const id = first.extensions && first.extensions.correlationId;
      throw new Error(id ? `${first.message}(编号 ${id})` : first.message);
    }
    return body.data;
  }
}

/** A union answer: the object when it is of `typename`, else an Error with the problem's message. */
function expect(result, typename) {
  if (result && result.__typename === typename) return result;
  throw new Error((result && result.message) || "操作未完成");
}

// ---- One key per user action ----------------------------------------------------------------
// crypto.randomUUID needs a secure context; an intranet page may be on plain http.
function newKey(prefix = "act") {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The key of an action, made when the user first asks for it and kept (in sessionStorage, so a
 *  reload finds it) until the ledger gives a definite answer: a double tap, a timeout or a retry
 *  sends the same key and the ledger does the action once. */
class Action {
  constructor(name) {
    this.storageKey = `ledger.action.${name}`;
  }
  key() {
    let key = sessionStorage.getItem(this.storageKey);
    if (!key) {
      key = newKey();
      sessionStorage.setItem(this.storageKey, key);
    }
    return key;
  }
  /** The ledger answered (done or refused): the next action gets a new key. */
  settled() {
    sessionStorage.removeItem(this.storageKey);
  }
  /** Run `send(key)`; forget the key on a definite answer, keep it when the network failed. */
  async run(send) {
    try {
      const result = await send(this.key());
      this.settled();
      return result;
    } catch (error) {
      if (!(error instanceof NetworkDown)) this.settled();
      throw error;
    }
  }
}

// ---- China Standard Time --------------------------------------------------------------------
const CST = "Asia/Shanghai";
const DATE_TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: CST, year: "numeric", month: "long", day: "numeric",
  hour: "2-digit", minute: "2-digit", hour12: false,
});
const DATE = new Intl.DateTimeFormat("zh-CN", {
  timeZone: CST, year: "numeric", month: "long", day: "numeric",
});
const TIME = new Intl.DateTimeFormat("zh-CN", {
  timeZone: CST, hour: "2-digit", minute: "2-digit", hour12: false,
});

/** "2026年12月8日 09:30" in Beijing time, whatever the device's own zone. */
function cstDateTime(value) {
  return value ? DATE_TIME.format(new Date(value)) : "—";
}
function cstDate(value) {
  return value ? DATE.format(new Date(value)) : "—";
}
function cstTime(value) {
  return value ? TIME.format(new Date(value)) : "—";
}
/** "2026年12月8日 09:00–11:00", or both dates when it crosses midnight. */
function cstSpan(start, end) {
  const sameDay = DATE.format(new Date(start)) === DATE.format(new Date(end));
  return sameDay
    ? `${cstDateTime(start)}–${cstTime(end)}`
    : `${cstDateTime(start)} 至 ${cstDateTime(end)}`;
}
/** Today's date in Beijing, as YYYY-MM-DD. */
function cstToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: CST }).format(new Date());
}
/** A datetime-local input's value, read as Beijing time, as an ISO string with +08:00. */
function fromCstInput(value) {
  return value ? `${value.length === 16 ? `${value}:00` : value}+08:00` : null;
}

// ---- The page ---------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

/** An element with attributes and children; text is always set as text, never as HTML. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The page's message line (role=alert): kind "error", "info" or "ok"; empty text hides it. */
function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text || "";
  box.className = `message ${kind}`;
  box.hidden = !text;
  if (text) box.scrollIntoView({ block: "nearest" });
}

/** Show one of the page's sections (by id) and hide the others. */
function showSection(ids, shown) {
  for (const id of ids) $(id).hidden = id !== shown;
}

/** Run a button's action once at a time: the button is disabled while it runs, and any error
 *  ends up in the message line in Chinese. */
function busy(button, work) {
  return async (event) => {
    if (event) event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      say(error.message || String(error));
    } finally {
      button.disabled = false;
    }
  };
}

// ---- Large text (长辈版) ----------------------------------------------------------------------
// Offered at a first visit and in settings; the choice is kept on this device.
const SIZE_KEY = "ledger.size";
document.documentElement.dataset.size = localStorage.getItem(SIZE_KEY) || "standard";

/** "standard" or "large". */
function setSize(size) {
  document.documentElement.dataset.size = size;
  localStorage.setItem(SIZE_KEY, size);
}
/** Whether the user has chosen a text size on this device (a first visit has not). */
function sizeChosen() {
  return localStorage.getItem(SIZE_KEY) !== null;
}
